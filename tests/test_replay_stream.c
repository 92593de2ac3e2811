/* replay/stream.c: cursors over a trace return exactly the events of their
 * class and VCPU, in order, with their payloads, however far apart they
 * drift (a lagging cursor decodes its chunks again), and a trace of any
 * length is read in a bounded cache. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "replay/stream.h"
#include "tests/helpers/testutil.h"

#define EVENTS 200000          /* written, and VM_END from the close */
#define TOTAL  (EVENTS + 1)
#define VCPUS  5

static char path[] = "/tmp/vcprr-stream-XXXXXX";

/* Class bits: 1 for even types, 2 for odd; a payload on every 7th. */
static uint32_t classify(void *arg, const struct trace_event *ev)
{
	(void)arg;
	return ev->type % 2 ? 2 : 1;
}

static void fill(uint64_t i, struct trace_event *ev, uint8_t *pl)
{
	uint64_t s = i * 0x9e3779b97f4a7c15ull;

	memset(ev, 0, sizeof(*ev));
	if (i == EVENTS) {
		ev->type = TEV_VM_END;
		ev->vcpu = TRACE_VCPU_NONE;
		return;
	}
	ev->type = 1 + (uint32_t)(test_rand(&s) % (TEV__COUNT - 1));
	ev->vcpu = i % 11 == 3 ? TRACE_VCPU_NONE : (uint32_t)(test_rand(&s) % VCPUS);
	ev->a0 = i;
	ev->payload_len = i % 7 ? 0 : 1 + (uint32_t)(i % 300);
	for (uint32_t k = 0; k < ev->payload_len; k++)
		pl[k] = (uint8_t)(i + k);
}

static int setup(void **state)
{
	struct trace_header h = { 0 };
	struct trace_writer_opts o = { .frame_events = 5000 };
	struct trace_writer *w;
	struct trace_producer *p;
	uint8_t pl[TRACE_MAX_PAYLOAD];
	char err[256];
	int fd = mkstemp(path);

	if (fd < 0)
		return -1;
	close(fd);
	strcpy(h.desc, "test\n");
	w = trace_writer_open(path, &h, &o, err, sizeof(err));
	if (!w)
		return -1;
	p = trace_producer_new(w);
	for (uint64_t i = 0; i < EVENTS; i++) {
		struct trace_event ev;

		fill(i, &ev, pl);
		if (trace_emit(p, &ev, pl))
			return -1;
	}
	return trace_writer_close(w, 0, 0, 0);
}

static int teardown(void **state)
{
	return unlink(path);
}

static int count_events(void *arg, const struct trace_event *ev,
			const uint8_t *pl)
{
	(*(uint64_t *)arg)++;
	return 0;
}

/* The next event of (cls, vcpu) at or after seq *i, as written. */
static bool expect_next(uint64_t *i, uint32_t cls, uint32_t vcpu,
			struct trace_event *ev, uint8_t *pl)
{
	for (; *i < TOTAL; (*i)++) {
		fill(*i, ev, pl);
		if ((classify(NULL, ev) & cls) &&
		    (vcpu == STREAM_ANY_VCPU || ev->vcpu == vcpu ||
		     (vcpu == VCPUS && ev->vcpu >= VCPUS))) {
			(*i)++;
			return true;
		}
	}
	return false;
}

static void check_at(const struct stream_cursor *c, uint64_t *i)
{
	struct trace_event want;
	uint8_t pl[TRACE_MAX_PAYLOAD];
	const struct trace_event *got = stream_peek(c);

	if (!expect_next(i, c->cls, c->vcpu, &want, pl)) {
		assert_null(got);
		return;
	}
	assert_non_null(got);
	assert_int_equal(got->seq, *i - 1);
	assert_int_equal(got->a0, want.a0);
	assert_int_equal(got->type, want.type);
	assert_int_equal(got->payload_len, want.payload_len);
	assert_memory_equal(c->pl, pl, want.payload_len);
}

static void test_cursors_drift_apart(void **state)
{
	char err[256];
	struct trace_stream *ts = stream_open(path, err, sizeof(err));
	struct stream_cursor c[2 * (VCPUS + 1) + 1];
	uint64_t at[2 * (VCPUS + 1) + 1] = { 0 }, n = 0, seed = 7;
	const int nc = 2 * (VCPUS + 1) + 1;
	struct stream_cursor copy = { 0 };
	bool left = true;

	assert_non_null(ts);
	assert_int_equal(stream_scan(ts, VCPUS, count_events, &n, err,
				     sizeof(err)), 0);
	assert_int_equal(n, TOTAL);
	assert_int_equal(stream_events(ts), TOTAL);
	assert_false(stream_truncated(ts));
	stream_set_classes(ts, classify, NULL);
	/* per VCPU (the last one: "other" VCPUs) and class, and one of all */
	for (int k = 0; k < nc - 1; k++)
		assert_int_equal(stream_cursor_init(&c[k], ts, 1u << (k % 2),
						    (uint32_t)(k / 2)), 0);
	assert_int_equal(stream_cursor_init(&c[nc - 1], ts, 3, STREAM_ANY_VCPU), 0);
	for (int k = 0; k < nc; k++) {
		uint64_t i = 0;

		check_at(&c[k], &i);
		at[k] = i;
	}
	/* Cursor k moves at its own pace: the slow ones fall far behind the
	 * cache of the fast ones. */
	while (left) {
		left = false;
		for (int k = 0; k < nc; k++) {
			int steps = 1 + (int)(test_rand(&seed) % (1 + 40 * (k % 4)));

			for (int s = 0; s < steps && stream_peek(&c[k]); s++) {
				stream_next(&c[k]);
				check_at(&c[k], &at[k]);
			}
			left |= stream_peek(&c[k]) != NULL;
		}
		if (stream_peek(&c[3]) && !copy.ts) {
			/* a copy looks ahead without moving the original */
			uint64_t i = at[3], j = at[3] - 1;

			assert_int_equal(stream_cursor_copy(&copy, &c[3]), 0);
			for (int s = 0; s < 1000 && stream_peek(&copy); s++) {
				stream_next(&copy);
				check_at(&copy, &i);
			}
			check_at(&c[3], &j);
		}
	}
	assert_null(stream_error(ts));
	/* lagging cursors decoded chunks again, but not for every event */
	assert_true(stream_decoded_chunks(ts) > EVENTS / 4096);
	assert_true(stream_decoded_chunks(ts) < EVENTS / 10);
	for (int k = 0; k < nc; k++)
		stream_cursor_free(&c[k]);
	stream_cursor_free(&copy);
	stream_close(ts);
}

static void test_read_by_seq(void **state)
{
	char err[256];
	struct trace_stream *ts = stream_open(path, err, sizeof(err));
	uint8_t pl[TRACE_MAX_PAYLOAD], want_pl[TRACE_MAX_PAYLOAD];
	struct trace_event ev, want;
	uint64_t n = 0, seed = 3;

	assert_non_null(ts);
	assert_int_equal(stream_scan(ts, VCPUS, count_events, &n, err,
				     sizeof(err)), 0);
	for (int k = 0; k < 500; k++) {
		uint64_t seq = test_rand(&seed) % TOTAL;

		assert_int_equal(stream_read_seq(ts, seq, &ev, pl, sizeof(pl)), 0);
		fill(seq, &want, want_pl);
		assert_int_equal(ev.seq, seq);
		assert_int_equal(ev.a0, want.a0);
		assert_memory_equal(pl, want_pl, want.payload_len);
	}
	assert_int_equal(stream_read_seq(ts, TOTAL, &ev, pl, sizeof(pl)), -1);
	stream_close(ts);
}

/* The file read as the replay goes is the one scanned, even when the
 * path names another file meanwhile. */
static void test_same_file_after_rename(void **state)
{
	char err[256], other[64];
	struct trace_stream *ts = stream_open(path, err, sizeof(err));
	struct stream_cursor c;
	uint64_t n = 0, i = 0;
	FILE *f;

	assert_non_null(ts);
	assert_int_equal(stream_scan(ts, VCPUS, count_events, &n, err,
				     sizeof(err)), 0);
	stream_set_classes(ts, classify, NULL);
	snprintf(other, sizeof(other), "%s.moved", path);
	assert_int_equal(rename(path, other), 0);
	f = fopen(path, "w");
	fputs("not a trace", f);
	fclose(f);
	assert_int_equal(stream_cursor_init(&c, ts, 3, STREAM_ANY_VCPU), 0);
	for (int s = 0; s < 20000; s++) {
		check_at(&c, &i);
		stream_next(&c);
	}
	assert_null(stream_error(ts));
	stream_cursor_free(&c);
	stream_close(ts);
	assert_int_equal(rename(other, path), 0);
}

struct walker {
	struct trace_stream *ts;
	uint32_t vcpu;
	uint64_t seen, bad;
};

/* One thread per VCPU, each with its own cursors: the shared cache is
 * what they race on (make tsan runs this). */
static void *walk(void *arg)
{
	struct walker *w = arg;
	struct stream_cursor c[2];
	uint64_t at[2] = { 0, 0 };

	for (int k = 0; k < 2; k++)
		stream_cursor_init(&c[k], w->ts, 1u << k, w->vcpu);
	while (stream_peek(&c[0]) || stream_peek(&c[1]))
		for (int k = 0; k < 2; k++) {
			struct trace_event want;
			uint8_t pl[TRACE_MAX_PAYLOAD];

			if (!stream_peek(&c[k]))
				continue;
			if (!expect_next(&at[k], c[k].cls, w->vcpu, &want, pl) ||
			    c[k].ev.seq != at[k] - 1 ||
			    (want.payload_len &&
			     memcmp(c[k].pl, pl, want.payload_len)))
				w->bad++;
			w->seen++;
			stream_next(&c[k]);
		}
	stream_cursor_free(&c[0]);
	stream_cursor_free(&c[1]);
	return NULL;
}

static void test_threads_share_the_cache(void **state)
{
	char err[256];
	struct trace_stream *ts = stream_open(path, err, sizeof(err));
	struct walker w[VCPUS];
	pthread_t t[VCPUS];
	uint64_t n = 0, seen = 0;

	assert_non_null(ts);
	assert_int_equal(stream_scan(ts, VCPUS, count_events, &n, err,
				     sizeof(err)), 0);
	stream_set_classes(ts, classify, NULL);
	for (unsigned i = 0; i < VCPUS; i++) {
		w[i] = (struct walker){ .ts = ts, .vcpu = i };
		assert_int_equal(pthread_create(&t[i], NULL, walk, &w[i]), 0);
	}
	for (unsigned i = 0; i < VCPUS; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].bad, 0);
		seen += w[i].seen;
	}
	assert_true(seen > EVENTS / 2);  /* (VM-wide events are no VCPU's) */
	assert_null(stream_error(ts));
	stream_close(ts);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cursors_drift_apart),
		cmocka_unit_test(test_threads_share_the_cache),
		cmocka_unit_test(test_read_by_seq),
		cmocka_unit_test(test_same_file_after_rename),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
