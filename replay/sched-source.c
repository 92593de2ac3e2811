/* The recorded actions and switches of a serial or step trace (see
 * sched-source.h). */
#include <string.h>

#include "replay/sched-source.h"
#include "vmm/controller.h"

bool source_apply(void *arg, struct vm *vm, uint64_t step,
		  enum sched_where where)
{
	struct replay *rp = arg;
	struct stream_cursor *a = &rp->actions;
	const struct trace_event *r;
	uint8_t edits[TRACE_MAX_PAYLOAD];

	while ((r = stream_peek(a)) && r->a2 == step && r->a3 == (uint64_t)where) {
		struct trace_event ev = *r;

		/* A recorded resume found its VCPU stopped (a controller cannot
		 * resume one that is not).  Its stop may still be on its way:
		 * wait for it, or, when that VCPU is the one applying (it stops
		 * after this), let the settle after its stop retry. */
		if (ev.type == TEV_RESUME_REQUEST &&
		    !vcpu_is_stopped(vm, ev.vcpu) &&
		    !vm_await_recorded_stop(vm, ev.vcpu))
			return false;
		if (ev.payload_len)
			memcpy(edits, a->pl, ev.payload_len);
		stream_next(a);  /* (before applying: it may come back here) */
		atomic_store(&rp->next_action, a->end ? UINT64_MAX : a->ev.seq);
		if (ev.type == TEV_PAUSE_REQUEST)
			vm_apply_recorded_pause(vm, ev.vcpu, ev.a0, step, where);
		else
			vm_apply_recorded_resume(vm, ev.vcpu, ev.a0,
						 (unsigned)ev.a1, edits,
						 ev.payload_len, step, where);
	}
	return true;
}

int source_switch(void *arg, uint64_t step, enum sched_where where)
{
	struct replay *rp = arg;
	const struct trace_event *e = stream_peek(&rp->sched);
	uint32_t vcpu;

	if (!e || e->a1 != step || e->a2 != (uint64_t)where)
		return -2;
	vcpu = e->vcpu;
	stream_next(&rp->sched);
	atomic_store(&rp->next_switch, rp->sched.end ? UINT64_MAX :
		     rp->sched.ev.seq);
	return vcpu == TRACE_VCPU_NONE ? -1 : (int)vcpu;
}
