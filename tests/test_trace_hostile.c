/* The reader on hostile input: truncation at every offset, bit flips,
 * wrong magic/version, absurd lengths, oversized zstd windows.  Each case
 * must give a clear error or a clean truncated read, never a crash. */
#include <errno.h>
#include <zstd.h>

#include "tests/test_trace_util.h"
#include "traces/format.h"

static struct tt_stream ref;
static uint8_t *good;
static size_t good_len, hdr_len;  /* the file, its header frame */

static int setup(void **state)
{
	struct trace_writer_opts o = { .frame_events = 40 };
	char *path = tt_tmpfile("hostile");

	tt_payload_max = 40;  /* small file: every offset is tried */
	tt_record_random(path, 4242, 400, &o, &ref);
	good = tt_slurp(path, &good_len);
	hdr_len = 8 + tf_le32(good + 4);
	unlink(path);
	free(path);
	return 0;
}

static int teardown(void **state)
{
	tt_stream_free(&ref);
	free(good);
	return 0;
}

enum outcome { O_OPEN_FAIL, O_ERROR, O_TRUNCATED, O_COMPLETE };

/* Reads everything (then seeks around); checks every event returned is the
 * reference event of that seq unless an error follows. */
static enum outcome read_all(const uint8_t *buf, size_t len, char *msg,
			     size_t msglen, uint64_t *nread, bool strict)
{
	struct trace_reader *r;
	struct trace_event ev;
	const uint8_t *pl;
	enum outcome o;
	int ret;

	*nread = 0;
	r = trace_reader_open_mem(buf, len, msg, msglen);
	if (!r)
		return O_OPEN_FAIL;
	while ((ret = trace_reader_next(r, &ev, &pl)) == 1) {
		if (strict && ev.seq < ref.n) {
			tt_assert_ev_eq(&ev, &ref.ev[ev.seq]);
			if (ev.payload_len)
				assert_memory_equal(pl, ref.pl[ev.seq],
						    ev.payload_len);
		}
		(*nread)++;
	}
	if (ret < 0) {
		assert_non_null(trace_reader_error(r));
		snprintf(msg, msglen, "%s", trace_reader_error(r));
		o = O_ERROR;
	} else if (trace_reader_truncated(r)) {
		assert_non_null(trace_reader_truncation(r));
		o = O_TRUNCATED;
	} else {
		o = O_COMPLETE;
	}
	trace_reader_seek_seq(r, 0);
	trace_reader_seek_seq(r, 237);
	trace_reader_next(r, &ev, &pl);
	trace_reader_seek_time(r, ref.ev[100].time_ns);
	trace_reader_seek_seq(r, UINT64_MAX);
	trace_reader_close(r);
	return o;
}

static void test_truncate_everywhere(void **state)
{
	char msg[400];
	uint64_t n, prev = 0;

	assert_int_equal(read_all(good, good_len, msg, sizeof(msg), &n, true),
			 O_COMPLETE);
	assert_int_equal(n, ref.n + 1);
	for (size_t len = 0; len < good_len; len++) {
		uint8_t *copy = malloc(len + 1);   /* exact size for ASan */
		enum outcome o;

		memcpy(copy, good, len);
		o = read_all(copy, len, msg, sizeof(msg), &n, true);
		if (len < hdr_len) {
			assert_int_equal(o, O_OPEN_FAIL);
		} else {
			if (o != O_TRUNCATED)
				fail_msg("cut at %zu: outcome %d: %s", len, o,
					 msg);
			assert_true(n >= prev);  /* longer prefix, more events */
			prev = n;
		}
		free(copy);
	}
	assert_true(prev >= ref.n);
}

static void test_bit_flips(void **state)
{
	uint8_t *copy = malloc(good_len);
	uint64_t seed = 99, n;
	int counts[4] = { 0 };
	char msg[400];

	for (size_t i = 0; i < good_len; i += TT_SANITIZED ? 3 : 1) {
		size_t bit = tt_rand(&seed) % 8;
		enum outcome o;

		memcpy(copy, good, good_len);
		copy[i] ^= (uint8_t)(1u << bit);
		o = read_all(copy, good_len, msg, sizeof(msg), &n, false);
		counts[o]++;
		/* the header and the tail are checksummed too */
		if (i < hdr_len)
			assert_int_equal(o, O_OPEN_FAIL);
		if (i >= tf_le64(good + good_len - 24) &&
		    o != O_OPEN_FAIL && o != O_ERROR)
			fail_msg("a flip at %zu in the tail: outcome %d", i, o);
		/* a checksum guards every data byte: a "complete" read must
		 * be the original stream */
		if (o == O_COMPLETE && i >= hdr_len)
			read_all(copy, good_len, msg, sizeof(msg), &n, true);
	}
	printf("bit flips: %d open errors, %d read errors, %d truncated, "
	       "%d complete\n", counts[0], counts[1], counts[2], counts[3]);
	assert_true(counts[O_ERROR] > 0);
	free(copy);
}

static void expect_open_error(const uint8_t *buf, size_t len,
			      const char *needle)
{
	char msg[400] = "";

	assert_null(trace_reader_open_mem(buf, len, msg, sizeof(msg)));
	if (!strstr(msg, needle))
		fail_msg("expected '%s' in '%s'", needle, msg);
}

static void test_header_attacks(void **state)
{
	uint8_t *c = malloc(good_len);

	expect_open_error(good, 0, "too short");
	expect_open_error(NULL, 0, "too short");

	memcpy(c, good, good_len);
	tf_put_le32(c, TF_ZSTD_MAGIC);
	expect_open_error(c, good_len, "bad magic 0xfd2fb528 at offset 0");

	/* a flipped version is caught by the checksum; a real other
	 * version (its check matches) asks for a re-recording */
	memcpy(c, good, good_len);
	tf_put_le32(c + 16, 7);
	expect_open_error(c, good_len, "checksum at offset");
	tf_check(c + 8, hdr_len - 8 - TF_CHECK_BYTES, c + hdr_len - TF_CHECK_BYTES);
	expect_open_error(c, good_len, "version 7");
	expect_open_error(c, good_len, "re-record");

	memcpy(c, good, good_len);
	tf_put_le32(c + 4, 0xffffffffu);
	expect_open_error(c, good_len, "exceeds the limit");

	memcpy(c, good, good_len);
	tf_put_le32(c + 4, (uint32_t)(hdr_len - 8 + 100));
	expect_open_error(c, good_len, "length");

	memcpy(c, good, good_len);
	c[8] ^= 1;
	expect_open_error(c, good_len, "bad header magic at offset 8");

	expect_open_error(good, hdr_len - 1, "truncated");

	/* the run description: checksummed, and text without NUL bytes */
	memcpy(c, good, good_len);
	c[8 + TF_HDR_FIXED + 3] ^= 0x20;
	expect_open_error(c, good_len, "corrupt trace header: the checksum at "
			  "offset");
	c[8 + TF_HDR_FIXED + 3] = 0;
	tf_check(c + 8, hdr_len - 8 - TF_CHECK_BYTES, c + hdr_len - TF_CHECK_BYTES);
	expect_open_error(c, good_len, "NUL byte in the run description at "
			  "offset 35");
	free(c);
}

/* A description longer than the reader keeps, with a valid checksum. */
static void test_header_too_long(void **state)
{
	size_t len = TF_HDR_FIXED + TRACE_DESC_LEN + TF_CHECK_BYTES;
	uint8_t *b = calloc(1, 8 + len);

	tf_put_le32(b, TF_SKIP_HEADER);
	tf_put_le32(b + 4, (uint32_t)len);
	memcpy(b + 8, TF_HDR_MAGIC, 8);
	tf_put_le32(b + 16, TRACE_FORMAT_VERSION);
	tf_put_le32(b + 20, TRACE_DESC_LEN);
	memset(b + 8 + TF_HDR_FIXED, 'a', TRACE_DESC_LEN);
	tf_check(b + 8, len - TF_CHECK_BYTES, b + 8 + len - TF_CHECK_BYTES);
	expect_open_error(b, 8 + len, "more than the 8191 allowed");
	free(b);
}

/* Builds header + @mid + the rest of the good file (without its seek
 * index and end marker when !@tail). */
static uint8_t *splice(const uint8_t *mid, size_t mlen, size_t *len,
		       bool tail)
{
	size_t h = hdr_len, rest = good_len - h;
	uint8_t *b = malloc(good_len + mlen);

	if (!tail)
		rest = tf_le64(good + good_len - 24) - h;  /* the index offset */
	memcpy(b, good, h);
	memcpy(b + h, mid, mlen);
	memcpy(b + h + mlen, good + h, rest);
	*len = h + mlen + rest;
	return b;
}

static void test_frame_attacks(void **state)
{
	uint8_t skip[8], *b;
	char msg[400], want[32];
	uint64_t n;
	size_t len;

	/* a frame put in front of the data: the end marker's index offset
	 * no longer holds the index */
	tf_put_le32(skip, 0x184D2A53);
	tf_put_le32(skip + 4, 0);
	b = splice(skip, sizeof(skip), &len, true);
	assert_int_equal(read_all(b, len, msg, sizeof(msg), &n, false),
			 O_OPEN_FAIL);
	assert_non_null(strstr(msg, "misplaced"));
	free(b);

	/* without a tail, an unknown small skippable frame is skipped */
	b = splice(skip, sizeof(skip), &len, false);
	assert_int_equal(read_all(b, len, msg, sizeof(msg), &n, true),
			 O_TRUNCATED);
	assert_int_equal(n, ref.n + 1);
	free(b);

	/* a huge one runs past the data */
	tf_put_le32(skip + 4, 0xfffffff0u);
	b = splice(skip, sizeof(skip), &len, false);
	assert_int_equal(read_all(b, len, msg, sizeof(msg), &n, false),
			 O_TRUNCATED);
	free(b);

	/* garbage magic in the middle: an error naming the offset */
	memcpy(skip, "GARBAGE!", 8);
	b = splice(skip, sizeof(skip), &len, false);
	assert_int_equal(read_all(b, len, msg, sizeof(msg), &n, false),
			 O_ERROR);
	assert_non_null(strstr(msg, "bad frame magic"));
	snprintf(want, sizeof(want), "offset %zu", hdr_len);
	assert_non_null(strstr(msg, want));
	free(b);
}

static void test_corrupt_middle_frame(void **state)
{
	uint8_t *c = malloc(good_len);
	size_t off = hdr_len;
	char msg[400], want[64];
	uint64_t n;

	/* find the third data frame and damage its last block byte */
	for (int f = 0; f < 2; f++) {
		size_t sz = ZSTD_findFrameCompressedSize(good + off,
							 good_len - off);

		assert_false(ZSTD_isError(sz));
		off += sz;
	}
	memcpy(c, good, good_len);
	c[off + ZSTD_findFrameCompressedSize(good + off, good_len - off) - 6]
		^= 0x10;
	assert_int_equal(read_all(c, good_len, msg, sizeof(msg), &n, false),
			 O_ERROR);
	snprintf(want, sizeof(want), "offset %zu", off);
	if (!strstr(msg, want))
		fail_msg("expected '%s' in '%s'", want, msg);
	free(c);
}

static void test_window_too_large(void **state)
{
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	uint8_t in[64] = { TF_FRAME_KIND, 0, 0 }, out[512], *b;
	ZSTD_inBuffer zi = { in, sizeof(in), 0 };
	ZSTD_outBuffer zo = { out, sizeof(out), 0 };
	char msg[400];
	uint64_t n;
	size_t len;

	ZSTD_CCtx_setParameter(cc, ZSTD_c_windowLog, 27);
	ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
	ZSTD_compressStream2(cc, &zo, &zi, ZSTD_e_continue);
	while (ZSTD_compressStream2(cc, &zo, &zi, ZSTD_e_end))
		;
	ZSTD_freeCCtx(cc);
	b = malloc(hdr_len + zo.pos);
	memcpy(b, good, hdr_len);
	memcpy(b + hdr_len, out, zo.pos);
	len = hdr_len + zo.pos;
	assert_int_equal(read_all(b, len, msg, sizeof(msg), &n, false),
			 O_ERROR);
	if (!strstr(msg, "memory") && !strstr(msg, "indow"))
		fail_msg("unexpected: %s", msg);
	free(b);
}

static void test_end_marker_lies(void **state)
{
	uint8_t *c = malloc(good_len), *end = NULL;
	char msg[400];
	uint64_t n;

	/* the event count in the end marker: its checksum, and with the
	 * checksum made to fit, the index's count */
	memcpy(c, good, good_len);
	end = c + good_len - TF_END_FRAME;
	tf_put_le64(end + 32, ref.n + 5);
	assert_int_equal(read_all(c, good_len, msg, sizeof(msg), &n, true),
			 O_OPEN_FAIL);
	assert_non_null(strstr(msg, "corrupt end marker at offset"));
	tf_check(end + 8, TF_END_BYTES - TF_CHECK_BYTES,
		 end + TF_END_FRAME - TF_CHECK_BYTES);
	assert_int_equal(read_all(c, good_len, msg, sizeof(msg), &n, true),
			 O_OPEN_FAIL);
	assert_non_null(strstr(msg, "the end marker"));
	/* the index offset pointing elsewhere */
	memcpy(c, good, good_len);
	tf_put_le64(end + 24, 12345);
	tf_check(end + 8, TF_END_BYTES - TF_CHECK_BYTES,
		 end + TF_END_FRAME - TF_CHECK_BYTES);
	assert_int_equal(read_all(c, good_len, msg, sizeof(msg), &n, true),
			 O_OPEN_FAIL);
	assert_non_null(strstr(msg, "misplaced"));
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_truncate_everywhere),
		cmocka_unit_test(test_bit_flips),
		cmocka_unit_test(test_header_attacks),
		cmocka_unit_test(test_header_too_long),
		cmocka_unit_test(test_frame_attacks),
		cmocka_unit_test(test_corrupt_middle_frame),
		cmocka_unit_test(test_window_too_large),
		cmocka_unit_test(test_end_marker_lies),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
