/* Trace reader.  The file is untrusted: every length, count and offset is
 * checked before use, decompression is streaming with a capped window, and
 * memory is a fixed few MB plus a capped rebuilt index, whatever the file.
 *
 * This file opens a trace (header, end marker and index) and answers
 * about it; reader-internal.h lists the others. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "traces/reader-internal.h"

#define HDR_MAX      (TF_HDR_MAX_FRAME - 8)

static int read_header(struct trace_reader *r, char *err, size_t errlen)
{
	uint8_t b[8], *c;
	uint32_t magic, len;
	ssize_t n = reader_src_read(r, 0, b, 8);
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
	n = reader_src_read(r, 8, c, len);
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
	return reader_src_read(arg, off, buf, len);
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
