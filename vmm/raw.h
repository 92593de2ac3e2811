/* Raw-mode VMs (crosvm plugins): what vm.c and vcpu.c need of raw.c.  The
 * public part (memory regions, VM and VCPU ioctls, irqfd signals) is in
 * vm.h and controller.h. */
#ifndef VCPRR_VMM_RAW_H
#define VCPRR_VMM_RAW_H

#include "vmm/vm-state.h"

/* In-kernel irqchip and PIT.  0, or -1 with a message. */
int raw_setup(struct vm *vm, char *err, size_t errlen);
/* The regions and their non-zero pages, as the VM starts (recording). */
void raw_trace_memory(struct vm *vm);
/* One PIO element or MMIO access of a raw-mode VCPU (its thread). */
void raw_io(struct vcpu *v, unsigned space, uint64_t addr, uint8_t *data,
	    uint32_t len, bool is_write);

#endif
