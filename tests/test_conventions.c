/* The command line's conventions and messages, through the real `vcprr`:
 * exit statuses of guest codes, seeds, '-' as stdin/stdout, one meaning
 * per option, durations and sizes, help, terminals, and the errors that
 * used to mislead. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/helpers/testutil.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	return scratch_dir(dir, sizeof(dir), "conventions");
}

static int teardown(void **state)
{
	(void)state;
	return scratch_dir_remove(dir);
}

/* Occurrences of @needle in @hay. */
static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* A guest code passes through only when it cannot pass for success or for
 * one of vcprr's own statuses. */
static void test_guest_exit_codes(void **state)
{
	static const struct { const char *arg; int status; } codes[] = {
		{ "1", 1 }, { "3", 3 }, { "122", 122 }, { "0", 42 },
		{ "2", 123 }, { "123", 123 }, { "126", 123 }, { "255", 123 },
		{ "256", 123 }, { "512", 123 }, { "0xffffffff", 123 },
	};
	char *out;

	(void)state;
	SKIP_WITHOUT_KVM();
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		int st = vcprr_sh(&out, "$V run %s --arg %s", guest_path("exitcode"),
				  codes[i].arg);

		if (st != codes[i].status ||
		    (st == 123 && !strstr(out, "the guest exited with code")))
			fail_msg("exit code %s: status %d, expected %d:\n%s",
				 codes[i].arg, st, codes[i].status, out);
		free(out);
	}
	assert_int_equal(vcprr_sh(&out, "$V run --help"), 0);
	assert_non_null(strstr(out, "123  the guest exited with another code"));
	free(out);
}

/* Seeds the user did not give come from getrandom() and are printed. */
static void test_default_seeds(void **state)
{
	char *a, *b;

	(void)state;
	SKIP_WITHOUT_KVM();
	/* two explores in the same second test different schedules */
	assert_in_range(vcprr_sh(&a, "$V explore %s --runs 1 -o %s/s1 "
				 "--preempt exit & $V explore %s --runs 1 -o %s/s2 "
				 "--preempt exit; wait", guest_path("hello"), dir,
				 guest_path("hello"), dir), 0, 1);
	b = strstr(a, "runs from seed ");
	assert_non_null(b);
	assert_non_null(strstr(b + 1, "runs from seed "));
	assert_true(strtoull(b + 15, NULL, 10) !=
		    strtoull(strstr(b + 1, "runs from seed ") + 15, NULL, 10));
	free(a);
	/* run: printed when it decides something */
	assert_int_equal(vcprr_sh(&a, "$V run %s --sched serial --policy random "
				  "--vcpus 2", guest_path("hello")), 0);
	assert_non_null(strstr(a, "vcprr: seed "));
	assert_non_null(strstr(a, "repeats it"));
	free(a);
	assert_int_equal(vcprr_sh(&a, "$V run %s --vcpus 2", guest_path("hello")), 0);
	assert_null(strstr(a, "seed"));
	free(a);
}

/* --max-runs N runs N schedules at most, the recorded one included. */
static void test_minimize_max_runs(void **state)
{
	char *out;

	(void)state;
	SKIP_WITHOUT_KVM();
	assert_int_equal(vcprr_sh(NULL, "$V explore %s --runs 30 --seed 1 -o %s/m "
				  ">/dev/null 2>&1", guest_path("lost-update"), dir), 1);
	for (int n = 1; n <= 6; n++) {
		unsigned long runs;

		assert_int_equal(vcprr_sh(&out, "$V minimize %s/m/fail-6.trace "
					  "-o %s/m/min-%d.trace --max-runs %d --json",
					  dir, dir, n, n), 0);
		runs = strncmp(out, "{\"runs\": ", 9) ? 0 : strtoul(out + 9, NULL, 10);
		if (runs < 1 || runs > (unsigned long)n)
			fail_msg("--max-runs %d: %s", n, out);
		free(out);
		assert_int_equal(vcprr_sh(NULL, "$V replay %s/m/min-%d.trace",
					  dir, n), 0);
	}
}

/* A guest that fails without any preemption is not reported as a race. */
static void test_calibration_failure(void **state)
{
	char *out;

	(void)state;
	SKIP_WITHOUT_KVM();
	assert_int_equal(vcprr_sh(&out, "$V explore %s --runs 3 --seed 5 -o %s/c",
				  guest_path("assert"), dir), 1);
	assert_non_null(strstr(out, "the calibration run (no preemption, no "
			       "pauses) already fails"));
	assert_non_null(strstr(out, "does not depend on the schedule"));
	free(out);
	assert_int_equal(vcprr_sh(&out, "$V explore %s --runs 3 --seed 5 -o %s/c2 "
				  "--json", guest_path("assert"), dir), 1);
	assert_non_null(strstr(out, "\"schedule_dependent\": false"));
	assert_null(strstr(out, "\"calibration_failure\": null"));
	free(out);
	assert_int_equal(vcprr_sh(&out, "$V explore %s --runs 3 --seed 5 -o %s/c3 "
				  "--json", guest_path("lost-update-fixed"), dir), 0);
	assert_non_null(strstr(out, "\"calibration_failure\": null"));
	free(out);
}

static void write_script(const char *name, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_messages(void **state)
{
	static const char *const no_value[] = {
		"record %s/t.trace -o", "run %s --mem", "explore %s -o",
		"minimize %s -o", "export --format html %s -o",
	};
	char *out;

	(void)state;
	SKIP_WITHOUT_KVM();
	/* -o without a value: one error, naming it */
	for (size_t i = 0; i < sizeof(no_value) / sizeof(no_value[0]); i++) {
		char cmd[256];

		snprintf(cmd, sizeof(cmd), no_value[i], guest_path("hello"));
		assert_int_equal(vcprr_sh(&out, "$V %s", cmd), 2);
		if (count(out, "\n") - count(out, "Try 'vcprr") != 1 ||
		    !strstr(out, "needs a value") == !strstr(out, "missing value"))
			fail_msg("%s:\n%s", cmd, out);
		free(out);
	}
	/* what the user typed, not bytes */
	assert_int_equal(vcprr_sh(&out, "$V run %s --mem 1M", guest_path("hello")), 2);
	assert_non_null(strstr(out, "--mem '1M'"));
	assert_null(strstr(out, "1048576"));
	free(out);
	assert_int_equal(vcprr_sh(&out, "$V explore %s --mem 5000M -o %s/x",
				  guest_path("hello"), dir), 2);
	assert_non_null(strstr(out, "--mem '5000M'"));
	free(out);
	/* explore's --sched is not the mode: its messages do not say so */
	assert_int_equal(vcprr_sh(&out, "$V explore %s --runs 1 --seed 1 "
				  "--preempt exit -o %s/w", guest_path("spinall"),
				  dir), 1);
	assert_non_null(strstr(out, "without a VM exit"));
	assert_null(strstr(out, "--sched"));
	assert_non_null(strstr(out, "vcprr_yield()"));
	free(out);
	/* export's notes name export */
	assert_int_equal(vcprr_sh(NULL, "$V record -o %s/e.trace %s >/dev/null",
				  dir, guest_path("hello")), 0);
	assert_int_equal(vcprr_sh(&out, "$V export --format html %s/e.trace -o "
				  "%s/e.html --guest %s", dir, dir,
				  guest_path("exitcode")), 0);
	if (!strstr(out, "vcprr export: warning") || strstr(out, "vcprr inspect"))
		fail_msg("export's notes:\n%s", out);
	free(out);
	/* pause scripts naming VCPUs the VM lacks: refused, with the line */
	write_script("p7", "sleep 1ms\npause 7\nresume all\n");
	write_script("p5", "pause 0x5\n");
	write_script("pall", "pause all\nwait all\nresume all\n");
	write_script("bare", "sleep 10\n");
	assert_int_equal(vcprr_sh(&out, "$V run %s --vcpus 2 --pause-script %s/p7",
				  guest_path("hello"), dir), 2);
	assert_non_null(strstr(out, "p7:2: VCPU 7 does not exist: the VM has 2"));
	assert_null(strstr(out, "hello from"));
	free(out);
	assert_int_equal(vcprr_sh(&out, "$V run %s --vcpus 2 --pause-script %s/p5",
				  guest_path("hello"), dir), 2);
	assert_non_null(strstr(out, "p5:1: VCPU 2 does not exist"));
	free(out);
	assert_int_equal(vcprr_sh(&out, "$V run %s --pause-script %s/bare",
				  guest_path("hello"), dir), 2);
	assert_non_null(strstr(out, "bare:1: bad duration '10' (a duration with "
			       "its unit"));
	free(out);
	assert_int_equal(vcprr_sh(NULL, "$V run %s --vcpus 2 --timeout 20s "
				  "--pause-script %s/pall", guest_path("counter"),
				  dir), 0);
}

/* The random controller stops pausing VCPUs that have finished. */
static void test_random_controller_skips_finished(void **state)
{
	char *out, *p;

	(void)state;
	SKIP_WITHOUT_KVM();
	assert_int_equal(vcprr_sh(&out, "$V record -o %s/st.trace %s --vcpus 2 "
				  "--arg 200000 --pause-every 1ms --seed 1 >/dev/null "
				  "2>&1 && $V inspect %s/st.trace", dir,
				  guest_path("staggered"), dir), 0);
	p = strstr(out, "never taken ");
	assert_non_null(p);
	/* at most the one request that found VCPU 0 finished */
	if (strtoull(p + 12, NULL, 10) > 1)
		fail_msg("requests sent to a finished VCPU:\n%s", out);
	free(out);
}

/* '-' is stdout for every -o and stdin for every FILE. */
static void test_dash_is_standard_io(void **state)
{
	char *out;

	(void)state;
	SKIP_WITHOUT_KVM();
	assert_int_equal(vcprr_sh(&out, "G=$(realpath %s); V=$(realpath $V); "
				  "cd %s && $V record -o - $G --vcpus 2 | $V inspect - "
				  "&& test ! -e ./-", guest_path("hello"), dir), 0);
	assert_non_null(strstr(out, "trace      stdin (format"));
	assert_non_null(strstr(out, "complete"));
	assert_non_null(strstr(out, "hello from vcpu 1 of 2"));  /* stderr */
	free(out);
	assert_int_equal(vcprr_sh(&out, "$V record -o %s/d.trace %s >/dev/null && "
				  "$V inspect dump - < %s/d.trace | head -1 && "
				  "cat %s/d.trace | $V export --format chrome - -o - | "
				  "head -c 15", dir, guest_path("hello"), dir, dir), 0);
	assert_non_null(strstr(out, "VM_START"));
	assert_non_null(strstr(out, "{\"displayTime"));
	free(out);
	assert_int_equal(vcprr_sh(&out, "$V inspect diff - - < %s/d.trace", dir), 3);
	assert_non_null(strstr(out, "cannot read standard input"));
	free(out);
	/* minimize -o -: the trace on stdout, the report on stderr */
	assert_int_equal(vcprr_sh(NULL, "$V explore %s --runs 30 --seed 1 -o %s/m "
				  ">/dev/null 2>&1; $V minimize %s/m/fail-6.trace "
				  "-o - > %s/min.trace 2>/dev/null && $V replay "
				  "%s/min.trace", guest_path("lost-update"), dir, dir,
				  dir, dir), 0);
	assert_int_equal(vcprr_sh(&out, "$V explore %s -o -", guest_path("hello")), 2);
	assert_non_null(strstr(out, "explore writes a folder"));
	free(out);
}

/* explore's old option names still work, with a warning, for one release;
 * the new ones mean what they mean in run and record. */
static void test_one_meaning_per_option(void **state)
{
	char *out;

	(void)state;
	SKIP_WITHOUT_KVM();
	assert_int_equal(vcprr_sh(&out, "$V explore %s --runs 2 --seed 1 "
				  "--sched random --hold 5 -o %s/o1 --json",
				  guest_path("hello"), dir), 0);
	assert_non_null(strstr(out, "--sched is deprecated"));
	assert_non_null(strstr(out, "use --policy"));
	assert_non_null(strstr(out, "--hold is deprecated"));
	assert_non_null(strstr(out, "use --max-hold"));
	free(out);
	assert_int_equal(vcprr_sh(&out, "$V explore %s --runs 30 --seed 1 "
				  "--policy pct:3 --max-hold 5 -o %s/o2",
				  guest_path("lost-update"), dir), 1);
	assert_null(strstr(out, "deprecated"));
	assert_non_null(strstr(out, "rerun:    vcprr explore"));
	assert_non_null(strstr(out, "--policy pct:3"));
	assert_non_null(strstr(out, "--max-hold 5"));
	free(out);
}

static void test_durations_and_sizes(void **state)
{
	static const struct { const char *opts; int status; const char *says; } cases[] = {
		{ "--timeout 100", 2, "a duration needs a unit" },
		{ "--timeout 1.5", 2, "a duration needs a unit" },
		{ "--watchdog 2 --sched serial", 2, "--watchdog '2'" },
		{ "--timeout 1.5x", 2, "expected a duration" },
		{ "--timeout 1h", 0, "" },
		{ "--timeout 0.5m", 0, "" },
		{ "--timeout 2000000us", 0, "" },
		{ "--mem 64MiB", 0, "" },
		{ "--mem 0.5G", 0, "" },
		{ "--mem 65536KiB", 0, "" },
		{ "--mem 1.5K", 2, "--mem '1.5K'" },
		{ "--mem 64MB", 2, "--mem '64MB'" },
	};
	char *out;

	(void)state;
	SKIP_WITHOUT_KVM();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int st = vcprr_sh(&out, "$V run %s %s", guest_path("hello"),
				  cases[i].opts);

		if (st != cases[i].status || !strstr(out, cases[i].says))
			fail_msg("%s: status %d:\n%s", cases[i].opts, st, out);
		free(out);
	}
	assert_int_equal(vcprr_sh(&out, "$V run %s --timeout 0.2s",
				  guest_path("spin")), 125);
	assert_non_null(strstr(out, "timed out after 200 ms"));
	free(out);
	assert_int_equal(vcprr_sh(&out, "$V record -o %s/x.trace %s --max-trace "
				  "0.5MiB >/dev/null", dir, guest_path("hello")), 0);
	free(out);
}

static void test_help(void **state)
{
	static const char *const cmds[] = {
		"run", "record", "replay", "explore", "minimize", "inspect",
		"inspect dump", "inspect follow", "inspect diff", "inspect summary",
		"export", "bench", "bench pause", "bench reader",
	};
	char *a, *b;

	(void)state;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		/* on stdout (stderr thrown away), status 0 */
		assert_int_equal(vcprr_sh(&a, "$V %s --help 2>/dev/null", cmds[i]), 0);
		assert_non_null(strstr(a, "usage: vcprr"));
		assert_int_equal(vcprr_sh(&b, "$V help %s 2>/dev/null", cmds[i]), 0);
		assert_string_equal(a, b);
		free(a);
		free(b);
		assert_int_equal(vcprr_sh(&a, "$V %s --help >/dev/null", cmds[i]), 0);
		assert_string_equal(a, "");
		free(a);
	}
	assert_int_equal(vcprr_sh(&a, "$V -V"), 0);
	assert_int_equal(vcprr_sh(&b, "$V --version"), 0);
	assert_string_equal(a, b);
	free(a);
	free(b);
	/* bench refuses what it does not take instead of running */
	assert_int_equal(vcprr_sh(&a, "$V bench pause --jsn"), 2);
	assert_non_null(strstr(a, "unknown argument '--jsn'"));
	free(a);
	assert_int_equal(vcprr_sh(&a, "$V bench reader --events lots"), 2);
	free(a);
}

/* Escape sequences go to terminals that understand them only; on one,
 * failures are in the summary, not a line per failing run. */
static void test_terminals(void **state)
{
	char *out;

	(void)state;
	SKIP_WITHOUT_KVM();
	assert_int_equal(vcprr_sh(&out, "$V explore %s --runs 30 --seed 1 -o %s/t1",
				  guest_path("lost-update"), dir), 1);
	assert_null(strchr(out, '\033'));
	assert_non_null(strstr(out, "run 5 (seed 6): guest assertion failed"));
	free(out);
	assert_int_equal(vcprr_sh(&out, "TERM=dumb script -qec \"$V explore %s "
				  "--runs 30 --seed 1 -o %s/t2\" /dev/null",
				  guest_path("lost-update"), dir), 1);
	assert_null(strchr(out, '\033'));
	free(out);
	assert_int_equal(vcprr_sh(&out, "TERM=xterm script -qec \"$V explore %s "
				  "--runs 30 --seed 1 -o %s/t3\" /dev/null",
				  guest_path("lost-update"), dir), 1);
	assert_non_null(strchr(out, '\033'));         /* the progress bar */
	assert_null(strstr(out, "run 5 (seed 6)"));    /* no line per failure */
	assert_non_null(strstr(out, "5 x  guest assertion failed"));
	free(out);
	assert_int_equal(vcprr_sh(&out, "TERM=dumb script -qec \"$V minimize "
				  "%s/t3/fail-6.trace -o %s/t3.trace\" /dev/null",
				  dir, dir), 0);
	assert_null(strchr(out, '\033'));
	free(out);
}

/* make test's runner counts command lines as tests and ends with the
 * count. */
static void test_runner_ends_with_the_count(void **state)
{
	char *out;
	const char *last;

	(void)state;
	assert_int_equal(vcprr_sh(&out, "tests/run-tests.sh build -- true "
				  "'echo after; false'"), 1);
	last = strrchr(out, '\n');
	while (last && last > out && last[-1] != '\n')
		last--;
	assert_non_null(strstr(out, "after"));
	assert_string_equal(last, "1 passed, 1 failed\n");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guest_exit_codes),
		cmocka_unit_test(test_default_seeds),
		cmocka_unit_test(test_minimize_max_runs),
		cmocka_unit_test(test_calibration_failure),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_random_controller_skips_finished),
		cmocka_unit_test(test_dash_is_standard_io),
		cmocka_unit_test(test_one_meaning_per_option),
		cmocka_unit_test(test_durations_and_sizes),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_terminals),
		cmocka_unit_test(test_runner_ends_with_the_count),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
