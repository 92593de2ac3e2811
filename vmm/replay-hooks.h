/* How replay/ drives and checks a VM: the VMM's unstable interface for its
 * own replay engine.  Not installed (like zstd's ZSTD_STATIC_LINKING_ONLY
 * part): programs built against libvcprr use vm.h, controller.h and
 * sched.h.  Attach the hooks with vm_replay_attach() between vm_create()
 * and vm_start(); the VMM calls them on VCPU threads and on the thread
 * applying scheduler actions, with no lock of the VMM held for event()
 * but vm->sched's lock or one ctl_lock (see vm-state.h), so they must not
 * call back into the VM except as said below. */
#ifndef VCPRR_VMM_REPLAY_HOOKS_H
#define VCPRR_VMM_REPLAY_HOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "traces/event.h"
#include "vmm/sched.h"

struct vm;

/* A recorded pause a parallel replay must land: the VCPU runs to exit_seq,
 * then to rip with matching registers (hardware breakpoint), publishes the
 * recorded requests and takes the last.  With `end`, no pause: where the
 * run's stop caught the VCPU (its VCPU_EXIT), landed the same way; there
 * it waits for the stop. */
struct vm_replay_pause {
	uint64_t exit_seq, rip, digest;
	unsigned nreq;
	const uint64_t *data;       /* the data of each request to publish */
	bool end;
};

/* What event() found. */
enum vm_replay_verdict {
	VM_REPLAY_MATCH = 0,
	VM_REPLAY_DIVERGED,         /* why says how; the run stops as a fault */
	VM_REPLAY_DONE,             /* every recorded event is replayed: the
				       run ends with end_reason, end_code */
};

struct vm_replay_check {
	int end_reason, end_code;   /* VM_REPLAY_DONE */
	char why[2048];
};

struct vm_replay_hooks {
	void *arg;
	/* Every event the run produces.  Never stops the VM itself: the VMM
	 * does, once it holds no lock. */
	enum vm_replay_verdict (*event)(void *arg, const struct trace_event *ev,
					const void *payload,
					struct vm_replay_check *c);
	/* The recorded value of the read this VCPU is doing (PIO or MMIO). */
	void (*read_input)(void *arg, unsigned vcpu, uint32_t type, uint64_t addr,
			   uint64_t sizedir, uint64_t *val);
	/* Parallel mode: the VCPU's next recorded pause, or NULL; after the
	 * last one, where the recorded stop caught it (`end`), if logged. */
	const struct vm_replay_pause *(*next_pause)(void *arg, unsigned vcpu);
	/* Parallel mode: the recorded resume of the pause just taken; requests
	 * made while it was paused are published first (their data in
	 * *pending, *npending).  Returns 0, or -1 when the trace has none.
	 * Called on the stopped VCPU's thread, no lock held. */
	int (*resume_for)(void *arg, unsigned vcpu, uint64_t *data,
			  unsigned *edit_mask, const uint8_t **edits,
			  uint32_t *len, const uint64_t **pending,
			  unsigned *npending);
	/* Parallel mode, optional: a pause landed, ns after the VCPU reached
	 * its recorded exit count. */
	void (*landed)(void *arg, unsigned vcpu, uint64_t ns);
	/* Parallel mode, optional: the VCPU landed where the recorded stop
	 * caught it, and waits there for the run's stop. */
	void (*at_end)(void *arg, unsigned vcpu);
	/* Parallel mode, optional: the breakpoint on the pause's RIP was hit
	 * without the recorded registers, for the visits-th time. */
	void (*visit)(void *arg, unsigned vcpu, uint64_t rip, uint64_t visits);
	/* Parallel mode, optional: true once the VCPU has replayed all that a
	 * recording cut short holds of it; it then waits for the end of the
	 * run instead of running on.  Called before each KVM_RUN. */
	bool (*ended)(void *arg, unsigned vcpu);
};

/* Serial and step: the trace stands in for the policy and the controller. */
struct sched_source {
	/* Applies the recorded actions of (step, where), in order, with
	 * vm_apply_recorded_*.  False when one must wait (a resume whose VCPU
	 * has not stopped yet): the decision that follows waits too.  Called
	 * with the scheduler's lock held. */
	bool (*apply_actions)(void *arg, struct vm *vm, uint64_t step,
			      enum sched_where where);
	/* The next recorded switch if it was decision `where` at `step`: the
	 * VCPU switched to, or -1 for nobody; -2 when there is none. */
	int (*switch_at)(void *arg, uint64_t step, enum sched_where where);
	void *arg;
};

/* Makes vm a replay: the hooks check its events and feed its inputs; with
 * a source (serial and step traces) the trace makes the scheduling
 * decisions.  Before vm_start().  Both must outlive the VM.  0 or -EINVAL
 * (already started, or a source for a parallel VM). */
int vm_replay_attach(struct vm *vm, const struct vm_replay_hooks *hooks,
		     const struct sched_source *source);

/* From a sched_source's apply_actions: apply a recorded pause request
 * (waits until the VCPU has stopped) or resume (with its recorded edit
 * blob) at a scheduling step. */
int vm_apply_recorded_pause(struct vm *vm, unsigned vcpu, uint64_t data,
			    uint64_t step, int where);
int vm_apply_recorded_resume(struct vm *vm, unsigned vcpu, uint64_t data,
			     unsigned edit_mask, const uint8_t *blob,
			     uint32_t len, uint64_t step, int where);

/* From apply_actions: waits until `vcpu` has stopped.  False (without
 * waiting) when it is the VCPU applying the actions itself: it can only
 * stop after this returns. */
bool vm_await_recorded_stop(struct vm *vm, unsigned vcpu);

/* Stages a recorded edit blob (a RESUME_REQUEST payload: the register sets
 * of edit_mask, in the order regs, sregs, debugregs) on a stopped VCPU. */
int vcpu_stage_edits(struct vm *vm, unsigned vcpu, unsigned edit_mask,
		     const uint8_t *blob, uint32_t len);

#endif
