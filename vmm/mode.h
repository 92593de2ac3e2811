/* The execution modes: how a VCPU thread runs and stops in each, and how
 * a controller's actions reach it.  The run loop (vcpu.c), a VCPU's stop
 * (vcpu-stop.c) and the controller API (controller.c) call these instead
 * of testing for a mode.  NULL members do nothing.
 *   parallel: VCPUs run concurrently; actions take effect at once.
 *   serial and step (sched.c): one VCPU runs at a time; actions are
 *     applied at scheduling points.
 *   replay landing (land.c): parallel, with each recorded pause landed at
 *     its recorded position and resumed the way the recording did. */
#ifndef VCPRR_VMM_MODE_H
#define VCPRR_VMM_MODE_H

#include "vmm/vm-state.h"

struct vm_mode {
	const char *name;
	/* Before entering the guest: false when the VCPU must not enter now
	 * (woken for a pause, or the run is ending). */
	bool (*may_enter)(struct vcpu *v);
	/* Around KVM_RUN. */
	void (*in_guest)(struct vcpu *v, bool entering);
	/* Before each pause check; and whether a KVM_RUN return is the
	 * mode's own (a breakpoint or step while landing), not the guest's. */
	void (*land)(struct vcpu *v);
	bool (*own_exit)(struct vcpu *v);
	/* After a guest exit was handled: the scheduling point. */
	void (*point)(struct vcpu *v, bool yielded);
	/* A VCPU's stop: before it shows stopped, and once it did. */
	void (*stopping)(struct vcpu *v);
	void (*stopped)(struct vcpu *v, const struct vcpu_event *ev);
	/* Leaving the run loop; take_pause_on_leaving: a pause applied
	 * before the end is taken even so (serial: whether the thread got to
	 * it before the end would be a race). */
	bool take_pause_on_leaving;
	void (*leave)(struct vcpu *v);
	/* A controller's request and resume of stop `stop`; queued: they
	 * take effect later, and wake the VCPU themselves (no kick). */
	int64_t (*request)(struct vm *vm, unsigned id, uint64_t data);
	int (*resume)(struct vm *vm, unsigned id, uint64_t data, uint64_t stop);
	bool queued;
	/* The run is ending: wake what waits for this mode. */
	void (*wake)(struct vm *vm);
};

/* The mode of a VM as configured (and attached to a replay). */
const struct vm_mode *vm_mode_of(const struct vm *vm);

#endif
