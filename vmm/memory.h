/* Guest memory inside vmm/ (the public part, vm_guest_ptr, vm_add_memory
 * ..., is in vm.h). */
#ifndef VCPRR_VMM_MEMORY_H
#define VCPRR_VMM_MEMORY_H

#include "vmm/vm-state.h"

/* The long-mode guest's memory, page tables and boot info; its image.
 * 0, or -1 with a message naming the file. */
int memory_setup(struct vm *vm, char *err, size_t errlen);
int memory_load_guest(struct vm *vm, const char *path, char *err, size_t errlen);
/* Raw mode, recording: a region and its non-zero pages (MEM_REGION,
 * MEM_DATA).  With region_lock held. */
void memory_trace_region(struct vm *vm, int slot);

#endif
