/* vcprr bench inspect: `vcprr inspect FILE` (the summary) on a synthetic
 * 10-million-event trace: events per second and peak RSS.  The summary runs
 * in a child forked before the trace is generated, so its ru_maxrss (from
 * wait4) is the summary's own memory, not the generator's. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tools/bench-trace.h"
#include "tools/inspect.h"
#include "tools/inspect-priv.h"
#include "traces/clock.h"

#define INSPECT_EVENTS 10000000ull

struct result {
	uint64_t events, ns;
	int ok;
};

/* Child: waits for the go byte, summarises the trace, reports. */
static void child(int go, int res, const char *path)
{
	struct result r = { 0 };
	FILE *null = fopen("/dev/null", "w");
	uint64_t t0;
	char c;

	if (!null || read(go, &c, 1) != 1 || c != 'g')
		_exit(2);
	t0 = mono_ns();
	r.ok = inspect_summary_file(path, null, &r.events) == INSPECT_OK;
	r.ns = mono_ns() - t0;
	fclose(null);
	if (write(res, &r, sizeof(r)) != sizeof(r))
		_exit(3);
	_exit(0);
}

static int parse_args(int argc, char **argv, int *json, uint64_t *n)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			*json = 1;
		} else if (!strcmp(argv[i], "--events") && i + 1 < argc) {
			*n = strtoull(argv[++i], NULL, 0);
		} else {
			fprintf(stderr, "bench inspect: unknown argument '%s' "
				"(use --json, --events N)\n", argv[i]);
			return -1;
		}
	}
	return *n ? 0 : -1;
}

/* Forks the child, writes the trace, lets the child go; fills @r, @ru. */
static int run(const char *path, uint64_t n, struct result *r,
	       struct rusage *ru)
{
	int go[2], res[2], status;
	pid_t pid;

	if (pipe(go) || pipe(res))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		close(go[1]);
		close(res[0]);
		child(go[0], res[1], path);
	}
	close(go[0]);
	close(res[1]);
	if (bench_trace_write(path, n) || write(go[1], "g", 1) != 1 ||
	    read(res[0], r, sizeof(*r)) != sizeof(*r))
		r->ok = 0;
	close(go[1]);
	close(res[0]);
	if (wait4(pid, &status, 0, ru) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		r->ok = 0;
	return r->ok && r->ns ? 0 : -1;
}

int bench_inspect_main(int argc, char **argv)
{
	const char *dir = getenv("TMPDIR");
	uint64_t n = INSPECT_EVENTS;
	struct result r = { 0 };
	struct rusage ru;
	char path[512];
	double s, eps, rss;
	int json = 0, fd, ret;

	if (parse_args(argc, argv, &json, &n))
		return 2;
	snprintf(path, sizeof(path), "%s/vcprr-bench-inspect-XXXXXX.trace",
		 dir ? dir : "/tmp");
	fd = mkstemps(path, 6);
	if (fd < 0) {
		perror("bench inspect: temporary trace");
		return 1;
	}
	close(fd);
	ret = run(path, n, &r, &ru);
	unlink(path);
	if (ret) {
		fprintf(stderr, "bench inspect: the summary run failed\n");
		return 1;
	}
	s = (double)r.ns / 1e9;
	eps = (double)r.events / s;
	rss = (double)ru.ru_maxrss / 1024.0;
	if (json) {
		printf("{\"bench\":\"inspect\",\"events\":%llu,\"summary_s\":%.3f,"
		       "\"events_per_s\":%.0f,\"peak_rss_mb\":%.1f}\n",
		       (unsigned long long)r.events, s, eps, rss);
		return 0;
	}
	printf("%-22s %llu\n", "events", (unsigned long long)r.events);
	printf("%-22s %.3f s\n", "summary", s);
	printf("%-22s %.2f M/s\n", "throughput", eps / 1e6);
	printf("%-22s %.1f MB\n", "peak RSS (summary)", rss);
	return 0;
}
