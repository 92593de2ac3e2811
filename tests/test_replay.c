/* vcprr replay end to end: record, replay, tamper, detect. */
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "replay/replay.h"
#include "tests/helpers/testutil.h"
#include "traces/trace.h"

static char dir[64], trace[128];

static int setup(void **state)
{
	if (scratch_dir(dir, sizeof(dir), "replay"))
		return -1;
	snprintf(trace, sizeof(trace), "%s/t.trace", dir);
	return 0;
}

static int teardown(void **state)
{
	return scratch_dir_remove(dir);
}

static void record_and_replay(const char *guest, const char *opts)
{
	char *out;

	vcprr_sh(NULL, "$V record -f -o %s %s %s >/dev/null", trace, guest_path(guest), opts);
	if (vcprr_sh(&out, "$V replay %s", trace) != 0)
		fail_msg("%s %s: %s", guest, opts, out);
	assert_non_null(strstr(out, ": same ("));
	free(out);
}

static void test_every_mode(void **state)
{
	SKIP_WITHOUT_KVM();
	static const char *const modes[] = {
		"--vcpus 3", "--vcpus 3 --sched serial",
		"--vcpus 3 --sched serial --policy random --seed 4",
		"--vcpus 3 --sched serial --policy pct:2 --seed 4",
		"--vcpus 2 --sched step",
	};

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		record_and_replay("hello", modes[i]);
		record_and_replay("rng", modes[i]);  /* recorded inputs fed back */
	}
	/* Pauses with the built-in controller, serial and parallel. */
	record_and_replay("counter", "--vcpus 4 --sched serial --pause-every 1ms "
			  "--hold 100us --seed 3");
	record_and_replay("pio", "--vcpus 2 --arg 20000 --pause-every 2ms --hold "
			  "200us --seed 4");
}

/* A serial trace replays identically every time. */
static void test_twenty_replays_identical(void **state)
{
	SKIP_WITHOUT_KVM();
	struct replay_opts o = { .console_fd = -1, .timeout_ns = 30000000000ull };
	struct replay_result r, first;

	assert_int_equal(vcprr_sh(NULL, "$V record -f -o %s %s --vcpus 3 --sched serial "
			    "--policy random --seed 11 >/dev/null", trace,
			    guest_path("rng")) > 0, 1);  /* rng exits non-zero */
	replay_trace(trace, &o, &first);
	assert_int_equal(first.status, REPLAY_SAME);
	for (int i = 0; i < 19; i++) {
		replay_trace(trace, &o, &r);
		assert_int_equal(r.status, REPLAY_SAME);
		assert_int_equal(r.events, first.events);
	}
}

static void test_modified_guest_refused(void **state)
{
	SKIP_WITHOUT_KVM();
	char *out, *sums, copy[192], want[65], got[65];

	snprintf(copy, sizeof(copy), "%s/hello.elf", dir);
	vcprr_sh(NULL, "$V record -f -o %s %s --sched serial >/dev/null", trace,
	   guest_path("hello"));
	/* Same size, one byte of padding changed: a different image. */
	vcprr_sh(NULL, "cp %s %s && printf 'X' | dd of=%s bs=1 seek=200 conv=notrunc "
	   "2>/dev/null", guest_path("hello"), copy, copy);
	assert_int_equal(vcprr_sh(&out, "$V replay %s --guest %s", trace, copy), 126);
	assert_non_null(strstr(out, "is not the guest image this trace was recorded"));
	assert_non_null(strstr(out, "--force"));
	/* both hashes in full, not the same 16 digits twice */
	assert_int_equal(vcprr_sh(&sums, "sha256sum %s %s | cut -c1-64 | "
				  "tr '\\n' ' '", guest_path("hello"), copy), 0);
	assert_int_equal(sscanf(sums, "%64s %64s", want, got), 2);
	assert_string_not_equal(want, got);
	assert_non_null(strstr(out, want));
	assert_non_null(strstr(out, got));
	free(sums);
	free(out);
	assert_int_equal(vcprr_sh(&out, "$V replay %s --guest /nonexistent.elf", trace), 126);
	assert_non_null(strstr(out, "/nonexistent.elf: cannot open"));
	free(out);
}

static void count_progress(void *arg, const struct replay_progress *p)
{
	assert_true(p->checked <= p->total);
	(*(int *)arg)++;
}

/* Parallel replays with pauses in this process (make tsan runs them): the
 * VCPU threads check events and land pauses while this thread watches and
 * reports progress; a recording stopped by --timeout ends where it was
 * stopped, each VCPU waiting for the others once it is there. */
static void test_parallel_replays_in_process(void **state)
{
	static const char *const runs[] = {
		"--arg 150000 --hold 100us --seed 4",
		"--arg 100000000 --timeout 1500ms --seed 5",
	};

	SKIP_WITHOUT_KVM();
	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		int reports = 0;
		struct replay_opts o = { .console_fd = -1,
					 .progress = count_progress,
					 .progress_arg = &reports };
		struct replay_result r;

		vcprr_sh(NULL, "$V record -f -o %s %s --vcpus 3 --pause-every 2ms "
			 "%s >/dev/null 2>&1", trace, guest_path("pio"), runs[i]);
		replay_trace(trace, &o, &r);
		if (r.status != REPLAY_SAME)
			fail_msg("%s: %s", runs[i], r.message);
		assert_true(r.landed > 0);
		assert_true(reports > 0 || r.duration_ns < 2000000000ull);
		if (i == 1)
			assert_non_null(strstr(r.end, "by --timeout after 1500 ms"));
	}
}

/* Rewrites a trace changing the data of the n-th read of `port`. */
static void tamper(const char *in, const char *out, uint64_t port, int nth)
{
	char err[512];
	struct trace_reader *r = trace_reader_open(in, err, sizeof(err));
	struct trace_writer *w;
	struct trace_producer *p;
	struct trace_event ev;
	const uint8_t *payload;
	int seen = 0;

	assert_non_null(r);
	w = trace_writer_open(out, trace_reader_header(r), NULL, err, sizeof(err));
	assert_non_null(w);
	p = trace_producer_new(w);
	while (trace_reader_next(r, &ev, &payload) == 1) {
		if (ev.type == TEV_VM_END)
			break;
		if (ev.type == TEV_EXIT_PIO && ev.a0 == port && seen++ == nth)
			ev.a2 ^= 0x5;
		assert_int_equal(trace_emit_timed(p, &ev, payload), 0);
	}
	assert_int_equal(ev.type, TEV_VM_END);
	assert_int_equal(trace_writer_close(w, ev.a0, ev.a1, ev.a2), 0);
	trace_reader_close(r);
}

static void test_tampered_trace_detected(void **state)
{
	SKIP_WITHOUT_KVM();
	char *out, bad[192];

	snprintf(bad, sizeof(bad), "%s/bad.trace", dir);
	vcprr_sh(NULL, "$V record -f -o %s %s --sched serial >/dev/null", trace,
	   guest_path("rng"));
	tamper(trace, bad, 0x520, 2);
	/* The guest is fed the tampered value; its first effect is the MMIO
	 * write of that value, right after the third read, on VCPU 0. */
	assert_int_equal(vcprr_sh(&out, "$V replay %s", bad), 1);
	assert_non_null(strstr(out, "DIVERGED"));
	assert_non_null(strstr(out, "vcpu 0, its event #"));
	assert_non_null(strstr(out, "expected: EXIT_MMIO vcpu=0"));
	assert_non_null(strstr(out, "actual:   EXIT_MMIO vcpu=0"));
	assert_non_null(strstr(out, "rflags="));  /* registers follow */
	/* fields decoded as `inspect dump` decodes them, not raw */
	assert_non_null(strstr(out, "expected: EXIT_MMIO vcpu=0 gpa=0xd00000"));
	assert_non_null(strstr(out, " write len=8 data=0x"));
	assert_non_null(strstr(out, "EXIT_PIO vcpu=0 port=0x520 in size=4 data=0x"));
	assert_non_null(strstr(out, "(trace seq "));
	assert_null(strstr(out, " a1=0x"));
	free(out);
}

/* The command-line conventions of the other commands (tools/cli.h,
 * tools/outfile.h) hold for replay too. */
static void test_cli_conventions(void **state)
{
	char *out, junit[192];

	SKIP_WITHOUT_KVM();
	vcprr_sh(NULL, "$V record -f -o %s %s --sched serial >/dev/null", trace,
		 guest_path("hello"));
	assert_int_equal(vcprr_sh(&out, "$V replay --timeout 5 %s", trace), 2);
	assert_non_null(strstr(out, "--timeout '5': a duration needs a unit"));
	free(out);
	/* a missing value: one error, naming the option */
	assert_int_equal(vcprr_sh(&out, "$V replay %s --timeout", trace), 2);
	assert_int_equal(count_lines(out, "vcprr replay: --timeout needs a value"), 1);
	assert_null(strstr(out, "invalid option"));
	free(out);
	assert_int_equal(vcprr_sh(&out, "$V replay --check tests/corpus --junit"), 2);
	assert_int_equal(count_lines(out, "vcprr replay: --junit needs a value"), 1);
	free(out);
	/* a folder without --check */
	assert_int_equal(vcprr_sh(&out, "$V replay tests/corpus"), 2);
	assert_non_null(strstr(out, "use --check tests/corpus"));
	free(out);
	/* --junit -: the report on stdout, the lines on stderr */
	assert_int_equal(vcprr_sh(&out, "$V replay --check %s --junit - "
				  "2>/dev/null", trace), 0);
	assert_true(!strncmp(out, "<?xml", 5));
	assert_null(strstr(out, "1 traces: 1 same"));
	free(out);
	assert_int_equal(vcprr_sh(&out, "$V replay --check %s --junit - "
				  ">/dev/null", trace), 0);
	assert_non_null(strstr(out, "1 traces: 1 same"));
	free(out);
	/* never onto a trace; an old report is replaced whole */
	assert_int_equal(vcprr_sh(&out, "$V replay --check %s --junit %s", trace,
				  trace), 126);
	assert_non_null(strstr(out, "refusing to overwrite"));
	free(out);
	assert_int_equal(vcprr_sh(NULL, "$V replay -q %s >/dev/null", trace), 0);
	snprintf(junit, sizeof(junit), "%s/old.xml", dir);
	assert_int_equal(vcprr_sh(NULL, "$V replay --check %s --junit %s "
				  ">/dev/null && $V replay --check %s --junit %s "
				  ">/dev/null && grep -q '<testcase' %s", trace,
				  junit, trace, junit, junit), 0);
	/* but not a file that is no report */
	assert_int_not_equal(vcprr_sh(NULL, "echo old > %s && $V replay --check "
				      "%s --junit %s >/dev/null 2>&1", junit,
				      trace, junit), 0);
	assert_int_equal(vcprr_sh(NULL, "grep -qx old %s", junit), 0);
}

/* A trace of format version 1 (a header without a checksum, 2652 bytes
 * of fixed fields): refused with a word on what to do. */
static void test_old_version_refused(void **state)
{
	static uint8_t v1[8 + 2652];
	char *out, old[192];
	FILE *f;

	snprintf(old, sizeof(old), "%s/old.trace", dir);
	memcpy(v1, "\x50\x2a\x4d\x18\x5c\x0a\x00\x00VCPRRTRC\x01\x00\x00\x00"
	       "\x5c\x0a\x00\x00", 24);
	f = fopen(old, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(v1, 1, sizeof(v1), f), sizeof(v1));
	fclose(f);
	assert_int_equal(vcprr_sh(&out, "$V replay %s", old), 126);
	assert_non_null(strstr(out, "unsupported trace format version 1"));
	assert_non_null(strstr(out, "re-record"));
	free(out);
}

/* A recording stopped from outside (SIGINT, --timeout) caught its VCPUs
 * wherever they were, mid-loop included; replay leaves out their way out
 * and ends where the recording did.  Serial and step too. */
static void test_interrupted_recordings_replay(void **state)
{
	static const char *const runs[][2] = {
		{ "pio", "--sched=serial" }, { "counter", "--sched=serial" },
		{ "pio", "--sched=parallel" }, { "spin", "--sched=step" },
	};
	char *out;

	SKIP_WITHOUT_KVM();
	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		pid_t pid = vcprr_spawn((const char *[]){ "record", "-f", "-o", trace,
			guest_path(runs[i][0]), runs[i][1], "--vcpus=2",
			"--watchdog=60s", NULL });
		int st;

		usleep(300000);
		kill(pid, SIGINT);
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 128 + SIGINT);
		if (vcprr_sh(&out, "$V replay --timeout 60s %s", trace))
			fail_msg("%s %s stopped by SIGINT: %s", runs[i][0],
				 runs[i][1], out);
		/* how the recording ended, not how its replay was ended */
		assert_non_null(strstr(out, "ends where the recording was "
				       "stopped: by signal 2 ("));
		assert_null(strstr(out, "end of the recorded events"));
		free(out);
	}
	/* --timeout while the guest spins without exits. */
	vcprr_sh(NULL, "$V record -f -o %s %s --sched serial --timeout 200ms "
		 ">/dev/null", trace, guest_path("spin"));
	assert_int_equal(vcprr_sh(&out, "$V replay %s", trace), 0);
	assert_non_null(strstr(out, "ends where the recording was stopped: by "
			       "--timeout after 200 ms\n"));
	free(out);
}

/* Recordings cut by --max-trace or a SIGKILL replay up to the cut and say
 * so, instead of "ends as recorded". */
static void test_cut_recordings_say_how(void **state)
{
	char *out;
	pid_t pid;

	SKIP_WITHOUT_KVM();
	vcprr_sh(NULL, "$V record -f -o %s %s --sched serial --vcpus 2 --arg 20000 "
		 "--max-trace 64K >/dev/null 2>&1", trace, guest_path("pio"));
	assert_int_equal(vcprr_sh(&out, "$V replay --timeout 60s %s", trace), 0);
	assert_non_null(strstr(out, "the trace is truncated, its prefix "
			       "replayed)\n  ends where the trace does, truncated "
			       "after "));
	assert_non_null(strstr(out, "; it was recorded with --max-trace 65536 "
			       "bytes\n"));
	free(out);
	pid = vcprr_spawn((const char *[]){ "record", "-f", "-o", trace,
		guest_path("pio"), "--sched=serial", "--vcpus=2",
		"--arg=100000000", NULL });
	usleep(300000);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	assert_int_equal(vcprr_sh(&out, "$V replay --timeout 60s %s", trace), 0);
	assert_non_null(strstr(out, "ends where the trace does, truncated after "));
	assert_null(strstr(out, "ends as recorded"));
	free(out);
}

/* Shards partition the corpus exactly; JUnit XML parses. */
static void test_shards_and_junit(void **state)
{
	SKIP_WITHOUT_KVM();
	char *all, *part, junit[192];
	int total = 0, sum = 0;

	snprintf(junit, sizeof(junit), "%s/j.xml", dir);
	assert_int_equal(vcprr_sh(&all, "$V replay --check tests/corpus -j 2 --junit %s", junit), 0);
	for (char *p = all; (p = strstr(p, "tests/corpus/")); p++)
		total++;
	assert_true(total >= 8);
	for (int k = 1; k <= 3; k++) {
		assert_int_equal(vcprr_sh(&part, "$V replay --check tests/corpus --shard %d/3", k), 0);
		for (char *p = part; (p = strstr(p, "tests/corpus/")); p++) {
			char name[128];
			sscanf(p, "%127s", name);
			assert_non_null(strstr(all, name));
			sum++;
		}
		free(part);
	}
	assert_int_equal(sum, total);  /* every trace in exactly one shard */
	assert_int_equal(vcprr_sh(NULL, "python3 -c 'import sys, xml.dom.minidom as m; "
			    "d = m.parse(sys.argv[1]); "
			    "assert len(d.getElementsByTagName(\"testcase\")) == %d' %s",
			    total, junit), 0);
	free(all);
	assert_int_equal(vcprr_sh(NULL, "$V replay --check tests/corpus --shard 4/3"), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_mode),
		cmocka_unit_test(test_twenty_replays_identical),
		cmocka_unit_test(test_parallel_replays_in_process),
		cmocka_unit_test(test_modified_guest_refused),
		cmocka_unit_test(test_tampered_trace_detected),
		cmocka_unit_test(test_cli_conventions),
		cmocka_unit_test(test_old_version_refused),
		cmocka_unit_test(test_interrupted_recordings_replay),
		cmocka_unit_test(test_cut_recordings_say_how),
		cmocka_unit_test(test_shards_and_junit),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
