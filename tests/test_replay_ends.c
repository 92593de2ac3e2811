/* Replay always ends, and says why it stopped: recordings cut while every
 * VCPU was paused (SIGKILL, or a complete trace cut at a frame boundary),
 * recordings of a guest that never exits cut by --timeout and SIGINT,
 * a trace whose replay can make no more progress, and a parallel trace
 * whose pauses a cross-VCPU race makes unlandable, which shows progress
 * while it runs.  Every replay runs under `timeout`: a hang fails the test
 * (status 124) instead of hanging the suite.  The time bounds are minutes
 * (what the recordings allow is seconds). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/helpers/testutil.h"
#include "traces/clock.h"
#include "traces/trace.h"

#define HANG_LIMIT "300"  /* seconds: far beyond any bound of these traces */

static char dir[64], trace[128], script[128];

static int setup(void **state)
{
	if (scratch_dir(dir, sizeof(dir), "ends"))
		return -1;
	snprintf(trace, sizeof(trace), "%s/t.trace", dir);
	snprintf(script, sizeof(script), "%s/hold.script", dir);
	return 0;
}

static int teardown(void **state)
{
	return scratch_dir_remove(dir);
}

static void write_script(const char *text)
{
	FILE *f = fopen(script, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* Whether each of the @n VCPUs' last own event in @path is PAUSE_TAKEN
 * (a truncated trace read so far; SIGNAL_SENT and KICK are timing). */
static bool all_paused(const char *path, unsigned n)
{
	uint32_t last[8] = { 0 };
	struct trace_reader *r = trace_reader_open(path, NULL, 0);
	struct trace_event ev;
	bool all = r != NULL;

	while (r && trace_reader_next(r, &ev, NULL) == 1)
		if (ev.vcpu < n && ev.type != TEV_SIGNAL_SENT &&
		    ev.type != TEV_KICK && ev.type != TEV_PAUSE_REQUEST)
			last[ev.vcpu] = ev.type;
	for (unsigned i = 0; i < n; i++)
		all &= last[i] == TEV_PAUSE_TAKEN;
	trace_reader_close(r);
	return all;
}

static void replay_ends_same(const char *what)
{
	char *out;
	int st = vcprr_sh(&out, "timeout " HANG_LIMIT " $V replay -q %s", trace);

	if (st != 0 || !strstr(out, ": same (") ||
	    !strstr(out, "ends where the trace does, truncated after "))
		fail_msg("%s: replay exited %d:\n%s", what, st, out);
	free(out);
}

/* A recorder killed while every VCPU was paused by the controller: the
 * replay lands the pauses and ends there. */
static void test_killed_while_paused(void **state)
{
	static const char *const modes[] = { "--sched=parallel", "--sched=serial" };

	SKIP_WITHOUT_KVM();
	write_script("sleep 20ms\npause all 7\nwait all\nsleep 60s\n");
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		char pscript[160];
		pid_t pid;
		int tries = 0;

		snprintf(pscript, sizeof(pscript), "--pause-script=%s", script);
		unlink(trace);
		pid = vcprr_spawn((const char *[]){ "record", "-o", trace,
			guest_path("pio"), modes[i], "--vcpus=2",
			"--arg=100000000", pscript, NULL });
		while (!all_paused(trace, 2) && tries++ < 600)
			usleep(50000);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		assert_true(all_paused(trace, 2));
		replay_ends_same(modes[i]);
	}
}

/* Copies @in to @trace with a frame boundary right after the event at
 * which every VCPU has taken the script's pause, then cuts the copy
 * there (as a recorder killed then would leave it). */
static void cut_where_paused(const char *in, unsigned nvcpus)
{
	struct trace_reader *r = trace_reader_open(in, NULL, 0);
	struct trace_writer *w;
	struct trace_producer *p;
	struct trace_writer_stats st;
	struct trace_event ev;
	const uint8_t *pl;
	uint64_t cut = 0;
	unsigned taken = 0;
	char err[256];

	assert_non_null(r);
	w = trace_writer_open(trace, trace_reader_header(r), NULL, err, sizeof(err));
	assert_non_null(w);
	p = trace_producer_new(w);
	while (trace_reader_next(r, &ev, &pl) == 1 && ev.type != TEV_VM_END) {
		assert_int_equal(trace_emit_timed(p, &ev, pl), 0);
		if (ev.type != TEV_PAUSE_TAKEN || ev.a0 != 7 || ++taken != nvcpus)
			continue;
		assert_int_equal(trace_writer_flush(w), 0);
		trace_writer_stats(w, &st);
		cut = st.bytes;
	}
	assert_int_equal(ev.type, TEV_VM_END);
	assert_int_equal(trace_writer_close(w, ev.a0, ev.a1, ev.a2), 0);
	trace_reader_close(r);
	assert_true(cut > 0);
	assert_int_equal(truncate(trace, (off_t)cut), 0);
	assert_true(all_paused(trace, nvcpus));
}

static void test_cut_at_frame_boundary_while_paused(void **state)
{
	static const char *const modes[] = { "--sched parallel", "--sched serial" };
	char whole[160];

	SKIP_WITHOUT_KVM();
	snprintf(whole, sizeof(whole), "%s/whole.trace", dir);
	write_script("sleep 20ms\npause all 7\nwait all\nsleep 50ms\nresume all\n");
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		assert_int_equal(vcprr_sh(NULL, "$V record -f -o %s %s %s --vcpus 2 "
					  "--arg 300000 --pause-script %s "
					  ">/dev/null 2>&1", whole,
					  guest_path("pio"), modes[i], script), 0);
		cut_where_paused(whole, 2);
		replay_ends_same(modes[i]);
	}
}

/* spin on 2 VCPUs with pauses every 5ms, parallel: VCPU 0 never exits, so
 * each pause lands by breakpoint.  Recordings of it cut by --timeout and by
 * SIGINT replay to where they were cut and end (they once replayed
 * forever, silently). */
static void test_spin_with_pauses_cut_ends(void **state)
{
	char *out;
	pid_t pid;
	int st;

	SKIP_WITHOUT_KVM();
	st = vcprr_sh(NULL, "$V record -f -o %s %s --vcpus 2 --pause-every 5ms "
		      "--timeout 300ms >/dev/null 2>&1", trace, guest_path("spin"));
	assert_int_equal(st, 125);  /* the timeout is the guest's fault */
	st = vcprr_sh(&out, "timeout " HANG_LIMIT " $V replay -q %s", trace);
	if (st != 0 || !strstr(out, ": same (parallel, ") ||
	    !strstr(out, "ends where the recording was stopped: by --timeout "
		    "after 300 ms"))
		fail_msg("--timeout: replay exited %d:\n%s", st, out);
	free(out);

	pid = vcprr_spawn((const char *[]){ "record", "-f", "-o", trace,
		guest_path("spin"), "--vcpus=2", "--pause-every=5ms", NULL });
	usleep(300000);
	kill(pid, SIGINT);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 128 + SIGINT);
	st = vcprr_sh(&out, "timeout " HANG_LIMIT " $V replay -q %s", trace);
	if (st != 0 || !strstr(out, ": same (parallel, ") ||
	    !strstr(out, "ends where the recording was stopped: by signal 2 ("))
		fail_msg("SIGINT: replay exited %d:\n%s", st, out);
	free(out);
}

/* A complete trace from which VCPU 0's resume was taken out: replayed, that
 * VCPU stays paused and the run cannot end.  The replay says so within
 * its bound (15s here: ten times the 1.5s the recording took to VCPU 0's
 * next event), naming what VCPU 0 waits for; with -q it shows no
 * progress meanwhile. */
static void test_no_progress_is_reported(void **state)
{
	char whole[160], *out;
	struct trace_reader *r;
	struct trace_writer *w;
	struct trace_producer *p;
	struct trace_event ev;
	const uint8_t *pl;
	char err[256];
	uint64_t t0;
	int st;

	SKIP_WITHOUT_KVM();
	snprintf(whole, sizeof(whole), "%s/whole.trace", dir);
	write_script("sleep 20ms\npause 0 7\nwait 0\nsleep 1500ms\nresume 0\n");
	assert_int_equal(vcprr_sh(NULL, "$V record -f -o %s %s --vcpus 2 --arg "
				  "200000 --pause-script %s >/dev/null 2>&1",
				  whole, guest_path("pio"), script), 0);
	r = trace_reader_open(whole, err, sizeof(err));
	assert_non_null(r);
	w = trace_writer_open(trace, trace_reader_header(r), NULL, err, sizeof(err));
	p = trace_producer_new(w);
	while (trace_reader_next(r, &ev, &pl) == 1 && ev.type != TEV_VM_END)
		if (!(ev.vcpu == 0 && (ev.type == TEV_RESUME_REQUEST ||
				       ev.type == TEV_RESUMED)))
			assert_int_equal(trace_emit_timed(p, &ev, pl), 0);
	assert_int_equal(trace_writer_close(w, ev.a0, ev.a1, ev.a2), 0);
	trace_reader_close(r);
	t0 = mono_ns();
	st = vcprr_sh(&out, "timeout " HANG_LIMIT " $V replay -q %s", trace);
	if (st != 1 || !strstr(out, "DIVERGED") || strstr(out, "events matched") ||
	    !strstr(out, "replay stuck: nothing happened for ") ||
	    !strstr(out, "waiting for:\n  vcpu 0: EXIT_PIO vcpu=0 port=0x") ||
	    strstr(out, "PAUSE_REQUEST"))
		fail_msg("replay exited %d:\n%s", st, out);
	assert_true(mono_ns() - t0 < 180 * 1000000000ull);
	free(out);
}

/* counter on 2 VCPUs with pauses: its VCPUs race on one counter, so the
 * flags at a recorded pause differ in a replay and the pause cannot be
 * landed; that shows at the VCPU's next exit, after its loop.  The replay
 * gets there with the cross-VCPU race verdict, and shows meanwhile how far
 * it is (a line every 10s when not on a terminal). */
static void test_racing_trace_shows_progress_and_ends(void **state)
{
	uint64_t t0;
	char *out;
	int st;

	SKIP_WITHOUT_KVM();
	assert_int_equal(vcprr_sh(NULL, "$V record -f -o %s %s --vcpus 2 "
				  "--pause-every 1ms --seed 5 >/dev/null 2>&1",
				  trace, guest_path("counter")), 0);
	t0 = mono_ns();
	st = vcprr_sh(&out, "timeout 600 $V replay %s", trace);
	if (st != 1 || !strstr(out, "DIVERGED") ||
	    !strstr(out, "a cross-VCPU race") ||
	    (mono_ns() - t0 > 12 * 1000000000ull &&
	     !strstr(out, " events matched; ")))
		fail_msg("replay exited %d after %.0fs:\n%s", st,
			 (mono_ns() - t0) / 1e9, out);
	assert_true(mono_ns() - t0 < 540 * 1000000000ull);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_killed_while_paused),
		cmocka_unit_test(test_cut_at_frame_boundary_while_paused),
		cmocka_unit_test(test_spin_with_pauses_cut_ends),
		cmocka_unit_test(test_no_progress_is_reported),
		cmocka_unit_test(test_racing_trace_shows_progress_and_ends),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
