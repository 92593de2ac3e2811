/* Pause request lives (see inspect-pauses.h). */
#include <stdlib.h>
#include <string.h>

#include "tools/inspect-pauses.h"
#include "tools/inspect-priv.h"

struct pt_vcpu {
	struct pause_life lives[PAUSE_TRACK_MAX];  /* in request order */
	unsigned n;
};

struct pause_tracker {
	pause_done_fn done;
	void *ctx;
	struct pt_vcpu *vcpus[INSPECT_MAX_VCPUS];
};

struct pause_tracker *pause_tracker_new(pause_done_fn done, void *ctx)
{
	struct pause_tracker *pt = calloc(1, sizeof(*pt));

	if (!pt)
		return NULL;
	pt->done = done;
	pt->ctx = ctx;
	return pt;
}

void pause_tracker_free(struct pause_tracker *pt)
{
	if (!pt)
		return;
	for (unsigned i = 0; i < INSPECT_MAX_VCPUS; i++)
		free(pt->vcpus[i]);
	free(pt);
}

static const struct pstep no_step = { PSTEP_NONE, 0 };

static void life_init(struct pause_life *l, uint32_t vcpu, uint64_t req_seq)
{
	memset(l, 0, sizeof(*l));
	l->vcpu = vcpu;
	l->req_seq = req_seq;
	l->request = l->signal = l->kick = l->coalesced = l->taken =
		l->resume_request = l->resumed = no_step;
}

/* Reports and removes lives[i]. */
static void retire(struct pause_tracker *pt, struct pt_vcpu *pv, unsigned i)
{
	pt->done(pt->ctx, &pv->lives[i]);
	memmove(&pv->lives[i], &pv->lives[i + 1],
		(pv->n - i - 1) * sizeof(pv->lives[0]));
	pv->n--;
}

static struct pause_life *add(struct pause_tracker *pt, struct pt_vcpu *pv,
			      uint32_t vcpu, uint64_t req_seq)
{
	if (pv->n == PAUSE_TRACK_MAX) {
		pv->lives[0].evicted = true;
		retire(pt, pv, 0);
	}
	life_init(&pv->lives[pv->n], vcpu, req_seq);
	return &pv->lives[pv->n++];
}

static struct pause_life *find(struct pause_tracker *pt, struct pt_vcpu *pv,
			       uint32_t vcpu, uint64_t req_seq)
{
	for (unsigned i = 0; i < pv->n; i++)
		if (pv->lives[i].req_seq == req_seq)
			return &pv->lives[i];
	return add(pt, pv, vcpu, req_seq);  /* its request is not in the trace */
}

static bool waiting(const struct pause_life *l)
{
	return !pstep_ok(&l->taken) && !pstep_ok(&l->coalesced);
}

static void on_signal(struct pt_vcpu *pv, const struct trace_event *ev,
		      const struct pstep *s)
{
	for (unsigned i = 0; i < pv->n; i++) {
		struct pause_life *l = &pv->lives[i];

		if (waiting(l) && !pstep_ok(&l->signal) && l->req_seq <= ev->a0)
			l->signal = *s;
	}
}

static void on_kick(struct pt_vcpu *pv, const struct pstep *s)
{
	for (unsigned i = 0; i < pv->n; i++) {
		struct pause_life *l = &pv->lives[i];

		if (waiting(l) && pstep_ok(&l->signal) && !pstep_ok(&l->kick))
			l->kick = *s;
	}
}

static void on_taken(struct pause_tracker *pt, struct pt_vcpu *pv,
		     const struct trace_event *ev, const struct pstep *s)
{
	struct pause_life *l = find(pt, pv, ev->vcpu, ev->a1);

	l->data = ev->a0;
	l->into = ev->a1;
	for (unsigned i = 0; i < pv->n; i++) {
		l = &pv->lives[i];
		if (l->into != ev->a1 || pstep_ok(&l->taken))
			continue;
		l->taken = *s;
		l->exit_seq = ev->exit_seq;
		l->rip = ev->rip;
	}
}

static void on_resume(struct pause_tracker *pt, struct pt_vcpu *pv,
		      const struct trace_event *ev, const struct pstep *s)
{
	for (unsigned i = 0; i < pv->n; i++) {
		struct pause_life *l = &pv->lives[i];

		if (!pstep_ok(&l->taken) || pstep_ok(&l->resumed))
			continue;
		if (ev->type == TEV_RESUME_REQUEST) {
			if (!pstep_ok(&l->resume_request))
				l->resume_request = *s;
			continue;
		}
		l->resumed = *s;
		l->resume_data = ev->a0;
	}
	if (ev->type != TEV_RESUMED)
		return;
	for (unsigned i = 0; i < pv->n;)
		if (pstep_ok(&pv->lives[i].resumed))
			retire(pt, pv, i);
		else
			i++;
}

static struct pt_vcpu *vcpu_of(struct pause_tracker *pt, uint32_t vcpu)
{
	if (vcpu >= INSPECT_MAX_VCPUS)
		return NULL;
	if (!pt->vcpus[vcpu])
		pt->vcpus[vcpu] = calloc(1, sizeof(struct pt_vcpu));
	return pt->vcpus[vcpu];
}

void pause_tracker_feed(struct pause_tracker *pt, const struct trace_event *ev)
{
	struct pstep s = { ev->seq, ev->time_ns };
	struct pause_life *l;
	struct pt_vcpu *pv;

	if (ev->type < TEV_PAUSE_REQUEST || ev->type > TEV_RESUMED)
		return;
	pv = vcpu_of(pt, ev->vcpu);
	if (!pv)
		return;
	switch (ev->type) {
	case TEV_PAUSE_REQUEST:
		l = add(pt, pv, ev->vcpu, ev->a1);
		l->request = s;
		l->data = ev->a0;
		break;
	case TEV_SIGNAL_SENT:
		on_signal(pv, ev, &s);
		break;
	case TEV_KICK:
		on_kick(pv, &s);
		break;
	case TEV_PAUSE_COALESCED:
		l = find(pt, pv, ev->vcpu, ev->a0);
		l->coalesced = s;
		l->into = ev->a1;
		break;
	case TEV_PAUSE_TAKEN:
		on_taken(pt, pv, ev, &s);
		break;
	case TEV_RESUME_REQUEST:
	case TEV_RESUMED:
		on_resume(pt, pv, ev, &s);
		break;
	}
}

void pause_tracker_finish(struct pause_tracker *pt)
{
	for (unsigned v = 0; v < INSPECT_MAX_VCPUS; v++)
		while (pt->vcpus[v] && pt->vcpus[v]->n)
			retire(pt, pt->vcpus[v], 0);
}
