/* vcprr debug TRACE end to end: a real gdb in batch mode on the replay of
 * a failing lost-update step trace (found by explore --preempt step):
 * breaking on the assertion, reverse-continue with a watchpoint back to
 * the store of the stale value, reverse-stepi then stepi back to the same
 * registers, going back to random points and on to the end (same events,
 * same memory digest), goto an event, and the refusals (parallel and
 * serial traces). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <poll.h>

#include "debug/replay-target.h"
#include "tests/helpers/gdb-client.h"
#include "tests/helpers/testutil.h"

static char dir[64], trace[128];

static void expect(const char *out, const char *what)
{
	if (!strstr(out, what))
		fail_msg("expected '%s' in:\n%s", what, out);
}

/* A failing step trace of lost-update, once for all tests. */
static int setup(void **state)
{
	char *out;

	(void)state;
	if (!kvm_usable())
		return 0;
	if (scratch_dir(dir, sizeof(dir), "debug-reverse"))
		return -1;
	vcprr_sh(&out, "$V explore %s --runs 60 --seed 1 --policy pct:2 "
		 "--preempt step -o %s/x >/dev/null 2>&1; ls %s/x/fail-*.trace | "
		 "head -1", guest_path("lost-update"), dir, dir);
	snprintf(trace, sizeof(trace), "%.*s", (int)strcspn(out, "\n"), out);
	free(out);
	return strstr(trace, "fail-") ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	if (dir[0])
		scratch_dir_remove(dir);
	return 0;
}

/* vcprr debug TRACE with gdb running @script (gdb commands, one a line). */
static int debug_script(char **out, const char *script)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/cmds.gdb", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(script, f);
	fclose(f);
	return vcprr_sh(out, "timeout 300 $V debug %s -- -batch -nx "
			"-x %s", trace, path);
}

static void test_break_on_assert(void **state)
{
	char *out;

	(void)state;
	SKIP_WITHOUT_GDB();
	assert_int_equal(debug_script(&out, "break vcprr_assert_fail\n"
		"continue\ninfo threads\nmonitor where\n"), 0);
	expect(out, "Thread 1 hit Breakpoint 1, vcprr_assert_fail");
	expect(out, "lost-update.c\", line=line@entry=56)");
	expect(out, "Thread 2 (vcpu 1, exited with 0)");
	expect(out, "* 1    Thread 1 (vcpu 0, running)");
	expect(out, "events replayed); vcpu 0 runs next");
	free(out);
}

/* The watched writes of a run: thread, value before, value after. */
struct write { int thread; unsigned long before, after; };

/* Parses gdb's watchpoint reports; reverse ones have the values swapped
 * (gdb's "old" is the later one). */
static int parse_writes(const char *out, struct write *w, int max, bool rev)
{
	const char *p = out;
	int n = 0;

	while (n < max && (p = strstr(p, " hit Hardware watchpoint "))) {
		const char *t = p;
		unsigned long a, b;

		while (t > out && strncmp(t, "Thread ", 7))
			t--;
		p = strstr(p, "Old value = ");
		if (!p || sscanf(p, "Old value = %lu\nNew value = %lu", &a, &b) != 2)
			break;
		w[n].thread = atoi(t + 7);
		w[n].before = rev ? b : a;
		w[n].after = rev ? a : b;
		n++;
	}
	return n;
}

/* Going back from the assertion with `watch total` meets every store to
 * total, in the same threads with the same values as going forward, in
 * the reverse order; among them the store of a stale value (one that
 * makes the total smaller) in the thread the forward run saw make it. */
static void test_watch_reverse_continue(void **state)
{
	char script[8192], *fwd, *rev;
	struct write f[128], r[128];
	int nf, nr, stale = -1;
	size_t len;

	(void)state;
	SKIP_WITHOUT_GDB();
	len = (size_t)snprintf(script, sizeof(script), "watch total\n");
	for (int i = 0; i < 100; i++)
		len += (size_t)snprintf(script + len, sizeof(script) - len,
					"continue\n");
	assert_int_equal(debug_script(&fwd, script), 0);
	len = (size_t)snprintf(script, sizeof(script), "break vcprr_assert_fail\n"
			       "continue\ndelete\nwatch total\n");
	for (int i = 0; i < 100; i++)
		len += (size_t)snprintf(script + len, sizeof(script) - len,
					"reverse-continue\n");
	assert_int_equal(debug_script(&rev, script), 0);
	nf = parse_writes(fwd, f, 128, false);
	nr = parse_writes(rev, r, 128, true);
	assert_true(nf > 40);
	if (nr != nf)
		fail_msg("%d writes forward, %d backward:\n%s", nf, nr, rev);
	for (int i = 0; i < nf; i++) {
		const struct write *b = &r[nf - 1 - i];

		if (b->thread != f[i].thread || b->before != f[i].before ||
		    b->after != f[i].after)
			fail_msg("write %d: thread %d %lu -> %lu forward, thread "
				 "%d %lu -> %lu backward", i, f[i].thread,
				 f[i].before, f[i].after, b->thread, b->before,
				 b->after);
		if (stale < 0 && f[i].after <= f[i].before)
			stale = i;
	}
	assert_true(stale >= 0);
	/* Shown at the store itself, before it ran, at its source line. */
	expect(rev, "in add_updates () at tests/guests/lost-update.c:40");
	expect(rev, "No more reverse-execution history.");
	free(fwd);
	free(rev);
}

/* The registers of every thread and the memory printed after @n stepi. */
static void test_reverse_stepi_roundtrip(void **state)
{
	static const int ns[] = { 1, 7, 40 };
	char script[1024], *out, *a, *b, *c, *ra, *rb;

	(void)state;
	SKIP_WITHOUT_GDB();
	for (unsigned k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
		snprintf(script, sizeof(script),
			 "break add_updates\ncontinue\ncontinue\ndelete\n"
			 "stepi 60\necho @@A\\n\ninfo registers\nx/2gx &total\n"
			 "monitor where\necho @@Z\\n\nreverse-stepi %d\n"
			 "echo @@B\\n\n"
			 "info registers\nstepi %d\necho @@C\\n\ninfo registers\n"
			 "x/2gx &total\nmonitor where\necho @@Z\\n\n", ns[k], ns[k]);
		assert_int_equal(debug_script(&out, script), 0);
		a = strstr(out, "@@A");
		b = a ? strstr(a, "@@B") : NULL;
		c = b ? strstr(b, "@@C") : NULL;
		if (!c)
			fail_msg("no output:\n%s", out);
		*strstr(a, "@@Z") = *b = *strstr(c, "@@Z") = '\0';
		/* Going back moved; coming forward returned exactly. */
		ra = strstr(a + 3, "rax ");
		rb = strstr(b + 3, "rax ");
		if (!ra || !rb || !strstr(ra, "fs_base") ||
		    !strncmp(ra, rb, (size_t)(strstr(ra, "fs_base") - ra)))
			fail_msg("reverse-stepi %d did not move:\n%s", ns[k], b + 3);
		if (strcmp(a + 3, c + 3))
			fail_msg("after reverse-stepi %d, stepi %d:\n%s\nnot as "
				 "before:\n%s", ns[k], ns[k], c + 3, a + 3);
		free(out);
	}
}

/* Going back to random points and on to the end replays the same run:
 * every event checked against the trace, the recorded memory digest. */
static void test_back_and_on_to_the_end(void **state)
{
	uint64_t seed = 0x5eed;
	char script[2048], *out, *p;
	size_t len;
	int ends = 0;

	(void)state;
	SKIP_WITHOUT_GDB();
	len = (size_t)snprintf(script, sizeof(script), "continue\nmonitor where\n");
	for (int i = 0; i < 4; i++)
		len += (size_t)snprintf(script + len, sizeof(script) - len,
			"reverse-stepi %u\nmonitor where\ncontinue\nmonitor where\n",
			1 + (unsigned)(test_rand(&seed) % 600));
	assert_int_equal(debug_script(&out, script), 0);
	for (p = out; (p = strstr(p, "the run ended: memory digest ")); p++) {
		unsigned long long now, rec;

		assert_int_equal(sscanf(p, "the run ended: memory digest %llx, "
					"recorded %llx", &now, &rec), 2);
		assert_true(now == rec && rec != 0);
		ends++;
	}
	assert_int_equal(ends, 5);
	assert_null(strstr(out, "differs from the trace"));
	free(out);
}

/* goto EVENT stops right after the event: a PAUSE_TAKEN lands with the
 * paused VCPU at the rip the trace recorded. */
static void test_goto_event(void **state)
{
	char *dump, *out, script[256], *p;
	unsigned long seq, rip;

	(void)state;
	SKIP_WITHOUT_GDB();
	vcprr_sh(&dump, "$V inspect dump %s | grep PAUSE_TAKEN | grep 'vcpu 1' "
		 "| head -1", trace);
	p = strstr(dump, "rip=0x");
	if (!p)
		skip();  /* no pause of vcpu 1 in this trace */
	assert_int_equal(sscanf(dump, "#%lu", &seq), 1);
	rip = strtoul(p + 4, NULL, 16);
	snprintf(script, sizeof(script), "monitor goto %lu\n"
		 "maintenance flush register-cache\nthread 2\n"
		 "printf \"rip=%%lx\\n\", $pc\nmonitor goto 99999\n", seq);
	assert_int_equal(debug_script(&out, script), 0);
	snprintf(script, sizeof(script), "rip=%lx\n", rip);
	expect(out, script);
	expect(out, "goto: the trace ended before event 99999");
	free(dump);
	free(out);
}

/* monitor checkpoint takes one at the stop (or says why not there);
 * monitor checkpoints lists them, the trace's start first; going back
 * past them and on again lands on the same registers. */
static void test_monitor_checkpoints(void **state)
{
	char *out;

	(void)state;
	SKIP_WITHOUT_GDB();
	assert_int_equal(debug_script(&out, "break vcprr_assert_fail\n"
		"continue\nmonitor checkpoint\nstepi\nstepi\n"
		"monitor checkpoint\nmonitor checkpoints\n"
		"printf \"at=%lx\\n\", $pc\nreverse-stepi\nreverse-stepi\n"
		"reverse-stepi\nstepi\nstepi\nstepi\n"
		"printf \"at=%lx\\n\", $pc\n"), 0);
	expect(out, "checkpoint 0: step 0, after trace event 0 (the trace's "
	       "start)");
	if (!strstr(out, "(asked for)") || !strstr(out, " MiB; one every "))
		fail_msg("no checkpoint asked for listed:\n%s", out);
	{
		const char *a = strstr(out, "at="), *b = a ? strstr(a + 3, "at=") : NULL;

		assert_non_null(b);
		assert_memory_equal(a, b, strcspn(a, "\n"));
	}
	free(out);
}

/* Reverse execution needs a step recording: others are refused, clearly. */
static void test_refusals(void **state)
{
	char *out;

	(void)state;
	SKIP_WITHOUT_GDB();
	assert_int_equal(vcprr_sh(&out, "$V debug tests/corpus/hello-parallel."
				  "trace --guest %s", guest_path("hello")), 126);
	expect(out, "a parallel trace: debugging a replay, with reverse "
	       "execution, needs a step recording");
	free(out);
	assert_int_equal(vcprr_sh(&out, "$V debug tests/corpus/hello-serial."
				  "trace --guest %s", guest_path("hello")), 126);
	expect(out, "a serial trace");
	free(out);
	assert_int_equal(vcprr_sh(&out, "$V debug %s --guest %s", trace,
				  guest_path("hello")), 126);
	expect(out, "is not the guest image this trace was recorded with");
	free(out);
}

/* In process (and so under ThreadSanitizer): a debug target over the
 * trace runs to its end, goes back to random positions (a new replay
 * each) and on to the end again, always the same number of steps. */
static void to_end(struct debug_target t)
{
	struct debug_resume r = { .kind = DEBUG_CONTINUE, .thread = -1 };
	struct pollfd p = { .fd = t.ops->stop_fd(t.t), .events = POLLIN };
	struct debug_stop s;
	char err[256];

	assert_int_equal(t.ops->resume(t.t, &r, err, sizeof(err)), 0);
	while (!t.ops->poll_stop(t.t, &s))
		poll(&p, 1, -1);
	assert_int_equal(s.kind, DEBUG_STOP_TRACE_END);
}

static void test_target_round_trip(void **state)
{
	struct replay_opts o = { .console_fd = -1 };
	struct debug_points points = { 0 };
	struct replay_target *rt;
	struct debug_target t;
	uint64_t seed = 0xc0ffee, end;
	char err[4096];

	(void)state;
	SKIP_WITHOUT_KVM();
	rt = replay_target_create(trace, &o, &points, err, sizeof(err));
	if (!rt)
		fail_msg("%s", err);
	t = replay_target_of(rt);
	to_end(t);
	end = replay_target_position(rt);
	assert_true(end > 100);
	for (int i = 0; i < 3; i++) {
		uint64_t at = test_rand(&seed) % end;

		assert_int_equal(replay_target_seek(rt, at, err, sizeof(err)), 0);
		assert_int_equal(replay_target_position(rt), at);
		to_end(t);
		assert_int_equal(replay_target_position(rt), end);
	}
	replay_target_destroy(rt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_break_on_assert),
		cmocka_unit_test(test_watch_reverse_continue),
		cmocka_unit_test(test_reverse_stepi_roundtrip),
		cmocka_unit_test(test_back_and_on_to_the_end),
		cmocka_unit_test(test_goto_event),
		cmocka_unit_test(test_monitor_checkpoints),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_target_round_trip),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
