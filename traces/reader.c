/* Trace reader.  The file is untrusted: every length, count and offset is
 * checked before use, decompression is streaming with a capped window, and
 * memory is a fixed few MB plus a capped rebuilt index, whatever the file.
 *
 * Decoded bytes live in out[] followed by OUT_PAD zero bytes, so an event
 * header can be decoded without per-byte bounds checks: overrunning the
 * valid data reads zeros, and one "p > end" test per event catches it.  As
 * long as a frame is not fully decoded, out[] holds at least TF_MAX_EVENT
 * bytes, so a short read there only happens at the frame's real end. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "traces/format.h"
#include "traces/trace.h"

#define HDR_MAX      (TF_HDR_MAX_FRAME - 8)
#define IN_CAP       (128u << 10)
#define MEM_CHUNK    (1u << 20)
#define OUT_CAP      (256u << 10)
#define OUT_PAD      256u
#define RIDX_MAX     (1u << 18)  /* rebuilt index entries kept (8 MB) */

struct frame_ref {
	uint64_t off, first_seq, first_time;
};

struct trace_reader {
	const uint8_t *mem;
	int fd;
	uint64_t size;
	struct trace_header hdr;

	uint64_t data_start, data_end;
	bool has_end;
	uint64_t end_events, idx_off, idx_count;
	const char *trunc_reason;

	ZSTD_DCtx *dctx;
	uint8_t *inbuf;
	uint64_t buf_off;           /* file bytes [buf_off, +buf_len) are in */
	size_t buf_len;             /* inbuf (file mode) */
	ZSTD_inBuffer zin;
	uint64_t zin_off;           /* file offset of zin.src[0] */
	bool in_eof;

	uint64_t next_off;          /* next frame to open */
	bool in_frame, frame_done;
	struct frame_ref frame;
	uint64_t frame_count;

	uint8_t *out;
	size_t pos, len;
	struct tf_state st;
	uint64_t next_seq;

	bool peeked;
	struct trace_event pev;
	const uint8_t *ppay;

	struct frame_ref *ridx;     /* frames seen, when there is no index */
	size_t nridx, ridx_cap;
	uint64_t frames_done;       /* data frames read to their end ... */
	bool seeked;                /* ... all of them, unless this is set */

	uint64_t nread;
	int err;
	char errmsg[320];
	char truncmsg[160];
};

static int rerr(struct trace_reader *r, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int rerr(struct trace_reader *r, int err, const char *fmt, ...)
{
	va_list ap;

	if (r->err)
		return r->err;
	va_start(ap, fmt);
	vsnprintf(r->errmsg, sizeof(r->errmsg), fmt, ap);
	va_end(ap);
	r->err = err;
	return err;
}

/* ------------------------------------------------------------ input */

/* Up to @len bytes at @off (fewer at EOF); negative errno on I/O error. */
static ssize_t src_read(struct trace_reader *r, uint64_t off, void *buf,
			size_t len)
{
	size_t got = 0;

	if (off >= r->size)
		return 0;
	if (len > r->size - off)
		len = (size_t)(r->size - off);
	if (r->mem) {
		memcpy(buf, r->mem + off, len);
		return (ssize_t)len;
	}
	while (got < len) {
		ssize_t n = pread(r->fd, (uint8_t *)buf + got, len - got,
				  (off_t)(off + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return rerr(r, -errno, "read error at offset %llu: %s",
				    (unsigned long long)(off + got),
				    strerror(errno));
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* Next chunk of the current data frame; 0 at the end of the data. */
static int feed_input(struct trace_reader *r)
{
	uint64_t off = r->zin_off + r->zin.size;
	size_t n;
	ssize_t got;

	if (off >= r->data_end)
		return 0;
	n = (size_t)(r->data_end - off < MEM_CHUNK ? r->data_end - off
						   : MEM_CHUNK);
	if (r->mem) {
		r->zin.src = r->mem + off;
	} else {
		if (n > IN_CAP)
			n = IN_CAP;
		r->buf_len = 0;
		got = src_read(r, off, r->inbuf, n);
		if (got <= 0)
			return (int)got;
		n = (size_t)got;
		r->buf_off = off;
		r->buf_len = n;
		r->zin.src = r->inbuf;
	}
	r->zin_off = off;
	r->zin.size = n;
	r->zin.pos = 0;
	return 1;
}

/* Points zin at what inbuf already holds from @off on: small frames
 * follow each other in one read, instead of a read of IN_CAP each. */
static void reuse_input(struct trace_reader *r, uint64_t off)
{
	if (r->mem || off < r->buf_off || off - r->buf_off >= r->buf_len)
		return;
	r->zin.src = r->inbuf + (off - r->buf_off);
	r->zin.size = r->buf_len - (size_t)(off - r->buf_off);
}

/* Up to @len bytes at @off, from inbuf when it holds them. */
static ssize_t peek(struct trace_reader *r, uint64_t off, void *buf,
		    size_t len)
{
	if (!r->mem && off >= r->buf_off && off - r->buf_off < r->buf_len &&
	    len <= r->buf_len - (off - r->buf_off)) {
		memcpy(buf, r->inbuf + (off - r->buf_off), len);
		return (ssize_t)len;
	}
	return src_read(r, off, buf, len);
}

/* Moves undecoded bytes to the front and decompresses more after them. */
static int refill(struct trace_reader *r)
{
	memmove(r->out, r->out + r->pos, r->len - r->pos);
	r->len -= r->pos;
	r->pos = 0;
	while (r->len < OUT_CAP && !r->frame_done) {
		ZSTD_outBuffer o = { r->out, OUT_CAP, r->len };
		size_t ret;

		if (r->zin.pos == r->zin.size) {
			int f = feed_input(r);

			if (f < 0)
				return f;
			if (!f) {
				r->in_eof = true;
				break;
			}
		}
		ret = ZSTD_decompressStream(r->dctx, &o, &r->zin);
		r->len = o.pos;
		if (ZSTD_isError(ret))
			return rerr(r, -EBADMSG,
				    "corrupt data frame at offset %llu "
				    "(error near offset %llu): %s",
				    (unsigned long long)r->frame.off,
				    (unsigned long long)(r->zin_off + r->zin.pos),
				    ZSTD_getErrorName(ret));
		if (!ret) {
			r->frame_done = true;
			r->next_off = r->zin_off + r->zin.pos;
		}
	}
	memset(r->out + r->len, 0, OUT_PAD);
	return 0;
}

/* ------------------------------------------------------------ decoding */

static inline uint64_t get_varint(const uint8_t **pp, bool *bad)
{
	const uint8_t *p = *pp;
	uint64_t v = p[0];

	if (__builtin_expect(v < 0x80, 1)) {
		*pp = p + 1;
		return v;
	}
	v &= 0x7f;
	for (int i = 1; i < 10; i++) {
		uint64_t b = p[i];

		v |= (b & 0x7f) << (7 * i);
		if (b < 0x80) {
			*pp = p + i + 1;
			return v;
		}
	}
	*bad = true;
	*pp = p + 10;
	return 0;
}

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

/* ------------------------------------------------------------ frames */

/* Seeking goes by the file's index, else by the frames seen so far. */
static bool use_index(const struct trace_reader *r)
{
	return r->has_end && r->idx_count;
}

static void ridx_add(struct trace_reader *r)
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
	reuse_input(r, off);
	r->in_eof = false;
	r->frame_done = false;
	r->in_frame = true;
	r->pos = r->len = 0;
	r->frame_count = 0;
	r->frame.off = off;
	ret = refill(r);
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

/* Opens the next data frame: 1, or 0 at the end of data, or <0. */
static int next_frame(struct trace_reader *r)
{
	for (;;) {
		uint64_t off = r->next_off;
		uint8_t b[8];
		uint32_t magic, size;
		ssize_t n;
		int ret;

		if (off >= r->data_end)
			return 0;
		n = peek(r, off, b, (size_t)(r->data_end - off < 8 ?
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

static int end_of_data(struct trace_reader *r)
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

static int read_event(struct trace_reader *r, struct trace_event *ev,
		      const uint8_t **pl)
{
	int ret;

	if (r->err)
		return r->err;
	for (;;) {
		if (!r->in_frame) {
			ret = next_frame(r);
			if (ret <= 0)
				return ret ? ret : end_of_data(r);
		}
		if (r->len - r->pos < TF_MAX_EVENT && !r->frame_done &&
		    !r->in_eof) {
			ret = refill(r);
			if (ret)
				return ret;
		}
		if (r->pos < r->len) {
			ret = decode_event(r, ev, pl);
			if (ret)
				return ret;
		} else if (r->frame_done) {
			ridx_add(r);
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
		return end_of_data(r);
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
		ret = read_event(r, ev, &pl);
	}
	if (ret == 1) {
		r->nread++;
		if (payload)
			*payload = pl;
	}
	return ret;
}

/* ------------------------------------------------------------ seeking */

static int index_entry(struct trace_reader *r, uint64_t i,
		       struct frame_ref *f)
{
	uint64_t off = r->idx_off + 8 + TF_IDX_HDR_BYTES + i * TF_IDX_ENT_BYTES;
	uint8_t b[TF_IDX_ENT_BYTES];
	ssize_t n = src_read(r, off, b, sizeof(b));

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
		ret = read_event(r, &ev, &pl);
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

/* ------------------------------------------------------------ open */

static int read_header(struct trace_reader *r, char *err, size_t errlen)
{
	uint8_t b[8], *c;
	uint32_t magic, len;
	ssize_t n = src_read(r, 0, b, 8);
	int ret;

	if (n < 8) {
		snprintf(err, errlen, "not a vcprr trace: %llu bytes, too short "
			 "for a trace header (offset 0)",
			 (unsigned long long)r->size);
		return n < 0 ? (int)n : -EBADMSG;
	}
	magic = tf_le32(b);
	len = tf_le32(b + 4);
	if (magic != TF_SKIP_HEADER)
		return tf_fail(err, errlen, "not a vcprr trace: bad magic "
				 "0x%08x at offset 0 (expected 0x%08x)", magic,
				 TF_SKIP_HEADER);
	if (len > HDR_MAX)
		return tf_fail(err, errlen, "trace header length %u at offset "
				 "4 exceeds the limit of %u", len, HDR_MAX);
	if (8 + (uint64_t)len > r->size)
		return tf_fail(err, errlen, "trace header truncated: its length "
				 "(offset 4) needs %llu bytes, the file has %llu",
				 8 + (unsigned long long)len,
				 (unsigned long long)r->size);
	c = malloc(len ? len : 1);
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	n = src_read(r, 8, c, len);
	ret = n == (ssize_t)len ? tf_header_decode(c, len, &r->hdr, err, errlen)
				: (n < 0 ? (int)n : -EIO);
	if (ret == -EIO)
		snprintf(err, errlen, "short read of the trace header");
	free(c);
	r->data_start = 8 + (uint64_t)len;
	return ret;
}

static ssize_t read_at(void *arg, uint64_t off, void *buf, size_t len)
{
	return src_read(arg, off, buf, len);
}

/* The end marker and index (frames.c); on any doubt without one, the
 * trace is truncated and seeking uses the frames seen while reading. */
static int read_tail(struct trace_reader *r, char *err, size_t errlen)
{
	struct tf_file f = { read_at, r, r->size, r->data_start };
	struct tf_tail t;
	int ret = tf_tail_check(&f, &t, err, errlen);

	r->has_end = t.has_end;
	r->end_events = t.end_events;
	r->idx_off = t.idx_off;
	r->idx_count = t.idx_count;
	r->trunc_reason = t.trunc_reason;
	r->data_end = t.has_end ? t.idx_off : r->size;
	return ret;
}

static struct trace_reader *reader_new(void)
{
	struct trace_reader *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->fd = -1;
	r->dctx = ZSTD_createDCtx();
	r->out = malloc(OUT_CAP + OUT_PAD);
	if (!r->dctx || !r->out ||
	    ZSTD_isError(ZSTD_DCtx_setParameter(r->dctx,
			ZSTD_d_windowLogMax, TF_WINDOW_LOG_MAX))) {
		trace_reader_close(r);
		return NULL;
	}
	return r;
}

static struct trace_reader *reader_init(struct trace_reader *r, char *err,
					size_t errlen)
{
	char dummy[8];

	if (!err || !errlen) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	if (read_header(r, err, errlen) || read_tail(r, err, errlen)) {
		trace_reader_close(r);
		return NULL;
	}
	r->next_off = r->data_start;
	return r;
}

struct trace_reader *trace_reader_open(const char *path, char *err,
				       size_t errlen)
{
	struct trace_reader *r = reader_new();
	struct stat st;

	if (!r) {
		if (err && errlen)
			snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->inbuf = malloc(IN_CAP);
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0 || fstat(r->fd, &st) || !r->inbuf) {
		if (err && errlen)
			snprintf(err, errlen, "cannot open %s: %s", path,
				 r->inbuf ? strerror(errno) : "out of memory");
		trace_reader_close(r);
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		if (err && errlen)
			snprintf(err, errlen, "cannot read %s: not a regular "
				 "file", path);
		trace_reader_close(r);
		return NULL;
	}
	r->size = (uint64_t)st.st_size;
	return reader_init(r, err, errlen);
}

struct trace_reader *trace_reader_open_mem(const void *buf, size_t len,
					   char *err, size_t errlen)
{
	static const uint8_t empty[1];
	struct trace_reader *r = reader_new();

	if (!r) {
		if (err && errlen)
			snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->mem = buf ? buf : empty;
	r->size = buf ? len : 0;
	return reader_init(r, err, errlen);
}

void trace_reader_close(struct trace_reader *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	ZSTD_freeDCtx(r->dctx);
	free(r->inbuf);
	free(r->out);
	free(r->ridx);
	free(r);
}

const struct trace_header *trace_reader_header(const struct trace_reader *r)
{
	return &r->hdr;
}

bool trace_reader_truncated(const struct trace_reader *r)
{
	return !r->has_end;
}

uint64_t trace_reader_events_read(const struct trace_reader *r)
{
	return r->nread;
}

uint64_t trace_reader_nr_events(const struct trace_reader *r)
{
	return r->has_end ? r->end_events : UINT64_MAX;
}

const char *trace_reader_truncation(const struct trace_reader *r)
{
	return r->truncmsg[0] ? r->truncmsg : NULL;
}

const char *trace_reader_error(const struct trace_reader *r)
{
	return r->err ? r->errmsg : NULL;
}
