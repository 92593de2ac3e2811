/* Trace writer, output: encoded events into zstd frames, frames into the
 * file, on the writer thread (and at open, the header).  A failed write
 * or the size limit ends the file on its last completed frame. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "traces/clock.h"
#include "traces/writer-internal.h"

/* Records the first failure (message in errmsg already) and ends the file
 * on the last completed frame: a clean truncated trace. */
static void fail_with(struct trace_writer *w, int err)
{
	if (ftruncate(w->fd, (off_t)w->good_off) == 0)
		w->file_off = w->good_off;
	atomic_store_explicit(&w->failed, -err, memory_order_release);
	pthread_mutex_lock(&w->lock);
	pthread_cond_broadcast(&w->flushed_cv);
	pthread_mutex_unlock(&w->lock);
}

void writer_fail(struct trace_writer *w, int err, uint64_t off,
		 const char *what)
{
	if (atomic_load(&w->failed))
		return;
	snprintf(w->errmsg, sizeof(w->errmsg),
		 "%s %s failed at offset %llu: %s", what, w->path,
		 (unsigned long long)off, strerror(err));
	fail_with(w, err);
}

/* The size limit (opts.max_bytes) counts like a full disk: the trace keeps
 * every frame completed before it. */
static bool over_limit(struct trace_writer *w, size_t len)
{
	if (!w->o.max_bytes || w->file_off + len <= w->o.max_bytes)
		return false;
	if (!atomic_load(&w->failed)) {
		snprintf(w->errmsg, sizeof(w->errmsg),
			 "%s reached its size limit of %llu bytes", w->path,
			 (unsigned long long)w->o.max_bytes);
		fail_with(w, EFBIG);
	}
	return true;
}

void writer_out_write(struct trace_writer *w, const void *buf, size_t len)
{
	const uint8_t *b = buf;

	if (atomic_load_explicit(&w->failed, memory_order_relaxed) ||
	    over_limit(w, len))
		return;
	while (len) {
		ssize_t n = write(w->fd, b, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			writer_fail(w, n < 0 ? errno : EIO, w->file_off,
				    "write to");
			return;
		}
		b += n;
		len -= (size_t)n;
		w->file_off += (uint64_t)n;
	}
	atomic_store_explicit(&w->st_bytes, w->file_off, memory_order_relaxed);
}

void writer_compress(struct trace_writer *w, ZSTD_EndDirective mode)
{
	ZSTD_inBuffer in = { w->enc, w->enc_len, 0 };
	size_t rem;

	do {
		ZSTD_outBuffer out = { w->zout + w->zout_len,
				       w->zout_cap - w->zout_len, 0 };

		rem = ZSTD_compressStream2(w->cctx, &out, &in, mode);
		w->zout_len += out.pos;
		if (ZSTD_isError(rem)) {
			writer_fail(w, EIO, w->file_off,
				    "zstd compression for");
			break;
		}
		if (w->zout_len == w->zout_cap ||
		    (mode == ZSTD_e_end && !rem)) {
			writer_out_write(w, w->zout, w->zout_len);
			w->zout_len = 0;
		}
	} while (mode == ZSTD_e_end ? rem != 0 : in.pos < in.size);
	w->enc_len = 0;
}

void writer_begin_frame(struct trace_writer *w, const struct trace_event *ev)
{
	uint8_t *p = w->enc;

	w->frame_off = w->file_off + w->zout_len;
	w->frame_seq = ev->seq;
	w->frame_time = ev->time_ns;
	w->frame_count = 0;
	w->frame_mono = mono_ns();
	tf_state_reset(&w->st, ev->time_ns);
	*p++ = TF_FRAME_KIND;
	p = tf_put_varint(p, ev->seq);
	p = tf_put_varint(p, ev->time_ns);
	w->enc_len = (size_t)(p - w->enc);
	w->in_frame = true;
}

void writer_end_frame(struct trace_writer *w)
{
	struct tf_index_entry *e;

	if (!w->in_frame)
		return;
	w->in_frame = false;
	writer_compress(w, ZSTD_e_end);
	if (atomic_load_explicit(&w->failed, memory_order_relaxed))
		return;
	w->good_off = w->file_off;
	atomic_fetch_add_explicit(&w->st_frames, 1, memory_order_relaxed);
	if (w->nidx == w->idx_cap) {
		size_t cap = w->idx_cap ? 2 * w->idx_cap : 256;
		void *n = realloc(w->idx, cap * sizeof(*w->idx));

		if (!n) {
			w->idx_lost = true;  /* the reader scans instead */
			return;
		}
		w->idx = n;
		w->idx_cap = cap;
	}
	e = &w->idx[w->nidx++];
	e->off = w->frame_off;
	e->first_seq = w->frame_seq;
	e->first_time = w->frame_time;
	e->count = (uint32_t)w->frame_count;
}
