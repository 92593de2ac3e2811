/* The hypercall port: exit, done, assert, log, write, yield, ids. */
#ifndef VCPRR_VMM_HYPERCALL_H
#define VCPRR_VMM_HYPERCALL_H

#include "vmm/vm-state.h"

void hypercall_register(struct vm *vm);

#endif
