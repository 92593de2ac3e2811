/* Marks of a replay's position (see mark.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "replay/mark.h"

struct vcpu_mark {
	struct stream_cursor own, ctl;
	uint64_t own_left, ctl_left, resumes_left;
	bool at_end;
	struct context_ring ctx[2];
	uint64_t next_seq, gap_ns;
};

struct replay_mark {
	unsigned nr_vcpus;
	struct vcpu_mark *vcpus;
	struct stream_cursor sched, actions;
	uint64_t checked, at_end, next_action, next_switch;
	bool diverged, prefix_done;
};

void replay_mark_free(struct replay_mark *m)
{
	if (!m)
		return;
	for (unsigned i = 0; m->vcpus && i < m->nr_vcpus; i++) {
		stream_cursor_free(&m->vcpus[i].own);
		stream_cursor_free(&m->vcpus[i].ctl);
	}
	stream_cursor_free(&m->sched);
	stream_cursor_free(&m->actions);
	free(m->vcpus);
	free(m);
}

struct replay_mark *replay_mark_take(struct replay *rp)
{
	struct replay_mark *m;

	if (rp->parallel || rp->raw || !(m = calloc(1, sizeof(*m))))
		return NULL;
	m->nr_vcpus = rp->nr_vcpus;
	m->vcpus = calloc(rp->nr_vcpus, sizeof(*m->vcpus));
	if (!m->vcpus || stream_cursor_copy(&m->sched, &rp->sched) ||
	    stream_cursor_copy(&m->actions, &rp->actions))
		goto fail;
	for (unsigned i = 0; i < rp->nr_vcpus; i++) {
		const struct replay_vcpu *vs = &rp->vcpus[i];
		struct vcpu_mark *c = &m->vcpus[i];

		if (stream_cursor_copy(&c->own, &vs->own) ||
		    stream_cursor_copy(&c->ctl, &vs->ctl))
			goto fail;
		c->own_left = atomic_load(&vs->own_left);
		c->ctl_left = atomic_load(&vs->ctl_left);
		c->resumes_left = atomic_load(&vs->resumes_left);
		c->at_end = atomic_load(&vs->at_end);
		memcpy(c->ctx, vs->ctx, sizeof(c->ctx));
		c->next_seq = atomic_load(&vs->next_seq);
		c->gap_ns = atomic_load(&vs->gap_ns);
	}
	m->checked = atomic_load(&rp->checked);
	m->at_end = atomic_load(&rp->at_end);
	m->next_action = atomic_load(&rp->next_action);
	m->next_switch = atomic_load(&rp->next_switch);
	m->diverged = atomic_load(&rp->diverged);
	m->prefix_done = atomic_load(&rp->prefix_done);
	return m;
fail:
	replay_mark_free(m);
	return NULL;
}

int replay_mark_restore(struct replay *rp, const struct replay_mark *m)
{
	if (m->nr_vcpus != rp->nr_vcpus)
		return -EINVAL;
	if (stream_cursor_copy(&rp->sched, &m->sched) ||
	    stream_cursor_copy(&rp->actions, &m->actions))
		return -ENOMEM;
	for (unsigned i = 0; i < rp->nr_vcpus; i++) {
		struct replay_vcpu *vs = &rp->vcpus[i];
		const struct vcpu_mark *c = &m->vcpus[i];

		if (stream_cursor_copy(&vs->own, &c->own) ||
		    stream_cursor_copy(&vs->ctl, &c->ctl))
			return -ENOMEM;
		atomic_store(&vs->own_left, c->own_left);
		atomic_store(&vs->ctl_left, c->ctl_left);
		atomic_store(&vs->resumes_left, c->resumes_left);
		atomic_store(&vs->at_end, c->at_end);
		memcpy(vs->ctx, c->ctx, sizeof(vs->ctx));
		atomic_store(&vs->next_seq, c->next_seq);
		atomic_store(&vs->gap_ns, c->gap_ns);
	}
	atomic_store(&rp->checked, m->checked);
	atomic_store(&rp->at_end, m->at_end);
	atomic_store(&rp->next_action, m->next_action);
	atomic_store(&rp->next_switch, m->next_switch);
	atomic_store(&rp->diverged, m->diverged);
	atomic_store(&rp->prefix_done, m->prefix_done);
	/* The message of a divergence the going back undid. */
	if (!m->diverged) {
		pthread_mutex_lock(&rp->msg_lock);
		rp->message[0] = 0;
		pthread_mutex_unlock(&rp->msg_lock);
	}
	return 0;
}

uint64_t replay_mark_bytes(const struct replay_mark *m)
{
	uint64_t n = sizeof(*m) + m->nr_vcpus * sizeof(*m->vcpus) +
		     m->sched.pl_cap + m->actions.pl_cap;

	for (unsigned i = 0; i < m->nr_vcpus; i++)
		n += m->vcpus[i].own.pl_cap + m->vcpus[i].ctl.pl_cap;
	return n;
}

/* --- the hash -------------------------------------------------------------- */

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	return h * 0xff51afd7ed558ccdull;
}

static uint64_t mix_cursor(uint64_t h, const struct stream_cursor *c)
{
	h = mix(h, c->pos);
	h = mix(h, c->chunk);
	h = mix(h, c->idx);
	h = mix(h, c->end);
	return c->end ? h : mix(h, c->ev.seq);
}

uint64_t replay_mark_hash(const struct replay *rp)
{
	uint64_t h = mix_cursor(mix_cursor(0, &rp->sched), &rp->actions);

	for (unsigned i = 0; i < rp->nr_vcpus; i++) {
		const struct replay_vcpu *vs = &rp->vcpus[i];

		h = mix_cursor(mix_cursor(h, &vs->own), &vs->ctl);
		h = mix(h, atomic_load(&vs->own_left));
		h = mix(h, atomic_load(&vs->ctl_left));
		h = mix(h, atomic_load(&vs->resumes_left));
		h = mix(h, atomic_load(&vs->at_end));
		for (int k = 0; k < 2; k++) {
			h = mix(h, vs->ctx[k].n);
			for (int j = 0; j < CONTEXT_EVENTS; j++)
				h = mix(h, vs->ctx[k].seq[j]);
		}
		h = mix(h, atomic_load(&vs->next_seq));
		h = mix(h, atomic_load(&vs->gap_ns));
	}
	h = mix(h, atomic_load(&rp->checked));
	h = mix(h, atomic_load(&rp->at_end));
	h = mix(h, atomic_load(&rp->next_action));
	h = mix(h, atomic_load(&rp->next_switch));
	h = mix(h, atomic_load(&rp->diverged));
	return mix(h, atomic_load(&rp->prefix_done));
}
