/* The stop/resume handshake between a VCPU thread and controllers, at the
 * bottom of the pause protocol: a VCPU reports a stop and waits to be
 * resumed; a controller publishes a request now, resumes a stop now, waits
 * for a stop, reads and edits a stopped VCPU's registers.  Everything above
 * (the controller API, the serial scheduler, replay landing) is made of
 * these; nothing here calls up.
 *
 * A stopped VCPU publishes its event and a snapshot of its registers under
 * ctl_lock, sets `stopped`, and sleeps until resume_gen changes.
 * Controllers read and stage edits to the snapshot under the same lock; the
 * VCPU thread fetches what they ask for and applies staged edits itself
 * when it wakes, so every KVM vcpu ioctl is issued from the VCPU's own
 * thread.  Functions that log an event return -EIO when the sink failed
 * (vtrace.h: the caller ends the run once it holds no lock). */
#ifndef VCPRR_VMM_HANDSHAKE_H
#define VCPRR_VMM_HANDSHAKE_H

#include <time.h>

#include "vmm/vm-state.h"

void handshake_init(struct vcpu *v);
void handshake_destroy(struct vcpu *v);
/* Wakes the VCPU's stop and everyone waiting for it (the run is ending,
 * or its thread finished). */
void handshake_wake(struct vcpu *v);

/* --- the VCPU's side (its own thread, no lock held) ------------------- */

/* Snapshots the registers into ev->pos, logs PAUSE_TAKEN for a pause and
 * shows the VCPU stopped with ev.  *gen is what handshake_wait_resume()
 * waits on.  0 or -EIO. */
int handshake_report_stop(struct vcpu *v, struct vcpu_event *ev, uint64_t *gen);

/* Waits until resumed or the run ends; applies staged edits and logs
 * RESUMED.  1 (resumed, *data: the resume's data), 0 (woken by the end of
 * the run: not resumed), -EIO, or -EINVAL when KVM rejected an edit
 * (*fault says which). */
int handshake_wait_resume(struct vcpu *v, uint64_t gen,
			  const struct vcpu_event *ev, uint64_t *data,
			  const char **fault);

/* --- a controller's side (any thread) ----------------------------------- */

/* A request's number, handed out when it is made. */
uint64_t handshake_new_seq(struct vcpu *v);
/* Logs PAUSE_REQUEST (a2/a3: the scheduling step and enum sched_where it
 * was applied at, 0 in parallel mode), then publishes it.  0, -ENOMEM or
 * -EIO (logged badly, published all the same). */
int handshake_publish(struct vm *vm, unsigned id, uint64_t seq, uint64_t data,
		      uint64_t step, int where);
/* Numbers and publishes a request now: its number (a stop may be pending,
 * see vtrace.h) or -ENOMEM. */
int64_t handshake_request_now(struct vm *vm, unsigned id, uint64_t data);
/* Ends stop number `stop` (0: whichever it is in), logging RESUME_REQUEST
 * with the staged edits.  0, -EBUSY (not in that stop), -EIO. */
int handshake_resume_now(struct vm *vm, unsigned id, uint64_t data,
			 uint64_t stop, uint64_t step, int where);

/* The same in parallel modes (no scheduling step). */
int handshake_resume(struct vm *vm, unsigned id, uint64_t data, uint64_t stop);

/* Whether the VCPU is stopped, and which stop it is in. */
bool handshake_current_stop(struct vcpu *v, uint64_t *stop);

/* What a controller waits for: the VCPU stopped, having taken every
 * request numbered up to min_seq, in a stop other than not_stop (0: any)
 * and, with unresumed, not one whose resume is already asked for (queued
 * in serial mode); or, with or_running, running with no such request
 * outstanding. */
struct stop_goal {
	uint64_t min_seq;
	uint64_t not_stop;
	bool unresumed;
	bool or_running;
};

/* Waits for v to reach g, up to deadline (timeout_ms < 0: no limit).
 * 0, -ESHUTDOWN (the run is ending), -ESRCH (v finished), -ETIMEDOUT. */
int handshake_wait(struct vm *vm, struct vcpu *v, const struct stop_goal *g,
		   int timeout_ms, const struct timespec *deadline);
/* Waits until v is stopped or finished, or the run ends. */
void handshake_wait_stop_or_end(struct vcpu *v);

/* The event v stopped with, once per stop: 0, or -EBUSY (not stopped, or
 * already returned). */
int handshake_take_event(struct vcpu *v, struct vcpu_event *ev);

/* Copies between the caller and a stopped VCPU's register snapshot: the
 * field at off of struct vcpu, len bytes, to dst or (src != NULL) from src,
 * staged as edit `what`.  0, -EBUSY (not stopped). */
int handshake_regs(struct vcpu *v, void *dst, size_t off, size_t len,
		   const void *src, unsigned what);
/* Stages a recorded edit blob (regs, sregs, debugregs of mask in order). */
int handshake_stage_edits(struct vcpu *v, unsigned mask, const uint8_t *blob,
			  uint32_t len);

/* Holds v's ctl_lock: a stopped VCPU stays stopped meanwhile (it needs the
 * lock to leave).  Returns whether it is stopped. */
bool handshake_hold(struct vcpu *v);
void handshake_release(struct vcpu *v);
/* The same for every VCPU, in id order; whether some VCPU is running (it
 * was resumed at least once and is neither stopped nor finished). */
bool handshake_hold_all(struct vm *vm);
void handshake_release_all(struct vm *vm);

#endif
