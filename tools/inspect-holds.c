/* The CPU holder of serial and step traces (see inspect-holds.h). */
#include <stdlib.h>

#include "tools/inspect-holds.h"
#include "tools/inspect-priv.h"
#include "vmm/guest/abi.h"

struct vhold {
	bool holding, pending;   /* holds the token / a slice awaits its end */
	struct hold_slice s;
	struct trace_event last;  /* its last own event with a RIP */
	struct trace_event where;
	bool have_last;
	uint64_t hc_nr, hc_exit;  /* its last hypercall and the exit it was in */
};

struct holds {
	hold_fn fn;
	void *ctx;
	bool stopping;            /* VM_STOP seen */
	struct vhold *v[INSPECT_MAX_VCPUS];
};

static const char *const end_names[HOLD__COUNT] = {
	[HOLD_ONGOING] = "still holds it", [HOLD_PREEMPTED] = "preempted",
	[HOLD_PAUSED] = "paused", [HOLD_HALTED] = "halted",
	[HOLD_YIELDED] = "yielded", [HOLD_FINISHED] = "finished",
	[HOLD_BLOCKED] = "blocked", [HOLD_STOPPED] = "run stopped",
};

const char *hold_end_name(enum hold_end how)
{
	return how < HOLD__COUNT ? end_names[how] : "?";
}

struct holds *holds_new(hold_fn fn, void *ctx)
{
	struct holds *hs = calloc(1, sizeof(*hs));

	if (hs) {
		hs->fn = fn;
		hs->ctx = ctx;
	}
	return hs;
}

static struct vhold *vhold(struct holds *hs, uint64_t vcpu)
{
	if (vcpu >= INSPECT_MAX_VCPUS)
		return NULL;
	if (!hs->v[vcpu])
		hs->v[vcpu] = calloc(1, sizeof(struct vhold));
	return hs->v[vcpu];
}

static void report(struct holds *hs, struct vhold *v)
{
	v->pending = false;
	hs->fn(hs->ctx, &v->s);
}

/* Events the VCPU logs itself (the controller logs requests, signals and
 * resume requests with the target's id). */
static bool own_event(const struct trace_event *ev)
{
	switch (ev->type) {
	case TEV_PAUSE_REQUEST:
	case TEV_SIGNAL_SENT:
	case TEV_RESUME_REQUEST:
	case TEV_SCHED_SWITCH:
		return false;
	}
	return true;
}

/* Why it lost the CPU, as far as the switch and its last event tell. */
static enum hold_end lost_how(const struct holds *hs, const struct vhold *v,
			      uint64_t where)
{
	if (hs->stopping)
		return HOLD_STOPPED;
	if (v->have_last && v->hc_exit == v->last.exit_seq) {
		if (v->hc_nr == VCPRR_HC_YIELD)
			return HOLD_YIELDED;
		if (v->hc_nr == VCPRR_HC_DONE || v->hc_nr == VCPRR_HC_EXIT)
			return HOLD_FINISHED;
	}
	return where == 0 ? HOLD_PREEMPTED : HOLD_BLOCKED;
}

static void lose(struct holds *hs, struct vhold *v,
		 const struct trace_event *sw)
{
	v->holding = false;
	v->pending = true;
	v->s.end = sw->time_ns;
	v->s.step_out = sw->a1;
	v->s.seq_out = sw->seq;
	v->s.to = sw->vcpu;
	v->s.how = lost_how(hs, v, sw->a2);
	v->where = v->last;
	v->s.where = v->have_last ? &v->where : NULL;
}

static void gain(struct holds *hs, struct vhold *v,
		 const struct trace_event *sw)
{
	if (v->pending)
		report(hs, v);
	v->holding = true;
	v->s = (struct hold_slice){
		.vcpu = sw->vcpu, .start = sw->time_ns, .end = sw->time_ns,
		.step_in = sw->a1, .step_out = sw->a1, .seq_in = sw->seq,
		.seq_out = HOLD_NO_SEQ, .to = TRACE_VCPU_NONE,
	};
}

static void on_switch(struct holds *hs, const struct trace_event *ev)
{
	struct vhold *from = ev->a0 < TRACE_VCPU_NONE ? vhold(hs, ev->a0) :
			     NULL;
	struct vhold *to = vhold(hs, ev->vcpu);

	if (from && from->holding)
		lose(hs, from, ev);
	if (to)
		gain(hs, to, ev);
}

/* The VCPU's first own event after it lost the CPU may say why. */
static void settle(struct holds *hs, struct vhold *v,
		   const struct trace_event *ev)
{
	static const enum hold_end by_type[TEV__COUNT] = {
		[TEV_PAUSE_TAKEN] = HOLD_PAUSED, [TEV_EXIT_HLT] = HOLD_HALTED,
		[TEV_VCPU_EXIT] = HOLD_FINISHED,
	};

	if (ev->type == TEV_KICK)
		return;   /* the signal of a pause: its PAUSE_TAKEN follows */
	if (ev->type < TEV__COUNT && by_type[ev->type] &&
	    v->s.how != HOLD_STOPPED) {
		v->s.how = by_type[ev->type];
		if (ev->rip) {
			v->where = *ev;
			v->s.where = &v->where;
		}
	}
	report(hs, v);
}

void holds_feed(struct holds *hs, const struct trace_event *ev)
{
	struct vhold *v;

	if (ev->type == TEV_VM_STOP)
		hs->stopping = true;
	if (ev->type == TEV_SCHED_SWITCH) {
		on_switch(hs, ev);
		return;
	}
	if (ev->vcpu == TRACE_VCPU_NONE || !own_event(ev))
		return;
	v = vhold(hs, ev->vcpu);
	if (!v)
		return;
	if (v->pending)
		settle(hs, v, ev);
	if (ev->type == TEV_HYPERCALL) {
		v->hc_nr = ev->a0;
		v->hc_exit = ev->exit_seq;
	}
	if (ev->rip) {
		v->last = *ev;
		v->have_last = true;
	}
}

void holds_finish(struct holds *hs, uint64_t tend)
{
	if (!hs)
		return;
	for (uint32_t i = 0; i < INSPECT_MAX_VCPUS; i++) {
		struct vhold *v = hs->v[i];

		if (!v)
			continue;
		if (v->pending)
			report(hs, v);
		if (v->holding) {
			v->s.end = tend > v->s.start ? tend : v->s.start;
			v->s.how = HOLD_ONGOING;
			v->where = v->last;
			v->s.where = v->have_last ? &v->where : NULL;
			report(hs, v);
		}
		free(v);
	}
	free(hs);
}
