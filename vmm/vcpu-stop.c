/* A VCPU's stops (see vcpu-stop.h). */
#include <errno.h>

#include "vmm/end.h"
#include "vmm/handshake.h"
#include "vmm/kick.h"
#include "vmm/mode.h"
#include "vmm/vcpu-stop.h"

uint64_t vcpu_stop(struct vcpu *v, struct vcpu_event *ev)
{
	const struct vm_mode *m = v->vm->mode;
	const struct vm_raw_hooks *raw = v->vm->cfg.raw_hooks;
	const char *fault = NULL;
	uint64_t gen, data;
	int r;

	if (m->stopping)
		m->stopping(v);
	if (handshake_report_stop(v, ev, &gen))
		vm_stop_pending(v->vm, v);
	vcpu_hook(v, VCPU_HOOK_STOPPED);
	if (raw && raw->stopped)
		raw->stopped(raw->arg, v->id);
	if (m->stopped)
		m->stopped(v, ev);
	r = handshake_wait_resume(v, gen, ev, &data, &fault);
	if (r == -EINVAL)
		vcpu_fault(v, "%s", fault);
	if (r == -EIO)
		vm_stop_pending(v->vm, v);
	if (r != 0)
		vcpu_hook(v, VCPU_HOOK_RESUMED);
	return data;
}

bool vcpu_pause_check(struct vcpu *v)
{
	struct vcpu_event ev = { .kind = VCPU_EVENT_PAUSED };

	/* A parallel VCPU that has seen the stop takes no more pauses: the
	 * stop is where its run ends (and where a replay lands it).  Serial
	 * and step take those applied before the end (take_pause_on_leaving). */
	if (!v->vm->sched && atomic_load(&v->vm->stopping))
		return false;
	if (!pause_pending(&v->pause, v->last_taken, &ev.req_seq, &ev.data))
		return false;
	if (v->io_pending)
		complete_pending_io(v);
	atomic_fetch_add(&v->stats.coalesced, ev.req_seq - v->last_taken - 1);
	atomic_fetch_add(&v->stats.taken, 1);
	if (vtrace_on(v->vm))
		for (uint64_t s = v->last_taken + 1; s < ev.req_seq; s++)
			vcpu_event(v, TEV_PAUSE_COALESCED, s, ev.req_seq, 0, 0,
				   NULL, 0);
	v->last_taken = ev.req_seq;
	v->halted = false;  /* a pause wakes a halted VCPU, like an interrupt */
	vcpu_stop(v, &ev);
	return true;
}
