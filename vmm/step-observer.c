/* The step-mode observer: each instruction shown before it executes.
 *
 * An instruction is shown when the VCPU enters KVM_RUN to execute it:
 * not on the re-entry that completes a PIO/MMIO exit (it was shown
 * already), and not again after a KVM_RUN that a kick ended before the
 * guest ran (exit_seq counts the guest's own exits: without one since the
 * last time, the same instruction is still to come). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/sched-internal.h"
#include "vmm/step-observer.h"
#include "vmm/vm-state.h"

#define MAX_INSN_BYTES 15

struct step_seen {
	bool shown;                 /* an instruction was shown ... */
	uint64_t exit_seq;          /* ... at this exit count */
	bool bases_known;           /* fs/gs fetched ... */
	uint64_t bases_stops;       /* ... at this stop count (a resume may
				       edit the sregs) */
	uint64_t fs_base, gs_base;
};

struct step_watch {
	struct vm_step_observer obs;
	struct step_seen *seen;     /* per VCPU, its thread only */
};

int vm_set_step_observer(struct vm *vm, const struct vm_step_observer *obs)
{
	struct step_watch *w;

	if (vm->vcpus && vm->vcpus[0].thread_started)
		return -EINVAL;
	if (!obs) {  /* a VM kept for another run drops the last one's */
		step_observer_free(vm);
		return 0;
	}
	if (!obs->step || !vm->sched ||
	    vm->cfg.sched.mode != VM_SCHED_STEP ||
	    (vm->vcpus && vm->vcpus[0].thread_started))
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->seen = calloc(vm->nr_vcpus, sizeof(*w->seen));
	if (!w->seen) {
		free(w);
		return -ENOMEM;
	}
	w->obs = *obs;
	step_observer_free(vm);
	vm->step_watch = w;
	return 0;
}

void step_observer_free(struct vm *vm)
{
	if (!vm->step_watch)
		return;
	free(vm->step_watch->seen);
	free(vm->step_watch);
	vm->step_watch = NULL;
}

/* The registers KVM_RUN will start from: with sync regs, kvm_run holds
 * them (and any edit a resume staged there). */
static void current_regs(struct vcpu *v, struct kvm_regs *regs)
{
	if (v->regs_synced)
		*regs = v->run->s.regs.regs;
	else if (ioctl(v->fd, KVM_GET_REGS, regs) < 0)
		memset(regs, 0, sizeof(*regs));
}

/* FS and GS bases change only by the guest's own wrmsr/wrfsbase (rare in
 * vcprr guests, and then seen at the next stop) or a resume's edit: one
 * KVM_GET_SREGS per stop, not per instruction. */
static void current_bases(struct vcpu *v, struct step_seen *s)
{
	struct kvm_sregs sregs;

	if (s->bases_known && s->bases_stops == v->stops)
		return;
	s->bases_known = true;
	s->bases_stops = v->stops;
	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0)
		return;
	s->fs_base = sregs.fs.base;
	s->gs_base = sregs.gs.base;
}

/* The bytes at rip, as many of MAX_INSN_BYTES as are RAM. */
static size_t insn_bytes(const struct vm *vm, uint64_t rip,
			 const uint8_t **bytes)
{
	size_t n = MAX_INSN_BYTES;

	if (rip >= vm->mem_size) {
		*bytes = NULL;
		return 0;
	}
	if (vm->mem_size - rip < n)
		n = vm->mem_size - rip;
	*bytes = vm->mem + rip;
	return n;
}

void step_observe(struct vcpu *v)
{
	struct step_watch *w = v->vm->step_watch;
	struct step_seen *s = &w->seen[v->id];
	const uint8_t *bytes;
	struct kvm_regs regs;
	size_t n;

	if (v->io_pending || (s->shown && s->exit_seq == v->exit_seq))
		return;
	s->shown = true;
	s->exit_seq = v->exit_seq;
	current_regs(v, &regs);
	current_bases(v, s);
	n = insn_bytes(v->vm, regs.rip, &bytes);
	w->obs.step(w->obs.arg, v->id,
		    __atomic_load_n(&v->vm->sched->step, __ATOMIC_RELAXED),
		    &regs, s->fs_base, s->gs_base, bytes, n);
}

void step_observe_event(struct vm *vm, const struct trace_event *ev)
{
	struct step_watch *w = vm->step_watch;

	if (w->obs.event)
		w->obs.event(w->obs.arg, ev);
}
