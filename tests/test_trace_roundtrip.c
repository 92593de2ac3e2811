/* Trace writer/reader round trips: names, every event type with payloads,
 * seeded random streams, seeking, zstd -t acceptance, write errors. */
#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "tests/test_trace_util.h"

static void test_names(void **state)
{
	for (uint32_t t = 1; t < TEV__COUNT; t++) {
		const char *n = trace_event_name(t);

		assert_non_null(n);
		assert_int_equal(trace_event_type_from_name(n), t);
	}
	assert_null(trace_event_name(TEV__COUNT));
	assert_int_equal(trace_event_type_from_name("pause_taken"),
			 TEV_PAUSE_TAKEN);
	assert_int_equal(trace_event_type_from_name("nope"), TEV_NONE);
	assert_int_equal(trace_event_type_from_name(NULL), TEV_NONE);
	assert_string_equal(trace_end_reason_name(TEND_SIGNAL), "signal");
	assert_string_equal(trace_end_reason_name(999), "unknown");
}

/* Reads @path back and checks it equals @s followed by VM_END. */
static void check_stream(const char *path, const struct tt_stream *s)
{
	struct trace_reader *r;
	struct trace_event ev;
	const uint8_t *pl;
	char err[256];

	r = trace_reader_open(path, err, sizeof(err));
	if (!r)
		fail_msg("%s: %s", path, err);
	assert_false(trace_reader_truncated(r));
	assert_int_equal(trace_reader_nr_events(r), s->n + 1);
	for (size_t i = 0; i < s->n; i++) {
		assert_int_equal(trace_reader_next(r, &ev, &pl), 1);
		tt_assert_ev_eq(&ev, &s->ev[i]);
		if (ev.payload_len)
			assert_memory_equal(pl, s->pl[i], ev.payload_len);
	}
	assert_int_equal(trace_reader_next(r, &ev, &pl), 1);
	assert_int_equal(ev.type, TEV_VM_END);
	assert_int_equal(ev.seq, s->n);
	assert_int_equal(ev.a0, TEND_GUEST_EXIT);
	assert_int_equal(ev.a1, 3);
	assert_int_equal(ev.a2, 0xfeed);
	assert_int_equal(trace_reader_next(r, &ev, &pl), 0);
	assert_int_equal(trace_reader_next(r, &ev, &pl), 0);
	assert_null(trace_reader_error(r));
	assert_null(trace_reader_truncation(r));
	assert_int_equal(trace_reader_events_read(r), s->n + 1);
	trace_reader_close(r);
}

static void test_every_type(void **state)
{
	char *path = tt_tmpfile("types");
	static uint8_t big[TRACE_MAX_PAYLOAD + 1];
	struct trace_header h, *rh;
	struct trace_writer *w;
	struct trace_producer *p;
	struct trace_event ev, got;
	struct trace_reader *r;
	const uint8_t *pl;
	char err[256];
	uint32_t t;

	tt_header(&h);
	tt_payload(big, sizeof(big), 42);
	w = trace_writer_open(path, &h, NULL, err, sizeof(err));
	assert_non_null(w);
	p = trace_producer_new(w);
	for (t = 1; t < TEV__COUNT; t++) {
		memset(&ev, 0, sizeof(ev));
		ev.type = t;
		ev.vcpu = t % 3 ? t : TRACE_VCPU_NONE;
		ev.exit_seq = t * 1000;
		ev.rip = 0xffffffff80000000ull + t;
		ev.digest = t * 0x0101010101010101ull;
		ev.a0 = t;
		ev.a1 = UINT64_MAX - t;
		ev.a2 = 1ull << (t % 64);
		ev.a3 = t & 1;
		ev.payload_len = t == TEV_GUEST_LOG ? TRACE_MAX_PAYLOAD : t;
		assert_int_equal(trace_emit(p, &ev, big), 0);
		assert_int_equal(ev.seq, t - 1);
		assert_true(ev.time_ns > 0);
	}
	ev.payload_len = TRACE_MAX_PAYLOAD + 1;
	assert_int_equal(trace_emit(p, &ev, big), -EMSGSIZE);
	ev.payload_len = 1;
	assert_int_equal(trace_emit(p, &ev, NULL), -EINVAL);
	ev.type = TEV_NONE;
	assert_int_equal(trace_emit(p, &ev, big), -EINVAL);
	ev.type = TEV__COUNT;
	assert_int_equal(trace_emit(p, &ev, big), -EINVAL);
	assert_int_equal(trace_writer_close(w, TEND_SIGNAL, -2, 7), 0);

	r = trace_reader_open(path, err, sizeof(err));
	if (!r)
		fail_msg("%s: %s", path, err);
	rh = (struct trace_header *)trace_reader_header(r);
	assert_int_equal(rh->version, TRACE_FORMAT_VERSION);
	assert_int_equal(rh->desc_offset, 8 + 24);
	h.version = TRACE_FORMAT_VERSION;
	h.desc_offset = rh->desc_offset;
	assert_memory_equal(rh, &h, sizeof(h));
	for (t = 1; t < TEV__COUNT; t++) {
		assert_int_equal(trace_reader_next(r, &got, &pl), 1);
		assert_int_equal(got.type, t);
		assert_int_equal(got.seq, t - 1);
		assert_int_equal(got.a1, UINT64_MAX - t);
		assert_int_equal(got.rip, 0xffffffff80000000ull + t);
		assert_int_equal(got.digest, t * 0x0101010101010101ull);
		assert_int_equal(got.payload_len,
				 t == TEV_GUEST_LOG ? TRACE_MAX_PAYLOAD : t);
		assert_memory_equal(pl, big, got.payload_len);
	}
	assert_int_equal(trace_reader_next(r, &got, &pl), 1);
	assert_int_equal(got.type, TEV_VM_END);
	assert_int_equal(got.a0, TEND_SIGNAL);
	assert_int_equal((int64_t)got.a1, -2);
	assert_int_equal(got.a2, 7);
	assert_int_equal(trace_reader_next(r, &got, &pl), 0);
	trace_reader_close(r);
	unlink(path);
	free(path);
}

static void test_random_streams(void **state)
{
	struct trace_writer_opts o = { .frame_events = 97 };
	char *path = tt_tmpfile("random");
	struct tt_stream s;

	/* seeds 7, 8: frames of 1 and 3 events, many to one read of the
	 * file (the reader reuses what it read for the next frames) */
	for (uint64_t seed = 1; seed <= 8; seed++) {
		static const uint32_t frames[] = { 97, 97, 97, 0, 0, 0, 1, 3 };

		o.zstd_level = seed % 2 ? 1 : 0;
		o.frame_events = frames[seed - 1];
		tt_record_random(path, seed, 20000, &o, &s);
		check_stream(path, &s);
		tt_stream_free(&s);
	}
	unlink(path);
	free(path);
}

static void seek_checks(const char *path, const struct tt_stream *s,
			bool truncated)
{
	static const uint64_t targets[] = { 5000, 0, 1, 96, 97, 98, 4999,
					    123, 3000, 2500 };
	struct trace_reader *r;
	struct trace_event ev;
	const uint8_t *pl;
	char err[256];

	r = trace_reader_open(path, err, sizeof(err));
	if (!r)
		fail_msg("%s: %s", path, err);
	assert_int_equal(trace_reader_truncated(r), truncated);
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		uint64_t k = targets[i];

		if (k >= s->n) {  /* VM_END, then nothing */
			assert_int_equal(trace_reader_seek_seq(r, k), 1);
			assert_int_equal(trace_reader_next(r, &ev, &pl), 1);
			assert_int_equal(ev.type, TEV_VM_END);
			assert_int_equal(trace_reader_seek_seq(r, k + 1), 0);
			assert_int_equal(trace_reader_next(r, &ev, &pl), 0);
			continue;
		}
		assert_int_equal(trace_reader_seek_seq(r, k), 1);
		assert_int_equal(trace_reader_next(r, &ev, &pl), 1);
		tt_assert_ev_eq(&ev, &s->ev[k]);
		if (ev.payload_len)
			assert_memory_equal(pl, s->pl[k], ev.payload_len);
		assert_int_equal(trace_reader_next(r, &ev, &pl), 1);
		assert_int_equal(ev.seq, k + 1);

		/* times are increasing in this stream: exact hit */
		assert_int_equal(trace_reader_seek_time(r, s->ev[k].time_ns), 1);
		assert_int_equal(trace_reader_next(r, &ev, &pl), 1);
		assert_int_equal(ev.seq, k);
		assert_int_equal(trace_reader_seek_time(r,
					s->ev[k].time_ns - 1), 1);
		assert_int_equal(trace_reader_next(r, &ev, &pl), 1);
		assert_int_equal(ev.seq, k);
	}
	assert_int_equal(trace_reader_seek_seq(r, UINT64_MAX), 0);
	assert_int_equal(trace_reader_seek_time(r, UINT64_MAX), 0);
	assert_int_equal(trace_reader_seek_time(r, 0), 1);
	assert_int_equal(trace_reader_next(r, &ev, &pl), 1);
	assert_int_equal(ev.seq, 0);
	assert_null(trace_reader_error(r));
	trace_reader_close(r);
}

static void record_monotonic(const char *path, size_t n, uint32_t frame,
			     struct tt_stream *s)
{
	struct trace_writer_opts o = { .frame_events = frame };
	struct trace_header h;
	struct trace_writer *w;
	struct trace_producer *p;
	uint8_t pl[TRACE_MAX_PAYLOAD];
	uint64_t seed = 77, time = 5000;
	char err[256];

	tt_header(&h);
	w = trace_writer_open(path, &h, &o, err, sizeof(err));
	assert_non_null(w);
	p = trace_producer_new(w);
	s->ev = calloc(n, sizeof(*s->ev));
	s->pl = calloc(n, sizeof(*s->pl));
	s->n = n;
	for (size_t i = 0; i < n; i++) {
		uint64_t t0 = time;

		tt_random_event(&seed, &s->ev[i], pl, &time);
		time = t0 + 1 + tt_rand(&seed) % 10000;
		s->ev[i].time_ns = time;
		assert_int_equal(trace_emit_timed(p, &s->ev[i], pl), 0);
		if (s->ev[i].payload_len) {
			s->pl[i] = malloc(s->ev[i].payload_len);
			memcpy(s->pl[i], pl, s->ev[i].payload_len);
		}
	}
	assert_int_equal(trace_writer_close(w, 0, 0, 0), 0);
}

static void test_seek(void **state)
{
	char *path = tt_tmpfile("seek");
	struct tt_stream s;
	uint8_t *buf;
	size_t len;
	FILE *f;

	for (uint32_t frame = 1; frame <= 97; frame += 96) {
		record_monotonic(path, 5000, frame, &s);
		seek_checks(path, &s, false);
		/* without index and end marker: frames are found by
		 * scanning */
		buf = tt_slurp(path, &len);
		f = fopen(path, "wb");
		assert_non_null(f);
		assert_int_equal(fwrite(buf, 1, len - 100, f), len - 100);
		fclose(f);
		seek_checks(path, &s, true);
		free(buf);
		tt_stream_free(&s);
	}
	unlink(path);
	free(path);
}

static void test_zstd_cli_accepts(void **state)
{
	char *path = tt_tmpfile("zstdt");
	struct tt_stream s;
	char cmd[600];

	if (system("zstd --version >/dev/null 2>&1")) {
		printf("zstd CLI not found: skipping zstd -t check\n");
		skip();
	}
	tt_record_random(path, 9, 5000, NULL, &s);
	snprintf(cmd, sizeof(cmd), "zstd -t -q '%s'", path);
	assert_int_equal(system(cmd), 0);
	tt_stream_free(&s);
	unlink(path);
	free(path);
}

/* In a child limited to a small file size: writes fail with EFBIG. */
static int write_error_child(const char *path)
{
	struct rlimit rl = { 256 << 10, 256 << 10 };
	struct trace_writer_opts o = { .frame_events = 64 };
	struct trace_header h;
	struct trace_writer *w;
	struct trace_producer *p;
	struct trace_event ev = { .type = TEV_CONSOLE };
	uint8_t pl[1024];
	uint64_t seed = 5;
	char err[256];
	int ret;

	signal(SIGXFSZ, SIG_IGN);
	if (setrlimit(RLIMIT_FSIZE, &rl))
		return 10;
	tt_header(&h);
	w = trace_writer_open(path, &h, &o, err, sizeof(err));
	if (!w)
		return 11;
	p = trace_producer_new(w);
	for (int i = 0; i < 2000; i++) {
		tt_payload(pl, sizeof(pl), tt_rand(&seed)); /* incompressible */
		ev.payload_len = sizeof(pl);
		ev.a0 = (uint64_t)i;
		ret = trace_emit(p, &ev, pl);
		if (ret == -EFBIG)
			break;
		if (ret)
			return 12;
		if (i % 100 == 99 && trace_writer_flush(w) == -EFBIG)
			break;
	}
	if (!trace_writer_error(w) || trace_writer_flush(w) != -EFBIG)
		return 13;
	if (!strstr(trace_writer_error(w), "offset"))
		return 14;
	for (int i = 0; i < 1000; i++)    /* must not block or crash */
		if (trace_emit(p, &ev, pl) != -EFBIG)
			return 15;
	ret = trace_writer_close_err(w, 0, 0, 0, err, sizeof(err));
	if (ret != -EFBIG || !strstr(err, "File too large") ||
	    !strstr(err, "offset"))
		return 16;
	return 0;
}

static void test_write_error(void **state)
{
	char *path = tt_tmpfile("efbig");
	struct trace_reader *r;
	struct trace_event ev;
	const uint8_t *pl;
	char err[256];
	uint64_t n = 0;
	int status, ret;
	pid_t pid;

	pid = fork();
	assert_true(pid >= 0);
	if (!pid)
		_exit(write_error_child(path));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	r = trace_reader_open(path, err, sizeof(err));
	if (!r)
		fail_msg("%s: %s", path, err);
	assert_true(trace_reader_truncated(r));
	while ((ret = trace_reader_next(r, &ev, &pl)) == 1) {
		assert_int_equal(ev.seq, n);
		assert_int_equal(ev.a0, n);
		n++;
	}
	assert_int_equal(ret, 0);
	assert_true(n >= 64);
	assert_non_null(strstr(trace_reader_truncation(r), "truncated after"));
	trace_reader_close(r);
	unlink(path);
	free(path);
}

static void test_open_errors(void **state)
{
	struct trace_header h;
	char err[256];

	tt_header(&h);
	assert_null(trace_writer_open("/nonexistent-dir/x.trace", &h, NULL,
				      err, sizeof(err)));
	assert_non_null(strstr(err, "cannot create"));
	assert_null(trace_reader_open("/nonexistent-dir/x.trace", err,
				      sizeof(err)));
	assert_non_null(strstr(err, "cannot open"));
	assert_null(trace_reader_open("/tmp", err, sizeof(err)));
	assert_non_null(strstr(err, "not a regular file"));
	struct trace_writer_opts o = { .zstd_level = 99 };
	assert_null(trace_writer_open("/tmp/x", &h, &o, err, sizeof(err)));
	assert_non_null(strstr(err, "zstd level"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_every_type),
		cmocka_unit_test(test_random_streams),
		cmocka_unit_test(test_seek),
		cmocka_unit_test(test_zstd_cli_accepts),
		cmocka_unit_test(test_write_error),
		cmocka_unit_test(test_open_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
