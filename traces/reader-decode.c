/* Trace reader, events: decoding them (the inverse of writer-encode.c, on
 * untrusted bytes: a malformed or overrunning event is an error naming its
 * frame's offset), one after the other across the frames.  The loop over
 * the events is here, with the decoder it calls for every event, so that
 * the compiler inlines it. */
#include <errno.h>

#include "traces/reader-internal.h"

static inline uint32_t get_u32(const uint8_t **pp, bool *bad)
{
	uint64_t v = get_varint(pp, bad);

	if (v > UINT32_MAX)
		*bad = true;
	return (uint32_t)v;
}

static int bad_event(struct trace_reader *r, const char *what)
{
	return rerr(r, -EBADMSG,
		    "corrupt data frame at offset %llu: event %llu of the "
		    "frame (seq %llu) %s",
		    (unsigned long long)r->frame.off,
		    (unsigned long long)r->frame_count,
		    (unsigned long long)r->next_seq, what);
}

static const uint8_t *decode_tpl(struct tf_state *s, const uint8_t *p,
				 uint8_t op, struct trace_event *ev, bool *bad)
{
	struct tf_slot *sl;
	struct tf_tpl *t;
	uint64_t dx = 1;

	if (op & OPT_VCPU)
		s->vcpu = get_u32(&p, bad);
	sl = tf_slot_of(s, s->vcpu);
	t = &sl->tpl[op & (TF_NTPL - 1)];
	s->time += (uint64_t)tf_unzz(get_varint(&p, bad));
	if (op & OPT_EXIT)
		dx = (uint64_t)tf_unzz(get_varint(&p, bad));
	if (op & OPT_A2)
		t->a2 += (uint64_t)tf_unzz(get_varint(&p, bad));
	ev->a2 = t->a2;
	if ((op & OPT_RESERVED) || t->type == TEV_NONE)
		*bad = true;
	sl->exit_seq += dx;
	sl->rip = t->rip;
	ev->type = t->type;
	ev->vcpu = s->vcpu;
	ev->time_ns = s->time;
	ev->exit_seq = sl->exit_seq;
	ev->rip = t->rip;
	ev->digest = t->digest;
	ev->a0 = t->a0;
	ev->a1 = t->a1;
	ev->a3 = t->a3;
	ev->payload_len = 0;
	return p;
}

static const uint8_t *decode_full(struct tf_state *s, const uint8_t *p,
				  uint8_t op, struct trace_event *ev,
				  bool *bad)
{
	struct tf_slot *sl;
	uint8_t fl;

	ev->type = op & TF_TYPE_ESC;
	if (ev->type == TF_TYPE_ESC)
		ev->type = get_u32(&p, bad);
	if (op & OPF_VCPU)
		s->vcpu = get_u32(&p, bad);
	sl = tf_slot_of(s, s->vcpu);
	s->time += (uint64_t)tf_unzz(get_varint(&p, bad));
	fl = *p++;
	ev->a0 = (fl & FL_A0) ? get_varint(&p, bad) : 0;
	ev->a1 = (fl & (FL_A0 << 1)) ? get_varint(&p, bad) : 0;
	ev->a2 = (fl & (FL_A0 << 2)) ? get_varint(&p, bad) : 0;
	ev->a3 = (fl & (FL_A0 << 3)) ? get_varint(&p, bad) : 0;
	if (fl & FL_RIP)
		sl->rip += (uint64_t)tf_unzz(get_varint(&p, bad));
	if (fl & FL_EXIT)
		sl->exit_seq += (uint64_t)tf_unzz(get_varint(&p, bad));
	ev->digest = 0;
	if (fl & FL_DIGEST) {
		ev->digest = tf_le64(p);
		p += 8;
	}
	ev->payload_len = (op & OPF_PAYLOAD) ? get_u32(&p, bad) : 0;
	if ((fl & FL_RESERVED) || ev->type == TEV_NONE ||
	    ((op & OPF_PAYLOAD) &&
	     (!ev->payload_len || ev->payload_len > TRACE_MAX_PAYLOAD)))
		*bad = true;
	ev->vcpu = s->vcpu;
	ev->time_ns = s->time;
	ev->rip = sl->rip;
	ev->exit_seq = sl->exit_seq;
	if (!ev->payload_len)
		tf_tpl_learn(sl, ev);
	return p;
}

/* 1: event decoded; 0: the frame was cut (truncated file); <0: corrupt. */
static int decode_event(struct trace_reader *r, struct trace_event *ev,
			const uint8_t **pl)
{
	const uint8_t *p = r->out + r->pos, *end = r->out + r->len;
	uint8_t op = *p++;
	bool bad = false;

	if (op & OP_FULL)
		p = decode_full(&r->st, p, op, ev, &bad);
	else
		p = decode_tpl(&r->st, p, op, ev, &bad);
	/* overrun first: a cut event reads padding zeros, which may look bad */
	if (__builtin_expect(p > end ||
			     ev->payload_len > (size_t)(end - p), 0)) {
		if (r->frame_done)
			return bad_event(r, "runs past the end of the frame");
		return 0;
	}
	if (__builtin_expect(bad, 0))
		return bad_event(r, "is malformed");
	*pl = p;
	ev->seq = r->next_seq++;
	r->pos = (size_t)(p - r->out) + ev->payload_len;
	r->frame_count++;
	return 1;
}

int reader_read_event(struct trace_reader *r, struct trace_event *ev,
		      const uint8_t **pl)
{
	int ret;

	if (r->err)
		return r->err;
	for (;;) {
		if (!r->in_frame) {
			ret = reader_next_frame(r);
			if (ret <= 0)
				return ret ? ret : reader_end_of_data(r);
		}
		if (r->len - r->pos < TF_MAX_EVENT && !r->frame_done &&
		    !r->in_eof) {
			ret = reader_refill(r);
			if (ret)
				return ret;
		}
		if (r->pos < r->len) {
			ret = decode_event(r, ev, pl);
			if (ret)
				return ret;
		} else if (r->frame_done) {
			reader_ridx_add(r);
			r->in_frame = false;
			continue;
		}
		/* the file ends inside this frame */
		if (r->has_end)
			return rerr(r, -EBADMSG, "data frame at offset %llu "
				    "runs into the index at offset %llu",
				    (unsigned long long)r->frame.off,
				    (unsigned long long)r->data_end);
		r->trunc_reason = "last frame cut short";
		return reader_end_of_data(r);
	}
}

int trace_reader_next(struct trace_reader *r, struct trace_event *ev,
		      const uint8_t **payload)
{
	const uint8_t *pl = NULL;
	int ret;

	if (r->peeked) {
		r->peeked = false;
		*ev = r->pev;
		pl = r->ppay;
		ret = 1;
	} else {
		ret = reader_read_event(r, ev, &pl);
	}
	if (ret == 1) {
		r->nread++;
		if (payload)
			*payload = pl;
	}
	return ret;
}
