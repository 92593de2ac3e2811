/* vcprr bench replay: what replaying costs against recording, what landing
 * an asynchronous pause at its recorded position costs, and the memory of
 * a long replay (the trace is streamed: it must not grow with length). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "replay/replay.h"
#include "tools/bench-util.h"
#include "tools/cli.h"

#define RUNS        3
#define LONG_EVENTS 5000000ull

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

static uint64_t events_arg(int argc, char **argv)
{
	uint64_t n = LONG_EVENTS;

	for (int i = 1; i + 1 < argc; i++)
		if (!strcmp(argv[i], "--events"))
			cli_parse_u64(argv[i + 1], &n);
	return n;
}

/* `vcprr replay -q PATH` in a process of its own: its events (from its
 * verdict line), peak RSS and time.  0, or -1 when it did not say same. */
static int replay_process(const char *self, const char *path, double *events,
			  double *rss_mb, double *seconds)
{
	char out[4096] = "";
	struct rusage ru;
	unsigned long long n = 0;
	uint64_t t0 = bench_now_ns();
	int p[2], st;
	ssize_t len, got = 0;
	pid_t pid;

	if (pipe(p) || (pid = fork()) < 0)
		return -1;
	if (!pid) {
		dup2(p[1], 1);
		close(p[0]);
		execl(self, self, "replay", "-q", path, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	while ((len = read(p[0], out + got, sizeof(out) - 1 - got)) > 0)
		got += len;
	close(p[0]);
	if (wait4(pid, &st, 0, &ru) != pid)
		return -1;
	*seconds = (bench_now_ns() - t0) / 1e9;
	*rss_mb = ru.ru_maxrss / 1024.0;  /* (KiB) */
	if (!WIFEXITED(st) || WEXITSTATUS(st) ||
	    !strstr(out, ": same (") || sscanf(strstr(out, ": same (") + 8,
					       "%*[a-z], %llu events", &n) != 1)
		return -1;
	*events = (double)n;
	return 0;
}

/* A long parallel run of the pio guest (one VCPU: an event per exit),
 * recorded, then replayed in a process of its own. */
static int long_replay(struct bench_report *rep, const char *self,
		       const char *path, uint64_t events)
{
	char cmd[4096];
	double rec, rep_s, n, rss;

	snprintf(cmd, sizeof(cmd), "%s record -f -o %s %s --arg %llu "
		 ">/dev/null 2>&1", self, path, bench_guest_path("pio"),
		 (unsigned long long)events);
	rec = seconds_of(cmd);
	if (rec < 0 || replay_process(self, path, &n, &rss, &rep_s)) {
		fprintf(stderr, "vcprr bench replay: the long replay failed\n");
		return -1;
	}
	bench_report_add(rep, "long_replay_events", n);
	bench_report_add(rep, "long_replay_peak_rss_mb", rss);
	bench_report_add(rep, "long_record_s", rec);
	bench_report_add(rep, "long_replay_s", rep_s);
	bench_report_add(rep, "long_ratio", rep_s / rec);
	return 0;
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
		snprintf(cmd, sizeof(cmd), "%s record -f -o %s %s --vcpus 2 "
			 "--arg 100000 --sched serial >/dev/null 2>&1", self, path,
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
	snprintf(cmd, sizeof(cmd), "%s record -f -o %s %s --vcpus 2 --arg 60000 "
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
	if (long_replay(&rep, self, path, events_arg(argc, argv)))
		goto fail;
	bench_report_print(&rep);
	unlink(path);
	free(r);
	return 0;
fail:
	unlink(path);
	free(r);
	return EXIT_VMM_ERROR;
}
