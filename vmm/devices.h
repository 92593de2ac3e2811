/* The guest's devices: console, hypercalls, the null and random ports and
 * the MMIO scratch registers, on the VM's buses. */
#ifndef VCPRR_VMM_DEVICES_H
#define VCPRR_VMM_DEVICES_H

#include "vmm/vm-state.h"

void devices_register(struct vm *vm);

#endif
