/* 64-bit long mode: page tables and GDT in guest memory, and the segment
 * and control registers a VCPU starts with. */
#ifndef VCPRR_VMM_LONGMODE_H
#define VCPRR_VMM_LONGMODE_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

/* Writes the identity-mapped page tables and the GDT into guest memory
 * (`mem`, at least 1 MiB). */
void longmode_setup_memory(uint8_t *mem);

/* Fills sregs for long mode on top of what KVM_GET_SREGS returned; with
 * @xsave, CR4.OSXSAVE too (then set XCR0 with KVM_SET_XCRS). */
void longmode_setup_sregs(struct kvm_sregs *sregs, bool xsave);

/* XCR0 bits: x87, SSE, AVX (YMM).  A guest gets the first two, and AVX
 * where the host has it; larger states (AVX-512, AMX) stay off. */
#define LONGMODE_XCR0_BASE  0x3ull
#define LONGMODE_XCR0_AVX   0x4ull
#define LONGMODE_XCR0_GUEST (LONGMODE_XCR0_BASE | LONGMODE_XCR0_AVX)

/* Makes KVM's supported CPUID table (@nent entries at @e, updated) say
 * what the guest really has: leaf 0xd lists the enabled states only (and
 * the XSAVE area they need), features that need another state are hidden.
 * Returns the XCR0 to set, 0 when the host has no XSAVE (the guest then
 * gets x87 and SSE through FXSAVE only). */
uint64_t longmode_setup_cpuid(struct kvm_cpuid_entry2 *e, uint32_t *nent);

/* Whether the instruction at @insn (@len bytes) is x87, MMX, SSE or AVX:
 * some hosts' KVM (kvm_pvm) cannot run those in a guest and reports an
 * emulation failure on them, which vcprr then explains. */
bool longmode_insn_uses_fpu(const uint8_t *insn, unsigned len);

#endif
