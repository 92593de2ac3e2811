/* Watching a step-mode run instruction by instruction (vcprr analyze).
 *
 * In --sched step every instruction is a scheduling point.  An observer
 * set on the VM before vm_start() is shown each instruction *before* it
 * executes: the VCPU, the scheduler's step, the general registers, the FS
 * and GS bases and the bytes at RIP, read from guest memory (RIP is taken
 * as a guest-physical address: vcprr guests are identity-mapped).  An
 * instruction that a PIO/MMIO exit interrupted is shown once, not again
 * when KVM_RUN re-enters to complete it; nor is one that a kick kept from
 * running.  It is also shown each event of the run, as a recording of it
 * has them, whether the run is recorded or not.
 *
 * The observer only reads: the run, its events and its trace are the same
 * with it as without.  step() is called on the VCPU thread that holds the
 * token, so steps come one at a time, in the run's order; event() is
 * called on any thread (VCPU threads, controllers) and may overlap a
 * step(): an observer that keeps state shared by both locks it. */
#ifndef VCPRR_VMM_STEP_OBSERVER_H
#define VCPRR_VMM_STEP_OBSERVER_H

#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>

struct trace_event;
struct vm;

struct vm_step_observer {
	/* bytes: nbytes (at most 15) bytes at RIP; fewer where RAM ends,
	 * none when RIP is not in RAM.  Valid during the call only. */
	void (*step)(void *arg, unsigned vcpu, uint64_t step,
		     const struct kvm_regs *regs, uint64_t fs_base,
		     uint64_t gs_base, const uint8_t *bytes, size_t nbytes);
	/* Optional (NULL: none). */
	void (*event)(void *arg, const struct trace_event *ev);
	void *arg;
};

/* Before vm_start(), on a step-mode VM; obs (the caller's) must outlive
 * the run.  NULL removes the observer (a VM reset for another run keeps
 * it otherwise).  0, -EINVAL (not step mode, or started), -ENOMEM. */
int vm_set_step_observer(struct vm *vm, const struct vm_step_observer *obs);

/* Inside vmm/: the run loop's and the event sinks' calls, and the end. */
struct vcpu;
void step_observe(struct vcpu *v);       /* before KVM_RUN, step mode */
void step_observe_event(struct vm *vm, const struct trace_event *ev);
void step_observer_free(struct vm *vm);

#endif
