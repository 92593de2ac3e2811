/* Internal: what the trace reader's files share (reader.c opening and the
 * API, reader-input.c reading and decompressing, reader-decode.c events,
 * reader-frames.c opening and checking frames, reader-seek.c seeking).
 * Not part of the public API.
 *
 * Decoded bytes live in out[] followed by OUT_PAD zero bytes, so an event
 * header can be decoded without per-byte bounds checks: overrunning the
 * valid data reads zeros, and one "p > end" test per event catches it.  As
 * long as a frame is not fully decoded, out[] holds at least TF_MAX_EVENT
 * bytes, so a short read there only happens at the frame's real end. */
#ifndef VCPRR_TRACES_READER_INTERNAL_H
#define VCPRR_TRACES_READER_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <zstd.h>

#include "traces/format.h"
#include "traces/trace.h"

#define IN_CAP       (128u << 10)
#define OUT_CAP      (256u << 10)
#define OUT_PAD      256u

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

/* Seeking goes by the file's index, else by the frames seen so far. */
static inline bool use_index(const struct trace_reader *r)
{
	return r->has_end && r->idx_count;
}

/* A varint at *pp, which moves past it; *bad when it runs over 10 bytes.
 * Reads past the valid data into out[]'s padding, see above. */
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

/* Records the first error (a message and a negative errno) and returns
 * it: the reader fails from then on. */
static inline int rerr(struct trace_reader *r, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static inline int rerr(struct trace_reader *r, int err, const char *fmt, ...)
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

/* --- reader-input.c */

/* Up to @len bytes at @off (fewer at EOF); negative errno on I/O error. */
ssize_t reader_src_read(struct trace_reader *r, uint64_t off, void *buf,
			size_t len);
/* Up to @len bytes at @off, from inbuf when it holds them. */
ssize_t reader_peek(struct trace_reader *r, uint64_t off, void *buf,
		    size_t len);
/* Points zin at what inbuf already holds from @off on. */
void reader_reuse_input(struct trace_reader *r, uint64_t off);
/* Moves undecoded bytes to the front of out[] and decompresses more of
 * the current frame after them.  0 or a negative errno. */
int reader_refill(struct trace_reader *r);

/* --- reader-decode.c */

/* The next event, opening frames as needed.  1, 0 at the end of the
 * trace, or a negative errno. */
int reader_read_event(struct trace_reader *r, struct trace_event *ev,
		      const uint8_t **pl);

/* --- reader-frames.c */

/* Opens the next data frame: 1, or 0 at the end of data, or <0. */
int reader_next_frame(struct trace_reader *r);
/* Counts the frame just read to its end; keeps it for seeking when the
 * file has no index. */
void reader_ridx_add(struct trace_reader *r);
/* At the end of the data: checks the totals against the index and the
 * end marker, or says why the trace reads as truncated.  0 or <0. */
int reader_end_of_data(struct trace_reader *r);

#endif
