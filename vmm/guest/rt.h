/* What the runtime's files share (not installed): the guest memory the
 * thread-local blocks leave to the allocator's arena. */
#ifndef VCPRR_GUEST_RT_H
#define VCPRR_GUEST_RT_H

#include <stdint.h>

/* The arena [start, end): above the image and the VCPUs' thread-local
 * blocks, below the lowest VCPU stack.  Pure functions of the image and
 * the boot info, so every VCPU computes the same without sharing. */
uintptr_t rt_heap_start(void);
uintptr_t rt_heap_end(void);

#endif
