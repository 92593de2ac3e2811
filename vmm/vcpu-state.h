/* A VCPU's KVM state, as far as its guest can observe it: what a snapshot
 * (vmm/snapshot.h) captures of each VCPU and puts back.
 *
 * Captured: the general registers (regs), the segment and control registers
 * (sregs: EFER, CR0-4, the pending external interrupt), the FPU/SSE/AVX
 * state (KVM_GET_XSAVE, in KVM_CAP_XSAVE2's size when the host has larger
 * states), XCR0 (KVM_GET_XCRS), the debug registers, the MSRs KVM saves for
 * migration that read and write back on this host (KVM_GET_MSR_INDEX_LIST,
 * probed once per VM: see vcpu_state_probe), the MP state and the pending
 * events (exception, NMI, interrupt shadow, SMM).
 *
 * The TSC is one of those MSRs: a restore sets it back to its value at the
 * capture, so the guest sees time stand still across a restore, as if the
 * VM had been paused there.  vcprr does not record RDTSC, so a guest whose
 * path depends on the TSC is outside the determinism model either way.
 *
 * Not captured, because no guest of the long-mode VMM can observe it: the
 * local APIC, the PIC/IOAPIC and PIT (the VM has no in-kernel irqchip),
 * nested virtualisation state, CPUID (set once at creation).  The guest
 * debug setting (single-step) is the VMM's, set by each VCPU thread.
 *
 * All calls issue VCPU ioctls: the VCPU's thread must not be inside
 * KVM_RUN (a quiesced VM: not started, ended, or parked). */
#ifndef VCPRR_VMM_VCPU_STATE_H
#define VCPRR_VMM_VCPU_STATE_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What this host and VM offer, found once per VM. */
struct vcpu_state_caps {
	uint32_t xsave_size;     /* bytes of struct kvm_xsave to move */
	bool xcrs;               /* KVM_CAP_XCRS */
	uint32_t nmsrs;          /* MSRs captured ... */
	uint32_t *msr_index;     /* ... these (malloc'd) */
};

struct vcpu_kvm_state {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_xcrs xcrs;
	struct kvm_debugregs dregs;
	struct kvm_mp_state mp;
	struct kvm_vcpu_events events;
	struct kvm_msrs *msrs;   /* caps->nmsrs entries (malloc'd) */
	struct kvm_xsave *xsave; /* caps->xsave_size bytes (malloc'd) */
};

/* Fills @caps for VCPU fd @vcpu_fd of a VM: the XSAVE size and the MSRs
 * that KVM lists and that read and write back (dropping the ones this host
 * refuses, such as the TSC deadline without an in-kernel APIC).  Writes the
 * kept MSRs back with their current values.  0, or -1 with a message. */
int vcpu_state_probe(int kvm_fd, int vm_fd, int vcpu_fd,
		     struct vcpu_state_caps *caps, char *err, size_t errlen);
void vcpu_state_caps_free(struct vcpu_state_caps *caps);

/* Allocates the variable parts of @s for @caps.  0 or -ENOMEM. */
int vcpu_state_alloc(struct vcpu_kvm_state *s, const struct vcpu_state_caps *caps);
void vcpu_state_free(struct vcpu_kvm_state *s);
/* Bytes of memory @s uses. */
size_t vcpu_state_bytes(const struct vcpu_state_caps *caps);

/* @s as bytes, for keeping it compressed: at most vcpu_state_flat_max
 * bytes into @out, the count returned; and back into @s (allocated for
 * @caps): 0, or -EINVAL when @in is not such bytes. */
size_t vcpu_state_flat_max(const struct vcpu_state_caps *caps);
size_t vcpu_state_flatten(const struct vcpu_kvm_state *s,
			  const struct vcpu_state_caps *caps, uint8_t *out);
int vcpu_state_unflatten(struct vcpu_kvm_state *s,
			 const struct vcpu_state_caps *caps, const uint8_t *in,
			 size_t len);

/* Reads (resp. writes) every piece.  @run is the VCPU's kvm_run: registers
 * staged there for the next KVM_RUN (sync regs) are the VCPU's registers;
 * a restore discards any staged ones.  0, or -1 with a message naming the
 * ioctl (and for MSRs the index) that failed. */
int vcpu_state_get(int fd, struct kvm_run *run, const struct vcpu_state_caps *caps,
		   struct vcpu_kvm_state *s, char *err, size_t errlen);
int vcpu_state_set(int fd, struct kvm_run *run, const struct vcpu_state_caps *caps,
		   const struct vcpu_kvm_state *s, char *err, size_t errlen);

#endif
