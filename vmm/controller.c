/* The controller API of controller.h, and the replay's entry points of
 * replay-hooks.h: a facade over the execution mode (mode.h: parallel
 * actions take effect at once, serial ones at a scheduling point) and the
 * handshake (handshake.h: waits, registers). */
#include <errno.h>
#include <string.h>

#include "traces/clock.h"
#include "vmm/end.h"
#include "vmm/handshake.h"
#include "vmm/kick.h"
#include "vmm/mode.h"
#include "vmm/sched-internal.h"

static struct vcpu *lookup(struct vm *vm, unsigned id)
{
	return id < vm->nr_vcpus ? &vm->vcpus[id] : NULL;
}

int64_t vcpu_request_pause(struct vm *vm, unsigned id, uint64_t data)
{
	int64_t r;

	if (!lookup(vm, id))
		return -EINVAL;
	r = vm->mode->request(vm, id, data);
	vm_stop_pending(vm, NULL);
	return r;
}

int vcpu_kick_thread(struct vm *vm, unsigned id)
{
	struct vcpu *v = lookup(vm, id);

	if (!v)
		return -EINVAL;
	atomic_fetch_add(&v->stats.kicks, 1);
	if (vtrace_ctl_emit(vm, id, TEV_SIGNAL_SENT, atomic_load(&v->next_req_seq),
			    0, 0, 0, NULL, 0))
		vm_stop_pending(vm, NULL);
	vcpu_kick(v);
	return 0;
}

int vm_pause_vcpus(struct vm *vm, const vcpu_mask_t *mask, uint64_t data)
{
	/* Publish every request first, then kick: VCPUs kicked early do not
	 * wait for the requests of the others. */
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		int64_t r;
		if (!vcpu_mask_test(mask, i))
			continue;
		r = vcpu_request_pause(vm, i, data);
		if (r < 0)
			return (int)r;
	}
	if (vm->mode->queued)
		return 0;  /* applied later, waking the VCPUs then */
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		if (vcpu_mask_test(mask, i))
			vcpu_kick_thread(vm, i);
	return 0;
}

int vm_wait_paused(struct vm *vm, const vcpu_mask_t *mask, int timeout_ms,
		   vcpu_mask_t *stopped)
{
	struct timespec deadline = mono_deadline(timeout_ms);
	int result = 0;

	if (stopped)
		memset(stopped, 0, sizeof(*stopped));
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		/* Not still stopped in a stop whose resume is queued (serial):
		 * --pause-every took that for the next round's pause, and
		 * resumed and re-paused the VCPU at one exit forever. */
		struct stop_goal g = { .unresumed = true };
		int r;

		if (!vcpu_mask_test(mask, i))
			continue;
		r = handshake_wait(vm, v, &g, timeout_ms, &deadline);
		if (r == 0 && stopped)
			vcpu_mask_set(stopped, i);
		if (r == -ETIMEDOUT || r == -ESHUTDOWN)
			return r;
		if (r == -ESRCH)
			result = -ESRCH;
	}
	return result;
}

/* Resumes the stop v is in now, named in *stop.  Serial: the resume takes
 * effect at the next scheduling point, and only if v is still in that
 * stop then (an earlier resume may have ended it). */
static int resume_stop(struct vm *vm, struct vcpu *v, uint64_t data,
		       uint64_t *stop)
{
	int r;

	if (atomic_load(&vm->stopping))
		return -ESHUTDOWN;  /* it is leaving, resumed or not */
	if (!handshake_current_stop(v, stop))
		return -EBUSY;
	r = vm->mode->resume(vm, v->id, data, *stop);
	vm_stop_pending(vm, NULL);
	return r == -EIO ? 0 : r;
}

int vcpu_resume(struct vm *vm, unsigned id, uint64_t data)
{
	struct vcpu *v = lookup(vm, id);
	uint64_t stop;

	if (!v)
		return -EINVAL;
	return resume_stop(vm, v, data, &stop);
}

int vm_resume_vcpus(struct vm *vm, const vcpu_mask_t *mask, uint64_t data)
{
	int n = 0;

	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		if (vcpu_mask_test(mask, i) && vcpu_resume(vm, i, data) == 0)
			n++;
	return n;
}

/* Resumes v until it is running with every request made to it taken. */
static int release_one(struct vm *vm, struct vcpu *v, uint64_t data, int *n)
{
	struct stop_goal g = { .or_running = true };

	for (;;) {
		int r;

		if (atomic_load(&vm->stopping))
			return -ESHUTDOWN;
		g.min_seq = atomic_load(&v->next_req_seq);
		r = handshake_wait(vm, v, &g, -1, NULL);
		if (r)
			return r;
		r = resume_stop(vm, v, data, &g.not_stop);
		if (r)
			return r == -EBUSY ? 0 : r;  /* running: done */
		(*n)++;
	}
}

int vm_release_vcpus(struct vm *vm, const vcpu_mask_t *mask, uint64_t data)
{
	int n = 0;

	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		if (vcpu_mask_test(mask, i) &&
		    release_one(vm, &vm->vcpus[i], data, &n) == -ESHUTDOWN)
			return -ESHUTDOWN;
	return n;
}

int vcpu_wait_event(struct vm *vm, unsigned id, struct vcpu_event *ev,
		    int timeout_ms)
{
	struct vcpu *v = lookup(vm, id);
	struct timespec deadline = mono_deadline(timeout_ms);
	int r;

	if (!v)
		return -EINVAL;
	r = handshake_wait(vm, v, &(struct stop_goal){ 0 }, timeout_ms, &deadline);
	return r ? r : handshake_take_event(v, ev);
}

bool vcpu_is_stopped(struct vm *vm, unsigned id)
{
	struct vcpu *v = lookup(vm, id);

	return v && atomic_load(&v->stopped);
}

static int reg_access(struct vm *vm, unsigned id, void *dst, size_t off,
		      size_t len, const void *src, unsigned what)
{
	struct vcpu *v = lookup(vm, id);

	return v ? handshake_regs(v, dst, off, len, src, what) : -EINVAL;
}

#define REG_GET(field, dst, what) \
	reg_access(vm, id, dst, offsetof(struct vcpu, field), \
		   sizeof(((struct vcpu *)0)->field), NULL, what)
#define REG_SET(field, src, edit) \
	reg_access(vm, id, NULL, offsetof(struct vcpu, field), \
		   sizeof(((struct vcpu *)0)->field), src, edit)

int vcpu_get_regs(struct vm *vm, unsigned id, struct kvm_regs *r) { return REG_GET(regs, r, EDIT_REGS); }
int vcpu_set_regs(struct vm *vm, unsigned id, const struct kvm_regs *r) { return REG_SET(regs, r, EDIT_REGS); }
int vcpu_get_sregs(struct vm *vm, unsigned id, struct kvm_sregs *s) { return REG_GET(sregs, s, EDIT_SREGS); }
int vcpu_set_sregs(struct vm *vm, unsigned id, const struct kvm_sregs *s) { return REG_SET(sregs, s, EDIT_SREGS); }
int vcpu_get_debugregs(struct vm *vm, unsigned id, struct kvm_debugregs *d) { return REG_GET(dregs, d, EDIT_DEBUGREGS); }
int vcpu_set_debugregs(struct vm *vm, unsigned id, const struct kvm_debugregs *d) { return REG_SET(dregs, d, EDIT_DEBUGREGS); }

int vcpu_get_stats(struct vm *vm, unsigned id, struct vcpu_pause_stats *st)
{
	struct vcpu *v = lookup(vm, id);

	if (!v)
		return -EINVAL;
	st->requests = atomic_load(&v->stats.requests);
	st->kicks = atomic_load(&v->stats.kicks);
	st->eintr = atomic_load(&v->stats.eintr);
	st->taken = atomic_load(&v->stats.taken);
	st->coalesced = atomic_load(&v->stats.coalesced);
	st->resumed = atomic_load(&v->stats.resumed);
	return 0;
}

/* --- a replay's entry points (replay-hooks.h) ---------------------------- */

int vcpu_stage_edits(struct vm *vm, unsigned id, unsigned mask,
		     const uint8_t *blob, uint32_t len)
{
	struct vcpu *v = lookup(vm, id);

	return v ? handshake_stage_edits(v, mask, blob, len) : -EINVAL;
}

int vm_apply_recorded_pause(struct vm *vm, unsigned id, uint64_t data,
			    uint64_t step, int where)
{
	if (id >= vm->nr_vcpus || !vm->sched)
		return -EINVAL;
	sched_apply_pause(vm, id, handshake_new_seq(&vm->vcpus[id]), data, step,
			  where);
	return 0;
}

bool vm_await_recorded_stop(struct vm *vm, unsigned id)
{
	if (id >= vm->nr_vcpus || !vm->sched || sched_is_applier(vm, id))
		return false;
	sched_await_stop(vm, id);
	return atomic_load(&vm->vcpus[id].stopped);
}

int vm_apply_recorded_resume(struct vm *vm, unsigned id, uint64_t data,
			     unsigned mask, const uint8_t *blob, uint32_t len,
			     uint64_t step, int where)
{
	int r;

	if (id >= vm->nr_vcpus || !vm->sched)
		return -EINVAL;
	if (mask && (r = vcpu_stage_edits(vm, id, mask, blob, len)))
		return r;
	return sched_resume_now(vm, id, data, 0, step, where);
}
