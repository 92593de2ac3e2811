/* Benchmarks for the trace writer and reader on a synthetic but realistic
 * stream: two VCPUs doing serial-port PIO (status poll + data write at a
 * few RIPs), ~7 us apart, with occasional hypercalls, halts, scheduler
 * switches and pause round trips. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tools/bench-trace.h"
#include "traces/clock.h"
#include "traces/trace.h"
#include "vmm/run-desc.h"

#define WRITER_EVENTS  5000000ull
#define READER_EVENTS  10000000ull

struct gen {
	uint64_t rng, time, exit_seq[2], n;
	uint32_t vcpu;
	const char *msg;
};

static uint32_t gen_rand(struct gen *g)
{
	g->rng ^= g->rng << 13;
	g->rng ^= g->rng >> 7;
	g->rng ^= g->rng << 17;
	return (uint32_t)(g->rng >> 16);
}

static void gen_init(struct gen *g)
{
	memset(g, 0, sizeof(*g));
	g->rng = 0x9e3779b97f4a7c15ull;
	g->time = 1000000000ull;
	g->msg = "hello from vcpu: counter tick ok\n";
}

static void gen_next(struct gen *g, struct trace_event *ev)
{
	uint32_t r = gen_rand(g);
	uint32_t v;

	memset(ev, 0, sizeof(*ev));
	if (r % 64 == 0)
		g->vcpu ^= 1;  /* runs of events per VCPU, as under serial */
	v = g->vcpu;
	g->time += 6500 + r % 1000;
	ev->time_ns = g->time;
	ev->vcpu = v;
	ev->exit_seq = ++g->exit_seq[v];
	g->n++;
	if (r % 997 == 0) {
		ev->type = TEV_HYPERCALL;
		ev->rip = 0x100480;
		ev->a0 = 1;
		ev->a1 = g->n;
		return;
	}
	if (r % 4093 == 0) {
		ev->type = TEV_EXIT_HLT;
		ev->rip = 0x100012;
		return;
	}
	ev->type = TEV_EXIT_PIO;
	if (g->n & 1) {
		ev->rip = 0x100a30 + 0x40 * v;
		ev->a0 = 0x3fd;                 /* LSR poll: in, 1 byte */
		ev->a1 = tev_access(1, false);
		ev->a2 = 0x60;
	} else {
		ev->rip = 0x100a3c + 0x40 * v;
		ev->a0 = 0x3f8;                 /* THR write: out, 1 byte */
		ev->a1 = tev_access(1, true);
		ev->a2 = (uint8_t)g->msg[(g->n / 2) % strlen(g->msg)];
	}
}

static int parse_args(int argc, char **argv, int *json, uint64_t *events)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			*json = 1;
		} else if (!strcmp(argv[i], "--events") && i + 1 < argc) {
			*events = strtoull(argv[++i], NULL, 0);
		} else {
			fprintf(stderr, "%s: unknown argument '%s' "
				"(use --json, --events N)\n", argv[0], argv[i]);
			return -EINVAL;
		}
	}
	return 0;
}

static int tmp_path(char *buf, size_t len)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	snprintf(buf, len, "%s/vcprr-bench-XXXXXX.trace", dir ? dir : "/tmp");
	fd = mkstemps(buf, 6);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/* Writes @n synthetic events; returns elapsed ns or 0 on failure. */
static uint64_t write_trace(const char *path, uint64_t n)
{
	struct trace_header h = { 0 };
	struct run_desc d;
	struct trace_event ev;
	struct trace_writer *w;
	struct trace_producer *p;
	struct gen g;
	char err[256];
	uint64_t t0 = mono_ns();

	run_desc_init(&d);
	d.nr_vcpus = 2;
	d.sched.mode = VM_SCHED_SERIAL;
	strcpy(d.guest.path, "bench.elf");
	run_desc_encode(&d, &h, err, sizeof(err));
	w = trace_writer_open(path, &h, NULL, err, sizeof(err));
	if (!w) {
		fprintf(stderr, "bench: %s\n", err);
		return 0;
	}
	p = trace_producer_new(w);
	gen_init(&g);
	for (uint64_t i = 0; p && i < n; i++) {
		gen_next(&g, &ev);
		trace_emit_timed(p, &ev, NULL);
	}
	if (trace_writer_close_err(w, TEND_GUEST_EXIT, 0, 0, err,
				   sizeof(err)) || !p) {
		fprintf(stderr, "bench: %s\n", p ? err : "no producer");
		return 0;
	}
	return mono_ns() - t0 ?: 1;
}

int bench_trace_write(const char *path, uint64_t n)
{
	return write_trace(path, n) ? 0 : -1;
}

static uint64_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? 0 : (uint64_t)st.st_size;
}

int bench_writer_measure(uint64_t n, double *events_per_s,
			 double *bytes_per_event, uint64_t *file_bytes)
{
	char path[512];
	uint64_t ns, bytes;

	if (tmp_path(path, sizeof(path)))
		return -1;
	ns = write_trace(path, n);
	bytes = file_size(path);
	unlink(path);
	if (!ns)
		return -1;
	n += 1; /* + VM_END */
	*events_per_s = (double)n * 1e9 / (double)ns;
	*bytes_per_event = (double)bytes / (double)n;
	if (file_bytes)
		*file_bytes = bytes;
	return 0;
}

int bench_writer_main(int argc, char **argv)
{
	uint64_t n = WRITER_EVENTS, bytes;
	int json = 0;
	double eps, bpe;

	if (parse_args(argc, argv, &json, &n) || !n)
		return 1;
	if (bench_writer_measure(n, &eps, &bpe, &bytes)) {
		perror("bench: writer");
		return 1;
	}
	n += 1;
	if (json) {
		printf("{\"bench\":\"%s\",\"events\":%llu,"
		       "\"writer_events_per_s\":%.0f,\"bytes_per_event\":%.3f,"
		       "\"file_bytes\":%llu}\n", argv[0],
		       (unsigned long long)n, eps, bpe, (unsigned long long)bytes);
		return 0;
	}
	printf("%-22s %llu\n", "events", (unsigned long long)n);
	printf("%-22s %.2f M/s\n", "writer throughput", eps / 1e6);
	printf("%-22s %.3f\n", "bytes per event", bpe);
	printf("%-22s %llu\n", "file bytes", (unsigned long long)bytes);
	return 0;
}

struct read_result {
	uint64_t events, ns;
	int ok;
};

/* Child: waits for the go byte, reads the whole trace, reports. */
static void reader_child(int go, int res, const char *path)
{
	struct read_result rr = { 0 };
	struct trace_reader *r;
	struct trace_event ev;
	const uint8_t *pl;
	char err[256], c;
	uint64_t t0, sum = 0;
	int ret;

	if (read(go, &c, 1) != 1 || c != 'g')
		_exit(2);
	t0 = mono_ns();
	r = trace_reader_open(path, err, sizeof(err));
	if (!r) {
		fprintf(stderr, "bench: %s\n", err);
		_exit(3);
	}
	while ((ret = trace_reader_next(r, &ev, &pl)) == 1)
		sum += ev.a2;   /* touch the data */
	rr.ns = mono_ns() - t0;
	rr.events = trace_reader_events_read(r);
	rr.ok = ret == 0 && !trace_reader_truncated(r) && sum;
	if (ret < 0)
		fprintf(stderr, "bench: %s\n", trace_reader_error(r));
	trace_reader_close(r);
	if (write(res, &rr, sizeof(rr)) != sizeof(rr))
		_exit(4);
	_exit(0);
}

int bench_reader_main(int argc, char **argv)
{
	uint64_t n = READER_EVENTS, bytes;
	int go[2], res[2], json = 0, status;
	struct read_result rr = { 0 };
	struct rusage ru;
	char path[512];
	double eps, rss;
	pid_t pid;

	if (parse_args(argc, argv, &json, &n) || !n)
		return 1;
	if (tmp_path(path, sizeof(path)) || pipe(go) || pipe(res)) {
		perror("bench: setup");
		return 1;
	}
	/* fork before generating so the child's RSS is only the reading */
	pid = fork();
	if (pid < 0) {
		perror("bench: fork");
		return 1;
	}
	if (!pid) {
		close(go[1]);
		close(res[0]);
		reader_child(go[0], res[1], path);
	}
	close(go[0]);
	close(res[1]);
	if (write_trace(path, n) && write(go[1], "g", 1) == 1 &&
	    read(res[0], &rr, sizeof(rr)) != sizeof(rr))
		rr.ok = 0;
	close(go[1]);
	close(res[0]);
	if (wait4(pid, &status, 0, &ru) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		rr.ok = 0;
	bytes = file_size(path);
	unlink(path);
	if (!rr.ok || !rr.ns) {
		fprintf(stderr, "bench: reading the trace failed\n");
		return 1;
	}
	eps = (double)rr.events * 1e9 / (double)rr.ns;
	rss = (double)ru.ru_maxrss / 1024.0;
	if (json) {
		printf("{\"bench\":\"%s\",\"events\":%llu,\"events_per_s\":%.0f,"
		       "\"peak_rss_mb\":%.1f,\"file_bytes\":%llu,"
		       "\"bytes_per_event\":%.3f,\"seconds\":%.3f}\n", argv[0],
		       (unsigned long long)rr.events, eps, rss,
		       (unsigned long long)bytes,
		       (double)bytes / (double)rr.events, (double)rr.ns / 1e9);
		return 0;
	}
	printf("%-22s %llu\n", "events", (unsigned long long)rr.events);
	printf("%-22s %.2f M/s\n", "reader throughput", eps / 1e6);
	printf("%-22s %.1f MB\n", "peak RSS (reader)", rss);
	printf("%-22s %llu\n", "file bytes", (unsigned long long)bytes);
	printf("%-22s %.3f\n", "bytes per event",
	       (double)bytes / (double)rr.events);
	return 0;
}
