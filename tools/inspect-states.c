/* Per-VCPU state machine for the timelines (see inspect-states.h). */
#include <stdlib.h>

#include "tools/inspect-priv.h"
#include "tools/inspect-states.h"

struct vtrack {
	enum vstate st;
	uint64_t start, last;     /* state start; last event of an exit */
	struct trace_event first;
	uint32_t nevents;
};

struct states {
	const struct state_ops *ops;
	void *ctx;
	struct vtrack *v[INSPECT_MAX_VCPUS];
};

static const char *const state_names[] = {
	[VS_NONE] = "none", [VS_RUNNING] = "running", [VS_IN_EXIT] = "in-exit",
	[VS_PAUSED] = "paused", [VS_HALTED] = "halted",
};

const char *vstate_name(enum vstate st)
{
	return st <= VS_HALTED ? state_names[st] : "?";
}

struct states *states_new(const struct state_ops *ops, void *ctx)
{
	struct states *s = calloc(1, sizeof(*s));

	if (s) {
		s->ops = ops;
		s->ctx = ctx;
	}
	return s;
}

static struct vtrack *track(struct states *s, uint32_t vcpu)
{
	if (vcpu >= INSPECT_MAX_VCPUS)
		return NULL;
	if (!s->v[vcpu]) {
		s->v[vcpu] = calloc(1, sizeof(struct vtrack));
		if (s->v[vcpu])
			s->ops->new_vcpu(s->ctx, vcpu);
	}
	return s->v[vcpu];
}

static void close_state(struct states *s, struct vtrack *v, uint32_t vcpu,
			uint64_t t)
{
	struct state_slice sl = {
		.vcpu = vcpu, .st = v->st, .start = v->start,
		.end = t > v->start ? t : v->start, .first = &v->first,
		.nevents = v->nevents,
	};

	if (v->st == VS_NONE)
		return;
	s->ops->slice(s->ctx, &sl);
	v->st = VS_NONE;
}

static void open_state(struct vtrack *v, enum vstate st,
		       const struct trace_event *ev, uint64_t t)
{
	v->st = st;
	v->start = v->last = t;
	v->first = *ev;
	v->nevents = 1;
}

static void end_exit(struct states *s, struct vtrack *v, uint32_t vcpu,
		     const struct trace_event *ev)
{
	if (v->st != VS_IN_EXIT)
		return;
	close_state(s, v, vcpu, v->last);
	open_state(v, VS_RUNNING, ev, v->last);
}

static void on_exit_event(struct states *s, struct vtrack *v, uint32_t vcpu,
			  const struct trace_event *ev)
{
	if (v->st == VS_IN_EXIT && v->first.exit_seq == ev->exit_seq) {
		v->last = ev->time_ns;
		v->nevents++;
		return;
	}
	end_exit(s, v, vcpu, ev);
	close_state(s, v, vcpu, ev->time_ns);
	open_state(v, ev->type == TEV_EXIT_HLT ? VS_HALTED : VS_IN_EXIT, ev,
		   ev->time_ns);
}

static void on_vcpu_event(struct states *s, struct vtrack *v,
			  const struct trace_event *ev)
{
	uint32_t id = ev->vcpu;

	switch (ev->type) {
	case TEV_PAUSE_REQUEST:
		return;   /* the exporters follow requests with the tracker */
	case TEV_SIGNAL_SENT:
	case TEV_RESUME_REQUEST:
	case TEV_SCHED_SWITCH:
		s->ops->instant(s->ctx, ev);
		return;
	case TEV_KICK:
		end_exit(s, v, id, ev);
		s->ops->instant(s->ctx, ev);
		return;
	case TEV_VCPU_START:
	case TEV_RESUMED:
		close_state(s, v, id, ev->time_ns);
		open_state(v, VS_RUNNING, ev, ev->time_ns);
		return;
	case TEV_PAUSE_TAKEN:
		if (v->first.exit_seq != ev->exit_seq)
			end_exit(s, v, id, ev);  /* it ran on after the exit */
		close_state(s, v, id, ev->time_ns);
		open_state(v, VS_PAUSED, ev, ev->time_ns);
		return;
	case TEV_VCPU_EXIT:
	case TEV_VCPU_ERROR:
		end_exit(s, v, id, ev);
		close_state(s, v, id, ev->time_ns);
		s->ops->instant(s->ctx, ev);
		return;
	}
	on_exit_event(s, v, id, ev);
}

void states_feed(struct states *s, const struct trace_event *ev)
{
	struct vtrack *v;

	if (ev->vcpu == TRACE_VCPU_NONE) {
		s->ops->instant(s->ctx, ev);
		return;
	}
	v = track(s, ev->vcpu);
	if (v)
		on_vcpu_event(s, v, ev);
}

void states_finish(struct states *s, uint64_t tend)
{
	if (!s)
		return;
	for (uint32_t i = 0; i < INSPECT_MAX_VCPUS; i++) {
		if (!s->v[i])
			continue;
		close_state(s, s->v[i], i, tend);
		free(s->v[i]);
	}
	free(s);
}
