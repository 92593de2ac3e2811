/* Trace writer, event encoder: an event becomes a reference to one of its
 * VCPU's recent templates plus what differs, or a full event whose fields
 * are deltas against the VCPU's last rip and exit count, all in varints
 * (format.h), appended to the frame being built (writer-output.c
 * compresses and writes it).  writer_write_event is here, with the
 * encoder it calls for every event, so that the compiler inlines it. */
#include <string.h>

#include "traces/writer-internal.h"

static uint8_t *encode_tpl(struct tf_slot *sl, uint8_t *p,
			   const struct trace_event *ev, int hit, bool vchg,
			   int64_t dt)
{
	uint64_t dx = ev->exit_seq - sl->exit_seq;
	bool a2 = sl->tpl[hit].a2 != ev->a2;

	*p++ = (uint8_t)hit | (vchg ? OPT_VCPU : 0) | (dx != 1 ? OPT_EXIT : 0) |
	       (a2 ? OPT_A2 : 0);
	if (vchg)
		p = tf_put_varint(p, ev->vcpu);
	p = tf_put_varint(p, tf_zz(dt));
	if (dx != 1)
		p = tf_put_varint(p, tf_zz((int64_t)dx));
	if (a2) {
		/* A delta against the template, which then follows: a counter
		 * or address that moves by a little costs one byte. */
		p = tf_put_varint(p, tf_zz((int64_t)(ev->a2 - sl->tpl[hit].a2)));
		sl->tpl[hit].a2 = ev->a2;
	}
	sl->exit_seq = ev->exit_seq;
	sl->rip = ev->rip;
	return p;
}

static uint8_t *encode_full(struct tf_slot *sl, uint8_t *p,
			    const struct trace_event *ev, const void *payload,
			    bool vchg, int64_t dt)
{
	uint8_t flags = 0;

	*p++ = OP_FULL | (ev->type < TF_TYPE_ESC ? ev->type : TF_TYPE_ESC) |
	       (vchg ? OPF_VCPU : 0) | (ev->payload_len ? OPF_PAYLOAD : 0);
	if (ev->type >= TF_TYPE_ESC)
		p = tf_put_varint(p, ev->type);
	if (vchg)
		p = tf_put_varint(p, ev->vcpu);
	p = tf_put_varint(p, tf_zz(dt));
	flags |= ev->a0 ? FL_A0 : 0;
	flags |= ev->a1 ? FL_A0 << 1 : 0;
	flags |= ev->a2 ? FL_A0 << 2 : 0;
	flags |= ev->a3 ? FL_A0 << 3 : 0;
	flags |= ev->rip != sl->rip ? FL_RIP : 0;
	flags |= ev->exit_seq != sl->exit_seq ? FL_EXIT : 0;
	flags |= ev->digest ? FL_DIGEST : 0;
	*p++ = flags;
	if (ev->a0)
		p = tf_put_varint(p, ev->a0);
	if (ev->a1)
		p = tf_put_varint(p, ev->a1);
	if (ev->a2)
		p = tf_put_varint(p, ev->a2);
	if (ev->a3)
		p = tf_put_varint(p, ev->a3);
	if (flags & FL_RIP)
		p = tf_put_varint(p, tf_zz((int64_t)(ev->rip - sl->rip)));
	if (flags & FL_EXIT)
		p = tf_put_varint(p, tf_zz((int64_t)(ev->exit_seq - sl->exit_seq)));
	if (flags & FL_DIGEST) {
		tf_put_le64(p, ev->digest);
		p += 8;
	}
	if (ev->payload_len) {
		p = tf_put_varint(p, ev->payload_len);
		memcpy(p, payload, ev->payload_len);
		p += ev->payload_len;
	}
	sl->rip = ev->rip;
	sl->exit_seq = ev->exit_seq;
	if (!ev->payload_len)
		tf_tpl_learn(sl, ev);
	return p;
}

static int tpl_find(const struct tf_slot *sl, const struct trace_event *ev)
{
	int hit = -1;

	for (int i = 0; i < TF_NTPL; i++) {
		const struct tf_tpl *t = &sl->tpl[i];

		if (t->type != ev->type || t->rip != ev->rip ||
		    t->a0 != ev->a0 || t->a1 != ev->a1 || t->a3 != ev->a3 ||
		    t->digest != ev->digest)
			continue;
		hit = i;
		if (t->a2 == ev->a2)
			break;
	}
	return hit;
}

static uint8_t *encode_event(struct tf_state *s, uint8_t *p,
			     const struct trace_event *ev, const void *payload)
{
	struct tf_slot *sl = tf_slot_of(s, ev->vcpu);
	int64_t dt = (int64_t)(ev->time_ns - s->time);
	bool vchg = ev->vcpu != s->vcpu;
	int hit = -1;

	s->time = ev->time_ns;
	s->vcpu = ev->vcpu;
	if (!ev->payload_len)
		hit = tpl_find(sl, ev);
	if (hit >= 0)
		return encode_tpl(sl, p, ev, hit, vchg, dt);
	return encode_full(sl, p, ev, payload, vchg, dt);
}

void writer_write_event(struct trace_writer *w, const struct trace_event *ev,
			const void *payload)
{
	w->next++;
	if (atomic_load_explicit(&w->failed, memory_order_relaxed)) {
		atomic_fetch_add_explicit(&w->st_discarded, 1,
					  memory_order_relaxed);
		return;
	}
	if (!w->in_frame)
		writer_begin_frame(w, ev);
	if (w->enc_len + TF_MAX_EVENT > ENC_CAP)
		writer_compress(w, ZSTD_e_continue);
	w->enc_len = (size_t)(encode_event(&w->st, w->enc + w->enc_len, ev,
					   payload) - w->enc);
	w->frame_count++;
	atomic_fetch_add_explicit(&w->st_events, 1, memory_order_relaxed);
	if (ev->type == TEV_LOST)
		atomic_fetch_add_explicit(&w->st_dropped, ev->a0,
					  memory_order_relaxed);
	if (w->frame_count >= w->o.frame_events)
		writer_end_frame(w);
}

