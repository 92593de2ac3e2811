/* vcprr bench debug: what going backwards in a step trace costs.  A step
 * trace of counter (about 1M instructions with --vcpus 3) is recorded,
 * replayed forward, then served as a debug target: reverse-stepi from
 * random points, reverse-continue from the end back to the start (no
 * breakpoint on the way: the whole trace), and going back to the start
 * (the one checkpoint: a new replay of the trace). */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "debug/replay-target.h"
#include "tools/bench-util.h"
#include "tools/cli.h"
#include "vmm/prng.h"

#define SAMPLES 5

/* Runs @t forward to its end: the position there, 0 on failure. */
static uint64_t run_to_end(struct debug_target t, struct replay_target *rt)
{
	struct debug_resume r = { .kind = DEBUG_CONTINUE, .thread = -1 };
	struct debug_stop s;
	char err[256];
	struct pollfd p = { .fd = t.ops->stop_fd(t.t), .events = POLLIN };

	if (t.ops->resume(t.t, &r, err, sizeof(err)) < 0)
		return 0;
	while (!t.ops->poll_stop(t.t, &s))
		poll(&p, 1, -1);
	return s.kind == DEBUG_STOP_TRACE_END ? replay_target_position(rt) : 0;
}

static int reverse(struct debug_target t, enum debug_resume_kind kind)
{
	struct debug_resume r = { .kind = kind, .thread = -1 };
	char err[256];

	if (t.ops->reverse(t.t, &r, err, sizeof(err)) < 0) {
		fprintf(stderr, "vcprr bench debug: %s\n", err);
		return -1;
	}
	return 0;
}

/* What the checkpoints cost: per MiB of guest memory written since the
 * last one (each take copies those pages, plus a fixed part: the VCPUs'
 * state), and their memory against the guest memory written. */
static void report_checkpoints(struct replay_target *rt,
			       struct bench_report *rep)
{
	struct replay_checkpoint_stats st;
	double dirty_mib;

	replay_target_checkpoint_stats(rt, &st);
	/* (the first take, before the start, copies the loaded image) */
	dirty_mib = st.take_pages * 4096.0 / 1048576.0;
	bench_report_add(rep, "checkpoint_us_per_dirty_mib", dirty_mib > 0 ?
			 st.take_ns / 1e3 / dirty_mib : BENCH_NONE);
	bench_report_add(rep, "checkpoints", (double)st.checkpoints);
	bench_report_add(rep, "checkpoint_takes", (double)st.takes);
	bench_report_add(rep, "checkpoint_restores", (double)st.restores);
	bench_report_add(rep, "checkpoint_thinned", (double)st.thinned);
	bench_report_add(rep, "checkpoint_take_us", st.takes ?
			 st.take_ns / 1e3 / st.takes : BENCH_NONE);
	bench_report_add(rep, "checkpoint_interval_steps", (double)st.interval);
	bench_report_add(rep, "checkpoint_mib", st.bytes / 1048576.0);
	bench_report_add(rep, "guest_written_mib", st.written_bytes / 1048576.0);
	bench_report_add(rep, "checkpoint_memory_vs_written", st.written_bytes ?
			 (double)st.bytes / st.written_bytes : BENCH_NONE);
	bench_report_add(rep, "restore_mean_us", st.restores ?
			 st.restore_ns / 1e3 / st.restores : BENCH_NONE);
}

static int measure(const char *path, struct bench_report *rep)
{
	struct replay_opts o = { .console_fd = -1 };
	struct debug_points points = { 0 };
	struct replay_target *rt;
	struct debug_target t;
	struct prng rng = { .state = 0xdeb6 };
	uint64_t samples[SAMPLES], end, t0;
	char err[4096];
	double fwd;
	int ret = -1;

	rt = replay_target_create(path, &o, &points, err, sizeof(err));
	if (!rt) {
		fprintf(stderr, "vcprr bench debug: %s\n", err);
		return -1;
	}
	t = replay_target_of(rt);
	t0 = bench_now_ns();
	end = run_to_end(t, rt);
	fwd = (bench_now_ns() - t0) / 1e9;
	if (!end)
		goto out;
	bench_report_add(rep, "steps", (double)end);
	bench_report_add(rep, "forward_replay_s", fwd);
	t0 = bench_now_ns();
	if (reverse(t, DEBUG_CONTINUE))
		goto out;
	bench_report_add(rep, "reverse_continue_s", (bench_now_ns() - t0) / 1e9);
	bench_report_add(rep, "reverse_continue_vs_forward",
			 (bench_now_ns() - t0) / 1e9 / fwd);
	t0 = bench_now_ns();
	if (replay_target_seek(rt, 0, err, sizeof(err)))
		goto out;
	bench_report_add(rep, "restore_us", (bench_now_ns() - t0) / 1e3);
	for (int i = 0; i < SAMPLES; i++) {
		uint64_t at = 1 + prng_next(&rng) % (end - 1);

		if (replay_target_seek(rt, at, err, sizeof(err)))
			goto out;
		t0 = bench_now_ns();
		if (reverse(t, DEBUG_STEP))
			goto out;
		samples[i] = bench_now_ns() - t0;
	}
	bench_report_add(rep, "reverse_stepi_ms_p50",
			 bench_percentile(samples, SAMPLES, 50) / 1e6);
	bench_report_add(rep, "reverse_stepi_ms_p99",
			 bench_percentile(samples, SAMPLES, 99) / 1e6);
	report_checkpoints(rt, rep);
	ret = 0;
out:
	if (ret && err[0])
		fprintf(stderr, "vcprr bench debug: %s\n", err);
	replay_target_destroy(rt);
	return ret;
}

int bench_debug_main(int argc, char **argv)
{
	struct bench_report rep = { .json = bench_want_json(argc, argv) };
	char self[1024], path[] = "/tmp/vcprr-bench-debug-XXXXXX", cmd[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int fd = mkstemp(path), r;

	if (fd < 0 || n <= 0)
		return EXIT_VMM_ERROR;
	close(fd);
	self[n] = 0;
	snprintf(cmd, sizeof(cmd), "%s record -f -o %s %s --vcpus 3 --sched step "
		 ">/dev/null 2>&1", self, path, bench_guest_path("counter"));
	if (system(cmd) != 0) {
		fprintf(stderr, "vcprr bench debug: recording failed: %s\n", cmd);
		unlink(path);
		return EXIT_VMM_ERROR;
	}
	r = measure(path, &rep);
	unlink(path);
	if (r)
		return EXIT_VMM_ERROR;
	bench_report_print(&rep);
	return 0;
}
