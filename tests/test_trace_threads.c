/* Trace writer under concurrency: many producers (dense seq, per-producer
 * order, no loss), lossy accounting, flush visibility. */
#include <errno.h>
#include <pthread.h>

#include "tests/test_trace_util.h"
#include "traces/writer-internal.h"

#define NTHREADS 16
#define PER_THREAD (TT_SANITIZED ? 20000 : 100000)

struct worker {
	struct trace_writer *w;
	uint32_t id, n;
	int bad;               /* cmocka asserts are not thread-safe */
	uint64_t accepted;
};

static void *lossless_worker(void *arg)
{
	struct worker *k = arg;
	struct trace_producer *p = trace_producer_new(k->w);
	struct trace_event ev = { .type = TEV_EXIT_PIO, .vcpu = k->id };
	uint8_t pl[64];

	if (!p) {
		k->bad = 1;
		return NULL;
	}
	for (uint32_t i = 0; i < k->n; i++) {
		ev.exit_seq = i;
		ev.rip = 0x1000 + (i % 3);
		ev.a0 = k->id;
		ev.a2 = i * 31u;
		ev.payload_len = i % 1000 == 0 ? (uint32_t)sizeof(pl) : 0;
		memset(pl, (int)i, sizeof(pl));
		if (trace_emit(p, &ev, pl))
			k->bad = 1;
	}
	return NULL;
}

static void test_many_producers(void **state)
{
	struct trace_writer_opts o = { .ring_bytes = 64 << 10 };
	char *path = tt_tmpfile("threads");
	struct worker k[NTHREADS];
	pthread_t th[NTHREADS];
	uint64_t next[NTHREADS] = { 0 }, seq = 0;
	struct trace_header h;
	struct trace_writer *w;
	struct trace_reader *r;
	struct trace_event ev;
	const uint8_t *pl;
	char err[256];
	int ret;

	tt_header(&h);
	w = trace_writer_open(path, &h, &o, err, sizeof(err));
	assert_non_null(w);
	for (int i = 0; i < NTHREADS; i++) {
		k[i] = (struct worker){ .w = w, .id = (uint32_t)i,
					.n = PER_THREAD };
		assert_int_equal(pthread_create(&th[i], NULL, lossless_worker,
						&k[i]), 0);
	}
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(k[i].bad, 0);
	}
	assert_int_equal(trace_writer_close(w, 0, 0, 0), 0);

	r = trace_reader_open(path, err, sizeof(err));
	assert_non_null(r);
	while ((ret = trace_reader_next(r, &ev, &pl)) == 1) {
		assert_int_equal(ev.seq, seq++);
		if (ev.type == TEV_VM_END)
			continue;
		assert_int_equal(ev.type, TEV_EXIT_PIO);
		assert_true(ev.vcpu < NTHREADS);
		assert_int_equal(ev.exit_seq, next[ev.vcpu]);
		assert_int_equal(ev.a2, (uint32_t)(ev.exit_seq * 31u));
		if (ev.payload_len)
			assert_int_equal(pl[63], (uint8_t)ev.exit_seq);
		next[ev.vcpu]++;
	}
	assert_int_equal(ret, 0);
	for (int i = 0; i < NTHREADS; i++)
		assert_int_equal(next[i], PER_THREAD);
	assert_int_equal(seq, (uint64_t)NTHREADS * PER_THREAD + 1);
	trace_reader_close(r);
	unlink(path);
	free(path);
}

/* Sums, per VCPU, the events in the file and the drops TEV_LOST reports. */
static void count_file(const char *path, uint64_t *events, uint64_t *lost,
		       int nv)
{
	struct trace_reader *r;
	struct trace_event ev;
	const uint8_t *pl;
	char err[256];
	uint64_t seq = 0;
	int ret;

	memset(events, 0, sizeof(*events) * nv);
	memset(lost, 0, sizeof(*lost) * nv);
	r = trace_reader_open(path, err, sizeof(err));
	assert_non_null(r);
	while ((ret = trace_reader_next(r, &ev, &pl)) == 1) {
		assert_int_equal(ev.seq, seq++);
		if (ev.type == TEV_LOST) {
			assert_true(ev.a0 > 0);
			assert_true(ev.a1 < (uint64_t)nv);
			lost[ev.a1] += ev.a0;
		} else if (ev.type != TEV_VM_END) {
			assert_true(ev.vcpu < (uint32_t)nv);
			events[ev.vcpu]++;
		}
	}
	assert_int_equal(ret, 0);
	trace_reader_close(r);
}

static void test_lossy_deterministic(void **state)
{
	struct trace_writer_opts o = { .lossy = true, .ring_bytes = 1 };
	char *path = tt_tmpfile("lossy");
	struct trace_event ev = { .type = TEV_KICK, .vcpu = 0 };
	uint64_t events, lost, ok = 0, drops = 0;
	struct trace_writer_stats st;
	struct trace_header h;
	struct trace_writer *w;
	struct trace_producer *p;
	char err[256];
	int ret;

	tt_header(&h);
	w = trace_writer_open(path, &h, &o, err, sizeof(err));
	assert_non_null(w);
	p = trace_producer_new(w);
	trace_writer__pause(w, true);
	for (int i = 0; i < 2000; i++) {
		ret = trace_emit(p, &ev, NULL);
		assert_true(ret == 0 || ret == -ENOBUFS);
		ret ? drops++ : ok++;
	}
	assert_true(drops > 1000);
	trace_writer__pause(w, false);
	assert_int_equal(trace_writer_flush(w), 0);
	/* the next emit reports the drops first */
	assert_int_equal(trace_emit(p, &ev, NULL), 0);
	assert_int_equal(ev.seq, ok + 1);
	ok++;
	assert_int_equal(trace_writer_flush(w), 0);
	trace_writer_stats(w, &st);
	assert_int_equal(st.dropped, drops);
	/* drops still pending at close are reported by close */
	trace_writer__pause(w, true);
	for (int i = 0; i < 2000; i++)
		trace_emit(p, &ev, NULL) ? drops++ : ok++;
	assert_int_equal(trace_writer_close(w, 0, 0, 0), 0);
	count_file(path, &events, &lost, 1);
	assert_int_equal(events, ok);
	assert_int_equal(lost, drops);
	assert_int_equal(events + lost, 4001);
	unlink(path);
	free(path);
}

static void *lossy_worker(void *arg)
{
	struct worker *k = arg;
	struct trace_producer *p = trace_producer_new(k->w);
	struct trace_event ev = { .type = TEV_EXIT_MMIO, .vcpu = k->id };

	if (!p) {
		k->bad = 1;
		return NULL;
	}
	for (uint32_t i = 0; i < k->n; i++) {
		int ret;

		ev.exit_seq = i;
		ret = trace_emit(p, &ev, NULL);
		if (ret && ret != -ENOBUFS)
			k->bad = 1;
		k->accepted += !ret;
	}
	return NULL;
}

static void test_lossy_concurrent(void **state)
{
	struct trace_writer_opts o = { .lossy = true, .ring_bytes = 1 };
	char *path = tt_tmpfile("lossy4");
	struct worker k[4];
	pthread_t th[4];
	uint64_t events[4], lost[4];
	struct trace_header h;
	struct trace_writer *w;
	char err[256];

	tt_header(&h);
	w = trace_writer_open(path, &h, &o, err, sizeof(err));
	assert_non_null(w);
	for (int i = 0; i < 4; i++) {
		k[i] = (struct worker){ .w = w, .id = (uint32_t)i,
					.n = PER_THREAD / 2 };
		pthread_create(&th[i], NULL, lossy_worker, &k[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(k[i].bad, 0);
	}
	assert_int_equal(trace_writer_close(w, 0, 0, 0), 0);
	count_file(path, events, lost, 4);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(events[i], k[i].accepted);
		assert_int_equal(events[i] + lost[i], PER_THREAD / 2);
	}
	unlink(path);
	free(path);
}

static void test_flush_visible(void **state)
{
	char *path = tt_tmpfile("flush");
	struct trace_event ev = { .type = TEV_HYPERCALL, .vcpu = 1 };
	struct trace_header h;
	struct trace_writer *w;
	struct trace_producer *p;
	struct trace_reader *r;
	const uint8_t *pl;
	char err[256];
	uint64_t n = 0;
	int ret;

	tt_header(&h);
	w = trace_writer_open(path, &h, NULL, err, sizeof(err));
	assert_non_null(w);
	p = trace_producer_new(w);
	for (int i = 0; i < 1000; i++) {
		ev.a0 = (uint64_t)i;
		assert_int_equal(trace_emit(p, &ev, NULL), 0);
	}
	assert_int_equal(trace_writer_flush(w), 0);
	assert_null(trace_writer_error(w));
	r = trace_reader_open(path, err, sizeof(err));
	assert_non_null(r);
	assert_true(trace_reader_truncated(r));
	while ((ret = trace_reader_next(r, &ev, &pl)) == 1)
		assert_int_equal(ev.a0, n++);
	assert_int_equal(ret, 0);
	assert_int_equal(n, 1000);
	assert_non_null(strstr(trace_reader_truncation(r),
			       "truncated after 1000 events"));
	trace_reader_close(r);
	assert_int_equal(trace_writer_close(w, 0, 0, 0), 0);
	unlink(path);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_many_producers),
		cmocka_unit_test(test_lossy_deterministic),
		cmocka_unit_test(test_lossy_concurrent),
		cmocka_unit_test(test_flush_visible),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
