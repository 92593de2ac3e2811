/* Trace reader, frames: opens the data frames in order, checks each
 * prologue, skips unknown skippable frames, tells a cut tail from
 * misplaced frames, and checks the totals against the index and the end
 * marker at the end of the data. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "traces/reader-internal.h"

#define RIDX_MAX     (1u << 18)  /* rebuilt index entries kept (8 MB) */

void reader_ridx_add(struct trace_reader *r)
{
	struct frame_ref *n;

	r->frames_done++;
	if (use_index(r) || r->nridx >= RIDX_MAX)
		return;
	if (r->nridx && r->ridx[r->nridx - 1].off >= r->frame.off)
		return;
	if (r->nridx == r->ridx_cap) {
		size_t cap = r->ridx_cap ? 2 * r->ridx_cap : 64;

		n = realloc(r->ridx, cap * sizeof(*n));
		if (!n)
			return; /* seeking just scans further */
		r->ridx = n;
		r->ridx_cap = cap;
	}
	r->ridx[r->nridx++] = r->frame;
}

/* 1: prologue read; 0: cut by the end of the file; <0: corrupt. */
static int start_data_frame(struct trace_reader *r, uint64_t off)
{
	const uint8_t *p;
	uint64_t seq, time;
	bool bad = false;
	int ret;

	ZSTD_DCtx_reset(r->dctx, ZSTD_reset_session_only);
	r->zin.src = NULL;
	r->zin.size = r->zin.pos = 0;
	r->zin_off = off;
	reader_reuse_input(r, off);
	r->in_eof = false;
	r->frame_done = false;
	r->in_frame = true;
	r->pos = r->len = 0;
	r->frame_count = 0;
	r->frame.off = off;
	ret = reader_refill(r);
	if (ret)
		return ret;
	if (!r->len && !r->frame_done)
		return 0;
	p = r->out;
	if (*p++ != TF_FRAME_KIND)
		return rerr(r, -EBADMSG, "data frame at offset %llu: unknown "
			    "content kind %u", (unsigned long long)off,
			    r->out[0]);
	seq = get_varint(&p, &bad);
	time = get_varint(&p, &bad);
	if (bad || p > r->out + r->len) {
		if (!bad && !r->frame_done)
			return 0;
		return rerr(r, -EBADMSG, "data frame at offset %llu: bad "
			    "prologue", (unsigned long long)off);
	}
	if (seq != r->next_seq)
		return rerr(r, -EBADMSG, "data frame at offset %llu starts at "
			    "seq %llu, expected %llu", (unsigned long long)off,
			    (unsigned long long)seq,
			    (unsigned long long)r->next_seq);
	r->frame.first_seq = seq;
	r->frame.first_time = time;
	tf_state_reset(&r->st, time);
	r->pos = (size_t)(p - r->out);
	return 1;
}

static int cut(struct trace_reader *r, const char *why)
{
	if (r->has_end)
		return rerr(r, -EBADMSG, "%s (offset %llu)", why,
			    (unsigned long long)r->next_off);
	return 0;
}

/* A seek index or end marker where data frames go, in a trace without a
 * valid end marker: a recorder killed while writing its tail, when no
 * more than (a cut) end marker follows; an end marker that is all there
 * but did not check out, when exactly one does; else moved frames. */
static int tail_frame(struct trace_reader *r, uint64_t off, uint32_t magic,
		      uint32_t size)
{
	uint64_t room = TF_END_FRAME, left = r->size - off;

	if (magic == TF_SKIP_INDEX)
		room += 8 + (uint64_t)size;
	if (left > room)
		return rerr(r, -EBADMSG, "%s frame at offset %llu is followed "
			    "by %llu more bytes of frames: the trace's frames "
			    "are misplaced", magic == TF_SKIP_INDEX ?
			    "seek index" : "end marker",
			    (unsigned long long)off,
			    (unsigned long long)(left - room));
	if (left == room)
		return rerr(r, -EBADMSG, "the end marker at offset %llu is "
			    "damaged", (unsigned long long)(r->size -
							     TF_END_FRAME));
	r->trunc_reason = "end marker missing or cut";
	return 0;
}

int reader_next_frame(struct trace_reader *r)
{
	for (;;) {
		uint64_t off = r->next_off;
		uint8_t b[8];
		uint32_t magic, size;
		ssize_t n;
		int ret;

		if (off >= r->data_end)
			return 0;
		n = reader_peek(r, off, b, (size_t)(r->data_end - off < 8 ?
						    r->data_end - off : 8));
		if (n < 0)
			return (int)n;
		if (n < 4)
			return cut(r, "stray bytes after the last frame");
		magic = tf_le32(b);
		if (magic == TF_ZSTD_MAGIC)
			return start_data_frame(r, off);
		if ((magic & TF_SKIP_MASK) != TF_SKIP_HEADER)
			return rerr(r, -EBADMSG, "bad frame magic 0x%08x at "
				    "offset %llu", magic,
				    (unsigned long long)off);
		if (n < 8)
			return cut(r, "cut skippable frame header");
		if (magic == TF_SKIP_INDEX || magic == TF_SKIP_END) {
			ret = tail_frame(r, off, magic, tf_le32(b + 4));
			if (ret)
				return ret;
			return cut(r, "index frame inside the data");
		}
		if (magic == TF_SKIP_HEADER)
			return rerr(r, -EBADMSG, "second header frame at offset "
				    "%llu", (unsigned long long)off);
		size = tf_le32(b + 4);
		if (size > r->data_end - off - 8)
			return cut(r, "skippable frame runs past the data");
		r->next_off = off + 8 + size;
	}
}

int reader_end_of_data(struct trace_reader *r)
{
	if (use_index(r) && !r->seeked && r->frames_done != r->idx_count)
		return rerr(r, -EBADMSG, "trace holds %llu data frames but its "
			    "seek index at offset %llu lists %llu",
			    (unsigned long long)r->frames_done,
			    (unsigned long long)r->idx_off,
			    (unsigned long long)r->idx_count);
	if (r->has_end && r->next_seq != r->end_events)
		return rerr(r, -EBADMSG, "trace holds %llu events but its end "
			    "marker at offset %llu says %llu",
			    (unsigned long long)r->next_seq,
			    (unsigned long long)(r->size - TF_END_FRAME),
			    (unsigned long long)r->end_events);
	if (!r->has_end)
		snprintf(r->truncmsg, sizeof(r->truncmsg),
			 "truncated after %llu events (%s)",
			 (unsigned long long)r->next_seq, r->trunc_reason);
	return 0;
}
