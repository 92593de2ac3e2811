/* vcprr bench replay: what replaying costs against recording, and what
 * landing an asynchronous pause at its recorded position costs. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "replay/replay.h"
#include "tools/bench-util.h"
#include "tools/cli.h"

#define RUNS 3

static double seconds_of(const char *cmd)
{
	uint64_t t0 = bench_now_ns();
	int st = system(cmd);

	if (st == -1)
		return -1;
	return (bench_now_ns() - t0) / 1e9;
}

static double median3(double *v)
{
	double a = v[0], b = v[1], c = v[2];

	return a > b ? (b > c ? b : (a > c ? c : a)) : (a > c ? a : (b > c ? c : b));
}

int bench_replay_main(int argc, char **argv)
{
	struct bench_report rep = { .json = bench_want_json(argc, argv) };
	struct replay_opts o = { .console_fd = -1, .timeout_ns = 120000000000ull };
	struct replay_result *r = calloc(1, sizeof(*r));
	char self[1024], path[] = "/tmp/vcprr-bench-replay-XXXXXX", cmd[4096];
	double rec[RUNS], rep_s[RUNS];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int fd = mkstemp(path);

	if (fd < 0 || n <= 0 || !r)
		return EXIT_VMM_ERROR;
	close(fd);
	self[n] = 0;
	/* serial: record and replay the same run, interleaved. */
	for (int i = 0; i < RUNS; i++) {
		snprintf(cmd, sizeof(cmd), "%s record -o %s %s --vcpus 2 --arg 100000 "
			 "--sched serial >/dev/null 2>&1", self, path,
			 bench_guest_path("pio"));
		rec[i] = seconds_of(cmd);
		uint64_t t0 = bench_now_ns();
		replay_trace(path, &o, r);
		rep_s[i] = (bench_now_ns() - t0) / 1e9;
		if (r->status != REPLAY_SAME) {
			fprintf(stderr, "vcprr bench replay: %s\n", r->message);
			goto fail;
		}
	}
	bench_report_add(&rep, "events", r->events);
	bench_report_add(&rep, "record_s", median3(rec));
	bench_report_add(&rep, "replay_s", median3(rep_s));
	bench_report_add(&rep, "ratio", median3(rep_s) / median3(rec));
	/* parallel: pauses landed at their recorded position. */
	snprintf(cmd, sizeof(cmd), "%s record -o %s %s --vcpus 2 --arg 60000 "
		 "--pause-every 2ms --hold 100us --seed 4 >/dev/null 2>&1", self, path,
		 bench_guest_path("pio"));
	if (system(cmd) == -1)
		goto fail;
	replay_trace(path, &o, r);
	if (r->status != REPLAY_SAME)
		fprintf(stderr, "vcprr bench replay: parallel replay: %s\n", r->message);
	bench_report_add(&rep, "pauses_landed", r->landed);
	bench_report_add(&rep, "pause_landing_us_p50", r->land_p50_ns / 1000.0);
	bench_report_add(&rep, "parallel_replay_same", r->status == REPLAY_SAME);
	bench_report_print(&rep);
	unlink(path);
	free(r);
	return 0;
fail:
	unlink(path);
	free(r);
	return EXIT_VMM_ERROR;
}
