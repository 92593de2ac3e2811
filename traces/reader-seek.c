/* Trace reader, seeking: to the last frame starting at or before the
 * target (by the file's seek index, else by the frames seen so far), then
 * forward event by event. */
#include <errno.h>

#include "traces/reader-internal.h"

static int index_entry(struct trace_reader *r, uint64_t i,
		       struct frame_ref *f)
{
	uint64_t off = r->idx_off + 8 + TF_IDX_HDR_BYTES + i * TF_IDX_ENT_BYTES;
	uint8_t b[TF_IDX_ENT_BYTES];
	ssize_t n = reader_src_read(r, off, b, sizeof(b));

	if (n < 0)
		return (int)n;
	f->off = tf_le64(b);
	f->first_seq = tf_le64(b + 8);
	f->first_time = tf_le64(b + 16);
	if (n != sizeof(b) || f->off < r->data_start ||
	    f->off >= r->data_end || !tf_le32(b + 24))
		return rerr(r, -EBADMSG, "seek index entry %llu at offset "
			    "%llu is invalid", (unsigned long long)i,
			    (unsigned long long)off);
	return 0;
}

static bool before(const struct frame_ref *f, bool by_time, uint64_t key)
{
	return by_time ? f->first_time < key : f->first_seq <= key;
}

/* The last frame starting at or before the target (by the disk index or by
 * the frames seen so far), else the first frame. */
static int find_frame(struct trace_reader *r, bool by_time, uint64_t key,
		      struct frame_ref *best)
{
	uint64_t lo = 0, hi;
	struct frame_ref f;
	int ret;

	best->off = r->data_start;
	best->first_seq = 0;
	if (!use_index(r)) {
		for (hi = r->nridx; lo < hi;) {
			uint64_t mid = lo + (hi - lo) / 2;

			if (before(&r->ridx[mid], by_time, key))
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo)
			*best = r->ridx[lo - 1];
		return 0;
	}
	for (hi = r->idx_count; lo < hi;) {
		uint64_t mid = lo + (hi - lo) / 2;

		ret = index_entry(r, mid, &f);
		if (ret)
			return ret;
		if (before(&f, by_time, key)) {
			*best = f;
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return 0;
}

static int seek(struct trace_reader *r, bool by_time, uint64_t key)
{
	struct frame_ref f;
	struct trace_event ev;
	const uint8_t *pl;
	int ret;

	if (r->err)
		return r->err;
	ret = find_frame(r, by_time, key, &f);
	if (ret)
		return ret;
	r->seeked = true;
	r->peeked = false;
	r->in_frame = false;
	r->next_off = f.off;
	r->next_seq = f.first_seq;
	for (;;) {
		ret = reader_read_event(r, &ev, &pl);
		if (ret <= 0)
			return ret;
		if (by_time ? ev.time_ns >= key : ev.seq >= key)
			break;
	}
	r->pev = ev;
	r->ppay = pl;
	r->peeked = true;
	return 1;
}

int trace_reader_seek_seq(struct trace_reader *r, uint64_t seq)
{
	return seek(r, false, seq);
}

int trace_reader_seek_time(struct trace_reader *r, uint64_t time_ns)
{
	return seek(r, true, time_ns);
}
