/* Parallel replay: the pauses to land and the resumes (see land-hooks.h). */
#include <stdlib.h>
#include <string.h>

#include "replay/land-hooks.h"
#include "replay/raw-input.h"

/* Room for @n values in the VCPU's scratch. */
static uint64_t *req_room(struct replay_vcpu *vs, size_t n)
{
	if (n > vs->req_cap) {
		size_t cap = n < 16 ? 16 : 2 * n;
		uint64_t *p = realloc(vs->req, cap * sizeof(*p));

		if (!p)
			return NULL;
		vs->req = p;
		vs->req_cap = cap;
	}
	return vs->req;
}

/* The VCPU's next PAUSE_TAKEN, found once per pause (the scout cursor
 * stays on it until it is replayed); NULL when none is left. */
static const struct trace_event *next_taken(struct replay_vcpu *vs)
{
	const struct trace_event *t;

	if (vs->scout_ok)
		return stream_peek(&vs->scout);
	t = stream_peek(&vs->own);
	if (!t || t->seq >= vs->n.last_taken || stream_cursor_copy(&vs->scout, &vs->own))
		return NULL;
	while ((t = stream_peek(&vs->scout)) && t->type != TEV_PAUSE_TAKEN)
		stream_next(&vs->scout);
	vs->scout_ok = true;
	return t;
}

const struct vm_replay_pause *land_next_pause(void *arg, unsigned vcpu)
{
	struct replay *rp = arg;
	struct replay_vcpu *vs = &rp->vcpus[vcpu];
	const struct trace_event *t = next_taken(vs), *c;
	size_t n = 0;

	if (!t)  /* then where the stop caught it, if the trace says */
		return rp->end_recorded ? &vs->end_pos : NULL;
	if (vs->pause_ok)
		return &vs->pause;
	/* The requests up to the taken one, in the order they were made. */
	if (stream_cursor_copy(&vs->look, &vs->ctl))
		return NULL;
	while ((c = stream_peek(&vs->look)) && c->type == TEV_PAUSE_REQUEST) {
		/* A later request is not this pause's (the taken one may have
		 * been published already, by the resume before it). */
		if (c->a1 > t->a1)
			break;
		if (!req_room(vs, n + 1))
			return NULL;
		vs->req[n++] = c->a0;
		if (c->a1 == t->a1)
			break;
		stream_next(&vs->look);
	}
	vs->pause = (struct vm_replay_pause){
		.exit_seq = t->exit_seq, .rip = t->rip, .digest = t->digest,
		.nreq = (unsigned)n, .data = vs->req,
	};
	vs->pause_ok = true;
	return &vs->pause;
}

int land_resume_for(void *arg, unsigned vcpu, uint64_t *data, unsigned *mask,
		    const uint8_t **edits, uint32_t *len,
		    const uint64_t **pending, unsigned *npending)
{
	struct replay *rp = arg;
	struct replay_vcpu *vs = &rp->vcpus[vcpu];
	const struct trace_event *c = NULL, *next = stream_peek(&vs->own);
	size_t n = 0;

	/* Recorded whole, a pause the recording never resumed (the stop came
	 * first, or woke it) is where the stop caught the VCPU. */
	if (rp->end_recorded && (!next || next->type != TEV_RESUMED)) {
		vs->pause_ok = false;
		land_at_end(arg, vcpu);
		return -1;
	}
	if (atomic_load(&vs->resumes_left) &&
	    !stream_cursor_copy(&vs->look, &vs->ctl))
		/* the requests made while it was stopped come first */
		while ((c = stream_peek(&vs->look)) &&
		       c->type != TEV_RESUME_REQUEST) {
			if (!req_room(vs, n + 1))
				return -1;
			vs->req[n++] = c->a0;
			stream_next(&vs->look);
		}
	vs->pause_ok = false;  /* (req holds these now) */
	if (!c) {
		raw_park_for_good(rp, vcpu);
		return -1;
	}
	if (rp->raw)
		raw_apply_until(rp, vcpu, c->seq);
	*pending = vs->req;
	*npending = (unsigned)n;
	*data = c->a0;
	*mask = (unsigned)c->a1;
	*edits = vs->look.pl;  /* valid until the look-ahead moves again */
	*len = c->payload_len;
	return 0;
}

void land_visit(void *arg, unsigned vcpu, uint64_t rip, uint64_t visits)
{
	struct replay *rp = arg;
	struct replay_vcpu *vs = &rp->vcpus[vcpu];

	atomic_store(&vs->land_rip, rip);
	atomic_store(&vs->visits, visits);
	atomic_fetch_add(&rp->visits, 1);
}

void land_at_end(void *arg, unsigned vcpu)
{
	struct replay *rp = arg;
	struct replay_vcpu *vs = &rp->vcpus[vcpu];

	atomic_store(&vs->land_rip, 0);
	atomic_store(&vs->visits, 0);
	atomic_store(&vs->awaiting_stop, true);
}

void land_landed(void *arg, unsigned vcpu, uint64_t ns)
{
	struct replay *rp = arg;
	uint64_t i;

	atomic_store(&rp->vcpus[vcpu].land_rip, 0);
	atomic_store(&rp->vcpus[vcpu].visits, 0);
	pthread_mutex_lock(&rp->land_lock);
	i = rp->nland++;
	if (i >= LAND_SAMPLES)  /* a uniform sample of them all */
		i = prng_below(&rp->land_rng, rp->nland);
	if (i < LAND_SAMPLES)
		rp->land_ns[i] = ns;
	pthread_mutex_unlock(&rp->land_lock);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

uint64_t land_median_ns(struct replay *rp)
{
	size_t n = rp->nland < LAND_SAMPLES ? rp->nland : LAND_SAMPLES;

	if (!n)
		return 0;
	qsort(rp->land_ns, n, sizeof(uint64_t), cmp_u64);
	return rp->land_ns[n / 2];
}
