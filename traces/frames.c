/* Our skippable frames: the header, the seek index and the end marker.
 * The writer writes them with the encoders here, the reader checks them
 * with the decoders, so the two cannot drift apart.  Each ends with check
 * bytes (format.h) over its content. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "traces/format.h"

int tf_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

/* --- header -------------------------------------------------------------- */

size_t tf_header_encode(const struct trace_header *h, uint8_t *b)
{
	size_t dlen = strnlen(h->desc, TRACE_DESC_LEN - 1);
	size_t content = TF_HDR_FIXED + dlen + TF_CHECK_BYTES;
	uint8_t *p = b + 8;

	tf_put_le32(b, TF_SKIP_HEADER);
	tf_put_le32(b + 4, (uint32_t)content);
	memcpy(p, TF_HDR_MAGIC, 8);
	tf_put_le32(p + 8, TRACE_FORMAT_VERSION);
	tf_put_le32(p + 12, (uint32_t)dlen);
	tf_put_le64(p + 16, h->start_time_ns);
	memcpy(p + TF_HDR_FIXED, h->desc, dlen);
	tf_check(p, content - TF_CHECK_BYTES, p + content - TF_CHECK_BYTES);
	return 8 + content;
}

static int other_version(char *err, size_t errlen, uint32_t version)
{
	snprintf(err, errlen, "unsupported trace format version %u (offset "
		 "16); this vcprr reads version %u: re-record the trace",
		 version, TRACE_FORMAT_VERSION);
	return -EPROTONOSUPPORT;
}

int tf_header_decode(const uint8_t *b, uint32_t len, struct trace_header *h,
		     char *err, size_t errlen)
{
	uint8_t check[TF_CHECK_BYTES];
	uint32_t version, dlen;
	const uint8_t *desc = b + TF_HDR_FIXED, *nul;

	if (len < 8 || memcmp(b, TF_HDR_MAGIC, 8))
		return tf_fail(err, errlen, "not a vcprr trace: bad header "
				 "magic at offset 8");
	if (len < TF_HDR_FIXED + TF_CHECK_BYTES)
		return tf_fail(err, errlen, "corrupt trace header: its length "
				 "%u (offset 4) is too short", len);
	version = tf_le32(b + 8);
	dlen = tf_le32(b + 12);
	if (dlen != len - TF_HDR_FIXED - TF_CHECK_BYTES) {
		/* the layout of another version (older ones had no check) */
		if (version != TRACE_FORMAT_VERSION)
			return other_version(err, errlen, version);
		return tf_fail(err, errlen, "corrupt trace header: its length "
				 "%u (offset 4) does not fit its description's "
				 "length %u (offset 20)", len, dlen);
	}
	tf_check(b, len - TF_CHECK_BYTES, check);
	if (memcmp(check, b + len - TF_CHECK_BYTES, TF_CHECK_BYTES))
		return tf_fail(err, errlen, "corrupt trace header: the checksum "
				 "at offset %u does not match bytes 8 to %u",
				 8 + len - TF_CHECK_BYTES,
				 8 + len - TF_CHECK_BYTES - 1);
	if (version != TRACE_FORMAT_VERSION)
		return other_version(err, errlen, version);
	if (dlen >= TRACE_DESC_LEN)
		return tf_fail(err, errlen, "trace header: a run description "
				 "of %u bytes at offset %u, more than the %u "
				 "allowed", dlen, 8 + TF_HDR_FIXED,
				 TRACE_DESC_LEN - 1);
	nul = memchr(desc, 0, dlen);
	if (nul)
		return tf_fail(err, errlen, "trace header: a NUL byte in the "
				 "run description at offset %u",
				 8 + TF_HDR_FIXED + (unsigned)(nul - desc));
	h->version = version;
	h->start_time_ns = tf_le64(b + 16);
	h->desc_offset = 8 + TF_HDR_FIXED;
	memcpy(h->desc, desc, dlen);
	h->desc[dlen] = 0;
	return 0;
}


/* --- tail --------------------------------------------------------------- */

void tf_tail_encode(const struct tf_index_entry *idx, size_t n,
		    uint64_t index_off, uint64_t nr_events, tf_out_fn *out,
		    void *arg)
{
	uint8_t buf[8 + TF_IDX_HDR_BYTES + 64 * TF_IDX_ENT_BYTES];
	uint8_t end[TF_END_FRAME], digest[32];
	uint64_t size;
	size_t len, i = 0;
	struct sha256 sum;

	size = TF_IDX_HDR_BYTES + (uint64_t)n * TF_IDX_ENT_BYTES + TF_CHECK_BYTES;
	if (size > UINT32_MAX) {
		n = 0;  /* absurdly many frames: the reader scans instead */
		size = TF_IDX_HDR_BYTES + TF_CHECK_BYTES;
	}
	tf_put_le32(buf, TF_SKIP_INDEX);
	tf_put_le32(buf + 4, (uint32_t)size);
	memcpy(buf + 8, TF_IDX_MAGIC, 8);
	tf_put_le32(buf + 16, TRACE_FORMAT_VERSION);
	tf_put_le32(buf + 20, 0);
	tf_put_le64(buf + 24, n);
	len = 8 + TF_IDX_HDR_BYTES;
	sha256_init(&sum);
	sha256_update(&sum, buf + 8, TF_IDX_HDR_BYTES);
	do {
		size_t from = len;

		for (; i < n && len + TF_IDX_ENT_BYTES <= sizeof(buf); i++) {
			uint8_t *e = buf + len;

			tf_put_le64(e, idx[i].off);
			tf_put_le64(e + 8, idx[i].first_seq);
			tf_put_le64(e + 16, idx[i].first_time);
			tf_put_le32(e + 24, idx[i].count);
			tf_put_le32(e + 28, 0);
			len += TF_IDX_ENT_BYTES;
		}
		sha256_update(&sum, buf + from, len - from);
		out(arg, buf, len);
		len = 0;
	} while (i < n);
	sha256_final(&sum, digest);
	out(arg, digest, TF_CHECK_BYTES);

	tf_put_le32(end, TF_SKIP_END);
	tf_put_le32(end + 4, TF_END_BYTES);
	memcpy(end + 8, TF_END_MAGIC, 8);
	tf_put_le32(end + 16, TRACE_FORMAT_VERSION);
	tf_put_le32(end + 20, 0);
	tf_put_le64(end + 24, index_off);
	tf_put_le64(end + 32, nr_events);
	tf_check(end + 8, TF_END_BYTES - TF_CHECK_BYTES,
		 end + TF_END_FRAME - TF_CHECK_BYTES);
	out(arg, end, sizeof(end));
}

/* The seek index checks out: its checksum, then its entries, which must
 * list the data frames in order from the first one on, with dense
 * sequence numbers adding up to the end marker's count. */
static int check_index(const struct tf_file *f, const struct tf_tail *t,
		       char *err, size_t errlen)
{
	uint8_t b[64 * TF_IDX_ENT_BYTES], digest[32], check[TF_CHECK_BYTES];
	uint64_t off = t->idx_off + 8, end, seq = 0, prev = 0, i = 0;
	char bad[200] = "";
	struct sha256 s;

	end = off + TF_IDX_HDR_BYTES + t->idx_count * TF_IDX_ENT_BYTES;
	sha256_init(&s);
	if (f->read(f->arg, off, b, TF_IDX_HDR_BYTES) != TF_IDX_HDR_BYTES)
		return tf_fail(err, errlen, "short read of the seek index at "
			    "offset %llu", (unsigned long long)off);
	sha256_update(&s, b, TF_IDX_HDR_BYTES);
	for (off += TF_IDX_HDR_BYTES; off < end;) {
		size_t n = end - off < sizeof(b) ? (size_t)(end - off) : sizeof(b);

		if (f->read(f->arg, off, b, n) != (ssize_t)n)
			return tf_fail(err, errlen, "short read of the seek index "
				    "at offset %llu", (unsigned long long)off);
		sha256_update(&s, b, n);
		for (size_t k = 0; k < n && !bad[0]; k += TF_IDX_ENT_BYTES, i++) {
			uint64_t foff = tf_le64(b + k), first = tf_le64(b + k + 8);
			uint32_t count = tf_le32(b + k + 24);

			if ((i ? foff <= prev : foff != f->data_start) ||
			    foff >= t->idx_off || first != seq || !count)
				snprintf(bad, sizeof(bad), "seek index entry %llu "
					 "at offset %llu (frame at offset %llu, "
					 "seq %llu, %u events) does not follow "
					 "the frames before it: misplaced frames",
					 (unsigned long long)i,
					 (unsigned long long)(off + k),
					 (unsigned long long)foff,
					 (unsigned long long)first, count);
			prev = foff;
			seq += count;
		}
		off += n;
	}
	sha256_final(&s, digest);
	if (f->read(f->arg, end, check, sizeof(check)) != sizeof(check) ||
	    memcmp(check, digest, sizeof(check)))
		return tf_fail(err, errlen, "corrupt seek index at offset %llu: the "
			    "checksum at offset %llu does not match",
			    (unsigned long long)t->idx_off,
			    (unsigned long long)end);
	if (bad[0])
		return tf_fail(err, errlen, "%s", bad);
	if (t->idx_count && seq != t->end_events)
		return tf_fail(err, errlen, "the seek index at offset %llu counts "
			    "%llu events, the end marker %llu",
			    (unsigned long long)t->idx_off,
			    (unsigned long long)seq,
			    (unsigned long long)t->end_events);
	return 0;
}

/* The index the end marker at @eoff names: where it is and how many
 * entries it has. */
static int find_index(const struct tf_file *f, const uint8_t *e, uint64_t eoff,
		      struct tf_tail *t, char *err, size_t errlen)
{
	uint64_t ioff = tf_le64(e + 24), isize, cnt;
	uint64_t fixed = TF_IDX_HDR_BYTES + TF_CHECK_BYTES;
	uint8_t ib[8 + TF_IDX_HDR_BYTES];

	if (ioff < f->data_start || ioff > eoff || eoff - ioff < 8 + fixed ||
	    f->read(f->arg, ioff, ib, sizeof(ib)) != sizeof(ib) ||
	    tf_le32(ib) != TF_SKIP_INDEX || memcmp(ib + 8, TF_IDX_MAGIC, 8) ||
	    tf_le32(ib + 16) != TRACE_FORMAT_VERSION)
		return tf_fail(err, errlen, "the end marker at offset %llu puts the "
			    "seek index at offset %llu (offset %llu), where there "
			    "is none: misplaced frames", (unsigned long long)eoff,
			    (unsigned long long)ioff,
			    (unsigned long long)(eoff + 24));
	isize = tf_le32(ib + 4);
	cnt = tf_le64(ib + 24);
	if (ioff + 8 + isize != eoff || isize < fixed ||
	    (isize - fixed) % TF_IDX_ENT_BYTES ||
	    (isize - fixed) / TF_IDX_ENT_BYTES != cnt)
		return tf_fail(err, errlen, "the seek index at offset %llu (%llu "
			    "bytes, %llu entries at offset %llu) does not end "
			    "where the end marker at offset %llu starts",
			    (unsigned long long)ioff, (unsigned long long)isize,
			    (unsigned long long)cnt,
			    (unsigned long long)(ioff + 24),
			    (unsigned long long)eoff);
	t->idx_off = ioff;
	t->idx_count = cnt;
	return 0;
}

int tf_tail_check(const struct tf_file *f, struct tf_tail *t, char *err,
		  size_t errlen)
{
	uint8_t e[TF_END_FRAME], check[TF_CHECK_BYTES];
	uint64_t eoff;

	memset(t, 0, sizeof(*t));
	t->trunc_reason = "no end marker: recording was interrupted";
	if (f->size < f->data_start + TF_END_FRAME)
		return 0;
	eoff = f->size - TF_END_FRAME;
	if (f->read(f->arg, eoff, e, sizeof(e)) != sizeof(e) ||
	    tf_le32(e) != TF_SKIP_END || tf_le32(e + 4) != TF_END_BYTES ||
	    memcmp(e + 8, TF_END_MAGIC, 8))
		return 0;
	tf_check(e + 8, TF_END_BYTES - TF_CHECK_BYTES, check);
	if (memcmp(check, e + TF_END_FRAME - TF_CHECK_BYTES, TF_CHECK_BYTES) ||
	    tf_le32(e + 16) != TRACE_FORMAT_VERSION)
		return tf_fail(err, errlen, "corrupt end marker at offset %llu: the "
			    "checksum at offset %llu does not match",
			    (unsigned long long)eoff,
			    (unsigned long long)(f->size - TF_CHECK_BYTES));
	t->end_events = tf_le64(e + 32);
	if (find_index(f, e, eoff, t, err, errlen))
		return -EBADMSG;
	t->has_end = true;
	t->trunc_reason = NULL;
	return check_index(f, t, err, errlen);
}
