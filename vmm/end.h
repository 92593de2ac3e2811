/* How a run ends: vm_stop() (vm.h) and what leads to it.  A stop records
 * the first reason, logs VM_STOP before any VCPU can see it, and wakes
 * every VCPU and everyone waiting for one (through the mode's wake for
 * VCPUs waiting for their turn).  It takes every ctl_lock and the
 * scheduler's lock in turn, so it is never called with one of them held:
 * code that holds one and learns that the run must end (an event sink that
 * failed) leaves the reason pending and calls vm_stop_pending() once it
 * has unlocked. */
#ifndef VCPRR_VMM_END_H
#define VCPRR_VMM_END_H

#include "vmm/vtrace.h"

/* Ends the run with the reason a sink left pending, if any: a VCPU's
 * replay divergence as that VCPU's fault when `self` is it (its
 * registers in the message), else as a plain stop.  No lock held. */
void vm_stop_pending(struct vm *vm, struct vcpu *self);

/* A VCPU's own event, from its thread: a failing sink ends the run. */
void vcpu_event(struct vcpu *v, uint32_t type, uint64_t a0, uint64_t a1,
		uint64_t a2, uint64_t a3, const void *payload, uint32_t len);
#define VCPU_EVENT(v, type, a0, a1, a2) \
	do { if (vtrace_on((v)->vm)) \
		vcpu_event(v, type, a0, a1, a2, 0, NULL, 0); } while (0)

/* Ends the run as a guest fault, with the VCPU's registers in the message.
 * Only from the VCPU's own thread. */
void vcpu_fault(struct vcpu *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* A VCPU thread's last event, VCPU_EXIT.  In a parallel run it carries
 * where the end caught the VCPU (exit count, RIP, register digest), which
 * a replay lands it at before its stop (land.c). */
void vcpu_log_exit(struct vcpu *v);

/* A VCPU thread leaving its loop: the last one ends the run. */
void vm_vcpu_finished(struct vm *vm);
/* Every VCPU still running is halted and nothing can wake them (no
 * controller): ends the run as a VM-wide guest fault. */
void vm_stop_all_halted(struct vm *vm);

#endif
