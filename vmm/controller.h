/* The controller API: pause VCPUs with user data, wait until they report
 * paused, read and edit their registers, resume them.
 *
 * Semantics (crosvm's plugin VMM): vcpu_request_pause() stores a request and
 * does not pause at once; a second request before the VCPU notices replaces
 * the first (latest data wins, the superseded one is counted as coalesced).
 * vm_pause_vcpus() = request + kick (signal) for each VCPU of a mask.  The
 * VCPU checks for a request after every return from KVM_RUN, completes any
 * pending PIO/MMIO, reports PAUSED with the data and blocks until resumed.
 *
 * There are two ways to drive it, usable together:
 *  - mask style: vm_pause_vcpus(), vm_wait_paused(), vm_resume_vcpus();
 *  - event style, one thread per VCPU like crosvm_vcpu_wait/resume:
 *    vcpu_wait_event() returns INIT (with vm_config.init_event) or PAUSED,
 *    then vcpu_resume().
 *
 * Thread safety: every function may be called from any thread, by several
 * controller threads at once.  Register calls are valid only while the VCPU
 * is stopped (paused or waiting after INIT) and return -EBUSY otherwise;
 * register edits are applied by the VCPU thread when it resumes.
 *
 * Errors are negative errno values: -EINVAL (bad VCPU id), -EBUSY (not
 * stopped), -ETIMEDOUT, -ESRCH (the VCPU has finished and will never stop),
 * -ESHUTDOWN (the run is ending). */
#ifndef VCPRR_VMM_CONTROLLER_H
#define VCPRR_VMM_CONTROLLER_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/vm.h"

typedef struct {
	uint64_t bits[VM_MAX_VCPUS / 64];
} vcpu_mask_t;

static inline void vcpu_mask_set(vcpu_mask_t *m, unsigned id)
{
	m->bits[id / 64] |= 1ull << (id % 64);
}

static inline bool vcpu_mask_test(const vcpu_mask_t *m, unsigned id)
{
	return id < VM_MAX_VCPUS && (m->bits[id / 64] >> (id % 64)) & 1;
}

/* A mask of VCPUs 0 .. n-1. */
static inline vcpu_mask_t vcpu_mask_first(unsigned n)
{
	vcpu_mask_t m = { { 0 } };

	for (unsigned i = 0; i < n && i < VM_MAX_VCPUS; i++)
		vcpu_mask_set(&m, i);
	return m;
}

/* A VCPU's position: the determinism model's coordinates. */
struct vcpu_position {
	uint64_t exit_seq;  /* guest-caused returns from KVM_RUN so far */
	uint64_t rip;
	uint64_t digest;    /* hash of the general registers */
};

enum vcpu_event_kind {
	VCPU_EVENT_NONE = 0,
	VCPU_EVENT_INIT,     /* before the first instruction (init_event) */
	VCPU_EVENT_PAUSED,   /* a pause request was taken */
	VCPU_EVENT_IO,       /* raw mode: a PIO/MMIO access claimed with
				VM_IO_STOP; a read gets the resume data */
};

struct vcpu_event {
	enum vcpu_event_kind kind;
	uint64_t data;       /* PAUSED: the request's user data */
	uint64_t req_seq;    /* PAUSED: the request taken */
	struct vcpu_position pos;
	struct {             /* IO */
		unsigned space;      /* VM_SPACE_PIO or VM_SPACE_MMIO */
		uint32_t len;        /* bytes, at most 8 */
		uint64_t addr;
		bool is_write;
		uint8_t data[8];     /* writes: the bytes written */
	} io;
};

/* Counters for one VCPU (monotonic, read without a lock). */
struct vcpu_pause_stats {
	uint64_t requests;   /* requests published */
	uint64_t kicks;      /* signals sent */
	uint64_t eintr;      /* KVM_RUN returns with EINTR */
	uint64_t taken;      /* pauses taken */
	uint64_t coalesced;  /* requests superseded before being seen */
	uint64_t resumed;
};

/* Stores a pause request without kicking.  Returns the request's per-VCPU
 * sequence number (>= 1) or a negative errno.  Serial and step: the
 * request is numbered now and applied at the next scheduling point;
 * -ESHUTDOWN once the run is ending (nothing is applied any more). */
int64_t vcpu_request_pause(struct vm *vm, unsigned vcpu, uint64_t data);

/* Sends the kick signal to one VCPU thread. */
int vcpu_kick_thread(struct vm *vm, unsigned vcpu);

/* Request + kick for every VCPU in mask.  0 or -errno. */
int vm_pause_vcpus(struct vm *vm, const vcpu_mask_t *mask, uint64_t data);

/* Waits until every VCPU in mask is stopped, up to timeout_ms (-1: no
 * limit).  A stop that a resume was already asked for does not count
 * (serial: the resume is still queued), even if the VCPU still shows it.  VCPUs that finished do not count as stopped:
 * the call returns -ESRCH once all others are stopped.  `stopped` (may be
 * NULL) receives the VCPUs of mask that are stopped. */
int vm_wait_paused(struct vm *vm, const vcpu_mask_t *mask, int timeout_ms,
		   vcpu_mask_t *stopped);

/* Resumes one stopped VCPU with data; edits staged with vcpu_set_* are
 * applied first.  -EBUSY if it is not stopped, -ESHUTDOWN once the run is
 * ending (a VCPU then leaves its stop by itself).  Serial and step: the
 * resume takes effect at the next scheduling point, for the stop the VCPU
 * is in now (if another resume ended that one first, it is dropped). */
int vcpu_resume(struct vm *vm, unsigned vcpu, uint64_t data);

/* Resumes every stopped VCPU of mask (others are skipped).  Returns how
 * many were resumed. */
int vm_resume_vcpus(struct vm *vm, const vcpu_mask_t *mask, uint64_t data);

/* For a controller that is done: resumes every VCPU of mask, including
 * those that have yet to take a request already made (each is waited for,
 * then resumed), so that none stays paused with nobody left to resume it.
 * Returns how many stops were resumed, or -ESHUTDOWN when the run ends
 * meanwhile. */
int vm_release_vcpus(struct vm *vm, const vcpu_mask_t *mask, uint64_t data);

/* Waits for the VCPU's next event (each event is returned once). */
int vcpu_wait_event(struct vm *vm, unsigned vcpu, struct vcpu_event *ev,
		    int timeout_ms);

bool vcpu_is_stopped(struct vm *vm, unsigned vcpu);

/* Registers of a stopped VCPU (as of its stop, plus staged edits). */
int vcpu_get_regs(struct vm *vm, unsigned vcpu, struct kvm_regs *regs);
int vcpu_set_regs(struct vm *vm, unsigned vcpu, const struct kvm_regs *regs);
int vcpu_get_sregs(struct vm *vm, unsigned vcpu, struct kvm_sregs *sregs);
int vcpu_set_sregs(struct vm *vm, unsigned vcpu, const struct kvm_sregs *sregs);
int vcpu_get_debugregs(struct vm *vm, unsigned vcpu, struct kvm_debugregs *d);
int vcpu_set_debugregs(struct vm *vm, unsigned vcpu,
		       const struct kvm_debugregs *d);

/* Raw mode: an ioctl on a stopped VCPU's fd (state the register calls do
 * not cover: FPU, MSRs, LAPIC ...).  The VCPU stays stopped meanwhile.
 * Returns the ioctl's result, -errno, or -EBUSY when it is not stopped. */
int vcpu_ioctl_stopped(struct vm *vm, unsigned vcpu, unsigned long req,
		       void *arg);

int vcpu_get_stats(struct vm *vm, unsigned vcpu, struct vcpu_pause_stats *st);

/* The digest used in positions: a hash of the general registers. */
uint64_t regs_digest(const struct kvm_regs *regs);

#endif
