/* 64-bit long mode: page tables and GDT in guest memory, and the segment
 * and control registers a VCPU starts with. */
#ifndef VCPRR_VMM_LONGMODE_H
#define VCPRR_VMM_LONGMODE_H

#include <linux/kvm.h>
#include <stdint.h>

/* Writes the identity-mapped page tables and the GDT into guest memory
 * (`mem`, at least 1 MiB). */
void longmode_setup_memory(uint8_t *mem);

/* Fills sregs for long mode on top of what KVM_GET_SREGS returned. */
void longmode_setup_sregs(struct kvm_sregs *sregs);

#endif
