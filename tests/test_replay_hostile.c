/* Replay on hostile traces: well-formed files (valid frames, checksums,
 * dense sequence numbers) whose events lie.  Corpus traces are rewritten
 * with one semantic mutation each (a field set to an edge value, an event
 * dropped, repeated or moved, the header's VCPUs or memory changed) and
 * replayed by the real CLI.  Every replay must end with a verdict (same,
 * diverged, nothing to replay, cannot replay), within its timeout, with no
 * sanitizer report:
 * make check-asan runs this with the ASan+UBSan vcprr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tests/helpers/testutil.h"
#include "traces/trace.h"
#include "vmm/run-desc.h"

#define MUTANTS       150
#define MAX_EVENTS    8192

struct rec {
	struct trace_event ev;
	uint8_t *payload;
};

struct trace {
	struct trace_header h;
	struct run_desc d;          /* h's run description, mutable */
	struct rec *v;
	size_t n;
};

static char dir[64];

static void load(const char *path, struct trace *t)
{
	struct trace_reader *r;
	struct trace_event ev;
	const uint8_t *pl;
	char err[512];

	r = trace_reader_open(path, err, sizeof(err));
	if (!r)
		fail_msg("%s", err);
	t->h = *trace_reader_header(r);
	if (run_desc_decode(&t->h, &t->d, err, sizeof(err)))
		fail_msg("%s", err);
	t->v = calloc(MAX_EVENTS, sizeof(*t->v));
	t->n = 0;
	while (t->n < MAX_EVENTS && trace_reader_next(r, &ev, &pl) == 1) {
		t->v[t->n].ev = ev;
		t->v[t->n].payload = malloc(ev.payload_len + 1);
		memcpy(t->v[t->n].payload, pl, ev.payload_len);
		t->n++;
	}
	trace_reader_close(r);
	assert_true(t->n > 1);
}

static void free_trace(struct trace *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].payload);
	free(t->v);
}

/* Writes t to path with event `skip` left out and event `twice` written
 * twice (SIZE_MAX: none); the last event (VM_END) closes the trace. */
static void write_trace(const char *path, const struct trace *t, size_t skip,
			size_t twice)
{
	const struct trace_event *end = &t->v[t->n - 1].ev;
	struct trace_header h;
	struct trace_producer *p;
	struct trace_writer *w;
	char err[512];

	h = t->h;
	assert_int_equal(run_desc_encode(&t->d, &h, err, sizeof(err)), 0);
	w = trace_writer_open(path, &h, NULL, err, sizeof(err));
	if (!w)
		fail_msg("%s", err);
	p = trace_producer_new(w);
	for (size_t i = 0; i + 1 < t->n; i++) {
		struct trace_event ev = t->v[i].ev;

		if (i == skip)
			continue;
		assert_int_equal(trace_emit_timed(p, &ev, t->v[i].payload), 0);
		if (i == twice) {
			ev = t->v[i].ev;
			assert_int_equal(trace_emit_timed(p, &ev, t->v[i].payload), 0);
		}
	}
	assert_int_equal(trace_writer_close(w, (uint32_t)end->a0, (int64_t)end->a1,
					    end->a2), 0);
}

/* An edge value for a 64-bit field. */
static uint64_t edge(uint64_t *s, uint64_t old)
{
	static const uint64_t v[] = { 0, 1, 2, 0xff, 0x7fffffff, 0xffffffff,
				      0x100000, 0xd0000000, UINT64_MAX,
				      UINT64_MAX - 1, 1ull << 63 };
	uint64_t r = test_rand(s);

	switch (r % 4) {
	case 0: return old ^ (1ull << (r >> 8) % 64);
	case 1: return old + 1;
	case 2: return test_rand(s);
	default: return v[(r >> 8) % (sizeof(v) / sizeof(v[0]))];
	}
}

/* Changes one thing in t (event *k, or the header); returns what, for
 * the failure message. */
static const char *mutate(struct trace *t, uint64_t *s, size_t *k,
			  size_t *skip, size_t *twice)
{
	struct trace_event *ev;

	*k = test_rand(s) % (t->n - 1);  /* never the closing VM_END */
	ev = &t->v[*k].ev;
	*skip = *twice = SIZE_MAX;
	switch (test_rand(s) % 12) {
	case 0: ev->type = 1 + test_rand(s) % (TEV__COUNT - 1); return "type";
	case 1: ev->vcpu = (uint32_t)edge(s, ev->vcpu); return "vcpu";
	case 2: ev->exit_seq = edge(s, ev->exit_seq); return "exit_seq";
	case 3: ev->rip = edge(s, ev->rip); return "rip";
	case 4: ev->a0 = edge(s, ev->a0); return "a0";
	case 5: ev->a1 = edge(s, ev->a1); return "a1";
	case 6: ev->a2 = edge(s, ev->a2); return "a2";
	case 7: ev->payload_len /= 2; return "payload length";
	case 8: *skip = *k; return "presence (dropped)";
	case 9: *twice = *k; return "count (repeated)";
	case 10: t->d.nr_vcpus = (uint32_t[]){ 0, 1, 3, 9, 5000 }[test_rand(s) % 5];
		return "header's nr_vcpus";
	default:
		t->d.mem_size = (uint64_t[]){ 0, 4096, 2 << 20, 1ull << 40,
					      UINT64_MAX }[test_rand(s) % 5];
		return "header's mem_size";
	}
}

static void replay_mutants(const char *corpus, uint64_t *seed, int n)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/m.trace", dir);
	for (int i = 0; i < n; i++) {
		size_t k, skip, twice;
		struct trace t;
		const char *what;
		char *out;
		int st;

		load(corpus, &t);
		what = mutate(&t, seed, &k, &skip, &twice);
		write_trace(path, &t, skip, twice);
		free_trace(&t);
		st = vcprr_sh(&out, "timeout 60 $V replay --timeout 10s %s", path);
		if ((st != 0 && st != 1 && st != 3 && st != 126) ||
		    strstr(out, "Sanitizer") ||
		    strstr(out, "runtime error"))
			fail_msg("%s with event %zu's %s mutated: replay exited "
				 "%d:\n%s", corpus, k, what, st, out);
		free(out);
	}
}

static void test_mutated_traces_end_with_a_verdict(void **state)
{
	static const char *const corpus[] = {
		"tests/corpus/hello-serial.trace", "tests/corpus/hello-parallel.trace",
		"tests/corpus/hello-step.trace", "tests/corpus/rng-serial.trace",
		"tests/corpus/rng-parallel.trace", "tests/corpus/assert-step.trace",
		"tests/corpus/triple-parallel.trace",
	};
	const char *env = getenv("VCPRR_HOSTILE_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL);
	int per = MUTANTS / (int)(sizeof(corpus) / sizeof(corpus[0]));

	SKIP_WITHOUT_KVM();
	printf("seed %llu (VCPRR_HOSTILE_SEED)\n", (unsigned long long)seed);
	for (size_t i = 0; i < sizeof(corpus) / sizeof(corpus[0]); i++)
		replay_mutants(corpus[i], &seed, per);
}

/* The index of the first event of @type in t at or after @from. */
static size_t find(const struct trace *t, uint32_t type, size_t from)
{
	for (size_t i = from; i < t->n; i++)
		if (t->v[i].ev.type == type)
			return i;
	fail_msg("no %s event", trace_event_name(type));
	return 0;
}

/* A serial trace whose schedule cannot happen diverges at once, naming the
 * step (waiting for the turn would wait forever). */
static void test_impossible_schedule_diverges_at_once(void **state)
{
	char path[128], *out;
	struct trace t;
	size_t k;

	SKIP_WITHOUT_KVM();
	snprintf(path, sizeof(path), "%s/s.trace", dir);
	load("tests/corpus/hello-serial.trace", &t);
	k = find(&t, TEV_SCHED_SWITCH, find(&t, TEV_SCHED_SWITCH, 0) + 1);
	t.v[k].ev.vcpu = 7;  /* the second switch: to a VCPU of 4 that is not */
	write_trace(path, &t, SIZE_MAX, SIZE_MAX);
	assert_int_equal(vcprr_sh(&out, "timeout 20 $V replay %s", path), 1);
	assert_non_null(strstr(out, "the trace switches to vcpu 7, which does not exist"));
	free(out);

	write_trace(path, &t, k, SIZE_MAX);  /* that switch left out */
	assert_int_equal(vcprr_sh(&out, "timeout 20 $V replay %s", path), 1);
	assert_non_null(strstr(out, "replay diverged: at step "));
	free(out);
	free_trace(&t);
}

static int setup(void **state)
{
	return scratch_dir(dir, sizeof(dir), "hostile");
}

static int teardown(void **state)
{
	return scratch_dir_remove(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_impossible_schedule_diverges_at_once),
		cmocka_unit_test(test_mutated_traces_end_with_a_verdict),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
