/* vcprr explore and minimize end to end: the scenario guests' bugs are
 * found, their correct twins never fail, every kept failure replays and
 * fails the same way, minimizing keeps the failure and never grows the
 * schedule, and a seed gives the same results every time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "replay/replay.h"
#include "tests/helpers/testutil.h"
#include "tools/explore.h"
#include "traces/trace.h"
#include "tools/minimize.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/vcprr-explore-%d", getpid());
	mkdir(dir, 0700);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

/* Runs explore --json into dir/SUB; returns the exit status, *json the
 * output (malloc'd). */
static int explore(char **json, const char *guest, const char *sub,
		   const char *opts)
{
	return vcprr_sh(json, "$V explore %s -o %s/%s --force --json %s 2>/dev/null",
			guest_path(guest), dir, sub, opts);
}

static unsigned json_uint(const char *json, const char *key)
{
	char k[64];
	const char *p;

	snprintf(k, sizeof(k), "\"%s\": ", key);
	p = strstr(json, k);
	if (!p)
		fail_msg("no %s in %s", key, json);
	return (unsigned)strtoul(p + strlen(k), NULL, 10);
}

/* The path of the first kept trace in explore's JSON (static). */
static const char *first_trace(const char *json)
{
	static char path[256];
	const char *p = strstr(json, "\"trace\": \"");
	size_t n;

	if (!p)
		fail_msg("no failing run in %s", json);
	p += strlen("\"trace\": \"");
	n = strcspn(p, "\"");
	snprintf(path, sizeof(path), "%.*s", (int)n, p);
	return path;
}

struct scenario {
	const char *buggy, *fixed, *opts, *signature;
};

/* Each bug is found within a bounded number of runs, and its twin never
 * fails in as many. */
static void test_scenarios(void **state)
{
	static const struct scenario sc[] = {
		{ "lost-update", "lost-update-fixed",
		  "--runs 60 --seed 1 --sched pct:3 --preempt step --pauses 0 -j 2",
		  "lost-update.c:56" },
		{ "tas-lock", "xchg-lock",
		  "--runs 60 --seed 1 --sched pct:3 --preempt step --pauses 0.01 -j 2",
		  "atomic_add(&inside, 1) == 1" },
		{ "handshake", "handshake-fixed",
		  "--runs 60 --seed 1 --sched pct:3 --preempt exit --pauses 0.05 -j 2",
		  "++polls <= PATIENCE" },
		/* explore's defaults (pct:3, step, pauses 0.01) */
		{ "check-then-act", "check-then-act-fixed", "--runs 60 --seed 1 -j 2",
		  "atomic_load(&builds) == 1" },
		{ "ring-nofull", "ring-nofull-fixed", "--runs 60 --seed 1 -j 2",
		  "consume() == i" },
		{ "order3", "order3-fixed", "--runs 60 --seed 1 -j 2 --vcpus 3",
		  "ENTRIES * (ENTRIES + 1) / 2" },
		/* Concurrency Kit (libck-dev) misused, and used right */
		{ "ck-seqlock-noretry", "ck-seqlock",
		  "--runs 60 --seed 1 -j 2 --vcpus 3", "b == 2 * a" },
		{ "ck-ring-2prod", "ck-ring", "--runs 60 --seed 1 -j 2 --vcpus 3",
		  "ck-ring.c:" },
	};

	(void)state;
	SKIP_WITHOUT_KVM();
	for (size_t i = 0; i < sizeof(sc) / sizeof(sc[0]); i++) {
		char *out;
		int st = explore(&out, sc[i].buggy, sc[i].buggy, sc[i].opts);
		if (st != 1 || json_uint(out, "failures") == 0 ||
		    !strstr(out, sc[i].signature))
			fail_msg("%s: explore found nothing (status %d): %s",
				 sc[i].buggy, st, out);
		assert_int_equal(json_uint(out, "runs"), 60);
		free(out);
		st = explore(&out, sc[i].fixed, sc[i].fixed, sc[i].opts);
		if (st != 0 || json_uint(out, "failures") != 0)
			fail_msg("%s failed (status %d): %s", sc[i].fixed, st, out);
		free(out);
	}
	/* A correct program with exits only, under both preemption modes. */
	for (int step = 0; step < 2; step++) {
		char *out;
		int st = explore(&out, "hello", "hello", step ?
				 "--runs 10 --seed 3 --vcpus 3 --preempt step --pauses 0.05" :
				 "--runs 30 --seed 3 --vcpus 3 --preempt exit --pauses 0.2");
		if (st != 0)
			fail_msg("hello failed under explore: %s", out);
		free(out);
	}
}

/* Every kept failure replays, and fails the same way, 10 times of 10. */
static void test_failures_replay(void **state)
{
	char *out, path[256], kept[8][256];
	unsigned nkept = 0;
	const char *p;

	(void)state;
	SKIP_WITHOUT_KVM();
	assert_int_equal(explore(&out, "lost-update", "replay",
				 "--runs 40 --seed 11 --pauses 0.01 -j 2"), 1);
	for (p = out; nkept < 3 && (p = strstr(p, "\"trace\": \"")); p++) {
		p += strlen("\"trace\": \"");
		snprintf(kept[nkept++], sizeof(kept[0]), "%.*s",
			 (int)strcspn(p, "\""), p);
	}
	assert_true(nkept > 0);
	for (unsigned k = 0; k < nkept; k++) {
		for (int i = 0; i < 10; i++) {
			struct replay_opts o = { .console_fd = -1 };
			struct replay_result *r = calloc(1, sizeof(*r));
			replay_trace(kept[k], &o, r);
			if (r->status != REPLAY_SAME || !strstr(r->end, "guest-assert") ||
			    !strstr(r->end, "lost-update.c:56"))
				fail_msg("%s replay %d: %s / %s", kept[k], i, r->end,
					 r->message);
			free(r);
		}
	}
	/* And the rerun command repeats the run alone. */
	snprintf(path, sizeof(path), "%s", kept[0]);
	p = strrchr(path, '-');
	assert_non_null(p);
	free(out);
	{
		char opts[128];
		snprintf(opts, sizeof(opts), "--runs 1 --pauses 0.01 --seed %lu",
			 strtoul(p + 1, NULL, 10));
		assert_int_equal(explore(&out, "lost-update", "alone", opts), 1);
		assert_non_null(strstr(out, "lost-update.c:56"));
		free(out);
	}
}

/* minimize keeps the failure and does not grow the schedule. */
static void test_minimize(void **state)
{
	char *out, min[256], prev[256];
	const char *kept;

	(void)state;
	SKIP_WITHOUT_KVM();
	/* Random schedules: hundreds of switches to shrink. */
	assert_int_equal(explore(&out, "tas-lock", "min",
				 "--runs 20 --seed 5 --sched random --pauses 0.01"), 1);
	kept = first_trace(out);
	for (int pass = 0; pass < 2; pass++) {
		struct minimize_opts o = { 0 };
		struct minimize_report rep;
		struct replay_opts ro = { .console_fd = -1 };
		struct replay_result *r = calloc(1, sizeof(*r));
		char err[512];

		snprintf(min, sizeof(min), "%s/min%d.trace", dir, pass);
		if (minimize_trace(kept, min, &o, &rep, err, sizeof(err)) != MINIMIZE_OK)
			fail_msg("minimize %s: %s", kept, err);
		assert_non_null(strstr(rep.signature, "atomic_add(&inside, 1) == 1"));
		assert_true(rep.after.preemptions <= rep.before.preemptions);
		assert_true(rep.after.injected <= rep.before.injected);
		assert_true(rep.after.decisions + rep.after.injections <=
			    rep.before.decisions + rep.before.injections);
		assert_true(rep.after.preemptions <= 3);
		replay_trace(min, &ro, r);
		if (r->status != REPLAY_SAME || !strstr(r->end, "atomic_add(&inside"))
			fail_msg("%s: %s / %s", min, r->end, r->message);
		free(r);
		snprintf(prev, sizeof(prev), "%s", min);
		kept = prev;  /* minimizing a minimized trace keeps it failing */
	}
	free(out);
	/* The CLI: a report, and clear refusals. */
	assert_int_equal(vcprr_sh(&out, "$V minimize %s -o %s/again.trace", min, dir), 0);
	assert_non_null(strstr(out, "before"));
	assert_non_null(strstr(out, "after"));
	free(out);
	assert_int_equal(vcprr_sh(&out, "$V record -o %s/par.trace %s --vcpus 2 "
				  ">/dev/null && $V minimize %s/par.trace -o %s/x.trace",
				  dir, guest_path("hello"), dir, dir), 126);
	assert_non_null(strstr(out, "serial or step"));
	free(out);
	assert_int_equal(vcprr_sh(&out, "$V record -o %s/ok.trace %s --vcpus 2 "
				  "--sched serial >/dev/null && $V minimize %s/ok.trace "
				  "-o %s/x.trace", dir, guest_path("hello"), dir, dir), 1);
	assert_non_null(strstr(out, "does not fail"));
	free(out);
	assert_int_equal(vcprr_sh(&out, "$V minimize %s/missing.trace -o %s/x.trace",
				  dir, dir), 126);
	assert_non_null(strstr(out, "missing.trace"));
	free(out);
}

/* The failed_runs part of explore's JSON: the same seed, the same runs. */
static char *failed_runs(char *json)
{
	char *p = strstr(json, "\"failed_runs\"");

	if (!p)
		fail_msg("no failed_runs in %s", json);
	return p;
}

static void test_same_seed_same_results(void **state)
{
	char *a, *b, *c;

	(void)state;
	SKIP_WITHOUT_KVM();
	assert_int_equal(explore(&a, "lost-update", "s1",
				 "--runs 30 --seed 21 --pauses 0.01 -j 2"), 1);
	assert_int_equal(explore(&b, "lost-update", "s1",
				 "--runs 30 --seed 21 --pauses 0.01 -j 2"), 1);
	assert_int_equal(explore(&c, "lost-update", "s1",
				 "--runs 30 --seed 21 --pauses 0.01 -j 1"), 1);
	assert_string_equal(failed_runs(a), failed_runs(b));
	assert_string_equal(failed_runs(a), failed_runs(c));  /* whatever -j */
	free(a);
	free(b);
	free(c);
}

/* Hangs are failures with their own signatures, each bounded. */
static void test_hangs(void **state)
{
	static const struct { const char *guest, *opts, *says; } hang[] = {
		/* spins forever waiting for a register edit */
		{ "regwait", "--preempt step --budget 5000", "hang: 5000 scheduling points" },
		{ "regwait", "--preempt exit", "hang: vcpu * ran 2000 ms without a VM exit" },
		/* every VCPU halts */
		{ "idle", "--preempt exit --pauses 0", "every VCPU is halted" },
	};

	(void)state;
	SKIP_WITHOUT_KVM();
	for (size_t i = 0; i < sizeof(hang) / sizeof(hang[0]); i++) {
		char *out, opts[128];
		int st;

		snprintf(opts, sizeof(opts), "--runs 1 --seed 1 %s", hang[i].opts);
		st = explore(&out, hang[i].guest, "hang", opts);
		if (st != 1 || !strstr(out, hang[i].says))
			fail_msg("%s %s: status %d: %s", hang[i].guest, opts, st, out);
		free(out);
	}
}

/* A signature names the failure, not the VCPU that hit it. */
static void test_signature_without_vcpu(void **state)
{
	char a[EXPLORE_SIG_MAX], b[EXPLORE_SIG_MAX], tiny[8];

	(void)state;
	explore_signature(TEND_GUEST_FAULT, 1, "hang: vcpu 0 ran 2000 ms without "
			  "a VM exit\n  rax=1", a, sizeof(a));
	explore_signature(TEND_GUEST_FAULT, 1, "hang: vcpu 12 ran 2000 ms without "
			  "a VM exit\n  rax=2", b, sizeof(b));
	assert_string_equal(a, "hang: vcpu * ran 2000 ms without a VM exit");
	assert_string_equal(a, b);
	explore_signature(TEND_GUEST_ASSERT, 1, "vcpu 3: guest assertion failed: "
			  "x at g.c:4", a, sizeof(a));
	assert_string_equal(a, "guest assertion failed: x at g.c:4");
	explore_signature(TEND_GUEST_FAULT, 1, "vcpu 1: vcpu 2 faulted", tiny,
			  sizeof(tiny));
	assert_true(strlen(tiny) < sizeof(tiny));
}

static void test_usage_errors(void **state)
{
	static const struct { const char *opts, *says; } bad[] = {
		{ "--policy rr", "--policy 'rr'" },
		{ "--policy pct:0", "--policy 'pct:0'" },
		{ "--preempt sometimes", "--preempt 'sometimes'" },
		{ "--pauses 2", "--pauses '2'" },
		{ "--pauses x", "--pauses 'x'" },
		{ "--runs 0", "--runs '0'" },
		{ "-j 0", "-j '0'" },
		{ "--budget 0", "--budget '0'" },
	};
	char *out;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int st = vcprr_sh(&out, "$V explore %s %s -o %s/u", guest_path("hello"),
				  bad[i].opts, dir);
		if (st != 2 || !strstr(out, bad[i].says))
			fail_msg("%s: status %d: %s", bad[i].opts, st, out);
		free(out);
	}
	assert_int_equal(vcprr_sh(&out, "$V explore"), 2);
	assert_non_null(strstr(out, "missing GUEST.elf"));
	free(out);
	assert_int_equal(vcprr_sh(&out, "$V minimize x.trace"), 2);
	assert_non_null(strstr(out, "missing -o OUT"));
	free(out);
	if (!kvm_usable())
		return;
	assert_int_equal(vcprr_sh(&out, "$V explore %s/none.elf --runs 1 -o %s/u",
				  dir, dir), 126);
	assert_non_null(strstr(out, "none.elf"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scenarios),
		cmocka_unit_test(test_failures_replay),
		cmocka_unit_test(test_minimize),
		cmocka_unit_test(test_same_seed_same_results),
		cmocka_unit_test(test_hangs),
		cmocka_unit_test(test_signature_without_vcpu),
		cmocka_unit_test(test_usage_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
