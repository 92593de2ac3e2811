/* Trace reader, input: file bytes (pread, or a buffer in memory) into the
 * zstd decoder, and the decoder into out[].  Memory stays a fixed few MB
 * whatever the file. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "traces/reader-internal.h"

#define MEM_CHUNK    (1u << 20)

/* Up to @len bytes at @off (fewer at EOF); negative errno on I/O error. */
ssize_t reader_src_read(struct trace_reader *r, uint64_t off, void *buf,
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
		got = reader_src_read(r, off, r->inbuf, n);
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
void reader_reuse_input(struct trace_reader *r, uint64_t off)
{
	if (r->mem || off < r->buf_off || off - r->buf_off >= r->buf_len)
		return;
	r->zin.src = r->inbuf + (off - r->buf_off);
	r->zin.size = r->buf_len - (size_t)(off - r->buf_off);
}

/* Up to @len bytes at @off, from inbuf when it holds them. */
ssize_t reader_peek(struct trace_reader *r, uint64_t off, void *buf,
		    size_t len)
{
	if (!r->mem && off >= r->buf_off && off - r->buf_off < r->buf_len &&
	    len <= r->buf_len - (off - r->buf_off)) {
		memcpy(buf, r->inbuf + (off - r->buf_off), len);
		return (ssize_t)len;
	}
	return reader_src_read(r, off, buf, len);
}

/* Moves undecoded bytes to the front and decompresses more after them. */
int reader_refill(struct trace_reader *r)
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
