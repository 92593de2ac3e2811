/* Trace writer: open, flush, close.  Producers emit into rings
 * (writer-ring.c); one thread (writer-thread.c) merges them, encodes the
 * events (writer-encode.c) and writes zstd frames (writer-output.c). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "traces/writer-internal.h"

#define DEF_RING        (1u << 20)
#define DEF_FRAME_EV    65536u
#define DEF_FRAME_MS    40u
#define DEF_LEVEL       3

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int setup_opts(struct trace_writer *w,
		      const struct trace_writer_opts *opts,
		      char *err, size_t errlen)
{
	uint64_t ring = DEF_RING;

	if (opts)
		w->o = *opts;
	if (!w->o.frame_events)
		w->o.frame_events = DEF_FRAME_EV;
	if (!w->o.frame_ms)
		w->o.frame_ms = DEF_FRAME_MS;
	if (!w->o.zstd_level)
		w->o.zstd_level = DEF_LEVEL;
	if (w->o.zstd_level < ZSTD_minCLevel() ||
	    w->o.zstd_level > ZSTD_maxCLevel()) {
		seterr(err, errlen, "zstd level %d out of range [%d, %d]",
		       w->o.zstd_level, ZSTD_minCLevel(), ZSTD_maxCLevel());
		return -EINVAL;
	}
	if (w->o.ring_bytes > (1u << 30)) {
		seterr(err, errlen, "ring size %u too large (max 1 GiB)",
		       w->o.ring_bytes);
		return -EINVAL;
	}
	if (w->o.ring_bytes)
		ring = w->o.ring_bytes;
	if (ring < MIN_RING)
		ring = MIN_RING;
	w->ring_bytes = 1;
	while (w->ring_bytes < ring)
		w->ring_bytes <<= 1;
	return 0;
}

static int setup_zstd(struct trace_writer *w, char *err, size_t errlen)
{
	w->cctx = ZSTD_createCCtx();
	w->enc = malloc(ENC_CAP);
	w->zout_cap = 256u << 10;
	w->zout = malloc(w->zout_cap);
	if (!w->cctx || !w->enc || !w->zout) {
		seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (ZSTD_isError(ZSTD_CCtx_setParameter(w->cctx,
			ZSTD_c_compressionLevel, w->o.zstd_level)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(w->cctx,
			ZSTD_c_checksumFlag, 1)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(w->cctx,
			ZSTD_c_windowLog, TF_WINDOW_LOG))) {
		seterr(err, errlen, "zstd refused the compression parameters");
		return -EINVAL;
	}
	return 0;
}

static void writer_free(struct trace_writer *w)
{
	uint32_t np = atomic_load(&w->nprod);

	for (uint32_t i = 0; i < np; i++) {
		free(w->prod[i]->ring);
		free(w->prod[i]);
	}
	if (w->fd >= 0)
		close(w->fd);
	ZSTD_freeCCtx(w->cctx);
	free(w->enc);
	free(w->zout);
	free(w->idx);
	newfile_discard(&w->file);
	free(w->path);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->flushed_cv);
	free(w);
}

/* Creates the trace with its header already in it: the header is written
 * to an unnamed file (traces/newfile.h) that gets its name at once, or at
 * trace_writer_publish() with opts.publish_later, so no reader and no
 * SIGKILL ever finds a trace without its header under that name. */
static int create_with_header(struct trace_writer *w, int fd,
			      const uint8_t *hdr, size_t len, char *err,
			      size_t errlen)
{
	if (fd >= 0) {
		w->fd = fd;
	} else {
		if (newfile_create(&w->file, w->path, err, errlen))
			return -1;
		w->fd = w->file.fd;
	}
	writer_out_write(w, hdr, len);
	if (atomic_load(&w->failed)) {
		seterr(err, errlen, "%s", w->errmsg);
		return -1;
	}
	if (fd < 0 && !w->o.publish_later)
		return trace_writer_publish(w, err, errlen);
	return 0;
}

static struct trace_writer *writer_open(int fd, const char *path,
					const struct trace_header *h,
					const struct trace_writer_opts *opts,
					char *err, size_t errlen)
{
	uint8_t hdr[TF_HDR_MAX_FRAME];
	struct trace_writer *w;
	size_t hlen;
	int ret;

	if (posix_memalign((void **)&w, 64, sizeof(*w))) {
		seterr(err, errlen, "out of memory");
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->file.fd = -1;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->flushed_cv, NULL);
	w->path = strdup(path);
	if (!w->path) {
		seterr(err, errlen, "out of memory");
		goto fail;
	}
	if (setup_opts(w, opts, err, errlen) || setup_zstd(w, err, errlen))
		goto fail;
	hlen = tf_header_encode(h, hdr);
	if (create_with_header(w, fd, hdr, hlen, err, errlen))
		goto fail;
	w->good_off = w->file_off;
	ret = writer_start_thread(w);
	if (ret) {
		seterr(err, errlen, "cannot start the writer thread: %s",
		       strerror(-ret));
		goto fail;
	}
	return w;
fail:
	writer_free(w);
	return NULL;
}

struct trace_writer *trace_writer_open(const char *path,
				       const struct trace_header *h,
				       const struct trace_writer_opts *opts,
				       char *err, size_t errlen)
{
	return writer_open(-1, path, h, opts, err, errlen);
}

struct trace_writer *trace_writer_fdopen(int fd, const char *name,
					 const struct trace_header *h,
					 const struct trace_writer_opts *opts,
					 char *err, size_t errlen)
{
	if (fd < 0) {
		seterr(err, errlen, "%s: bad file descriptor", name);
		return NULL;
	}
	return writer_open(fd, name, h, opts, err, errlen);
}

int trace_writer_publish(struct trace_writer *w, char *err, size_t errlen)
{
	if (w->file.fd < 0)
		return 0;   /* trace_writer_fdopen: nothing to name */
	return newfile_publish(&w->file, !w->o.no_replace, err, errlen);
}

int trace_writer_flush(struct trace_writer *w)
{
	uint64_t target = atomic_load(&w->seq) & ~SEQ_CLOSED;
	uint64_t req = atomic_load(&w->flush_req);
	int ret;

	while (req < target &&
	       !atomic_compare_exchange_weak(&w->flush_req, &req, target))
		;
	writer_wake(w);
	pthread_mutex_lock(&w->lock);
	while (atomic_load(&w->flushed) < target && !atomic_load(&w->failed))
		pthread_cond_wait(&w->flushed_cv, &w->lock);
	ret = atomic_load(&w->failed);
	pthread_mutex_unlock(&w->lock);
	return ret;
}

const char *trace_writer_error(struct trace_writer *w)
{
	if (!atomic_load_explicit(&w->failed, memory_order_acquire))
		return NULL;
	return w->errmsg;
}

void trace_writer_stats(struct trace_writer *w, struct trace_writer_stats *st)
{
	st->events = atomic_load(&w->st_events);
	st->frames = atomic_load(&w->st_frames);
	st->bytes = atomic_load(&w->st_bytes);
	st->dropped = atomic_load(&w->st_dropped);
	st->discarded = atomic_load(&w->st_discarded);
}

void trace_writer__pause(struct trace_writer *w, bool pause)
{
	atomic_store(&w->paused, pause);
	writer_wake(w);
}

int trace_writer_close_err(struct trace_writer *w, uint32_t end_reason,
			   int64_t exit_code, uint64_t mem_digest,
			   char *err, size_t errlen)
{
	uint32_t np;
	int ret;

	pthread_mutex_lock(&w->lock);
	w->end_seq = atomic_fetch_or(&w->seq, SEQ_CLOSED) & ~SEQ_CLOSED;
	w->end_reason = end_reason;
	w->exit_code = exit_code;
	w->mem_digest = mem_digest;
	atomic_store(&w->paused, 0);
	atomic_store_explicit(&w->closing, 1, memory_order_release);
	np = atomic_load(&w->nprod);
	pthread_mutex_unlock(&w->lock);
	for (uint32_t i = 0; i < np; i++) {
		atomic_fetch_add(&w->prod[i]->wake, 1);
		futex_wake(&w->prod[i]->wake);
	}
	writer_wake(w);
	pthread_join(w->thread, NULL);

	ret = atomic_load(&w->failed);
	if (!ret && close(w->fd)) {
		writer_fail(w, errno, w->file_off, "close of");
		ret = atomic_load(&w->failed);
	}
	w->fd = ret ? w->fd : -1;
	if (ret)
		seterr(err, errlen, "%s", w->errmsg);
	else if (err && errlen)
		err[0] = 0;
	writer_free(w);
	return ret;
}

int trace_writer_close(struct trace_writer *w, uint32_t end_reason,
		       int64_t exit_code, uint64_t mem_digest)
{
	return trace_writer_close_err(w, end_reason, exit_code, mem_digest,
				      NULL, 0);
}
