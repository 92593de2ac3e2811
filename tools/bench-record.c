/* vcprr bench record: what recording costs a running guest.  The pio guest
 * (one PIO exit per loop) runs with recording off and on, interleaved in one
 * invocation, on 1 and 2 VCPUs; plus the trace size per event and the writer
 * alone on synthetic events. */
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools/bench-trace.h"
#include "tools/bench-util.h"
#include "tools/cli.h"
#include "traces/trace.h"
#include "vmm/recording.h"
#include "vmm/vm.h"

#define PIO_WRITES 150000
#define PAIRS      5

struct run_result {
	double seconds;
	uint64_t events, bytes;
};

/* One run of the pio guest, recorded into path when path is not NULL. */
static int run_pio(unsigned vcpus, const char *path, struct run_result *out)
{
	struct vm_config cfg;
	struct run_desc d;
	struct trace_writer_stats st = { 0 };
	struct trace_writer *w = NULL;
	char err[1024];
	struct stat sb;
	struct vm *vm;
	uint64_t t0;

	run_desc_init(&d);
	d.nr_vcpus = vcpus;
	d.guest_arg = PIO_WRITES;
	run_desc_vm_config(&d, &cfg);
	cfg.console_fd = open("/dev/null", O_WRONLY);
	if (path) {
		w = recording_open(path, &d, bench_guest_path("pio"), err,
				   sizeof(err));
		if (!w)
			goto fail;
	}
	cfg.trace = w;
	vm = vm_create(&cfg, bench_guest_path("pio"), err, sizeof(err));
	if (!vm)
		goto fail;
	t0 = bench_now_ns();
	vm_start(vm);
	vm_wait(vm, -1);
	out->seconds = (bench_now_ns() - t0) / 1e9;
	vm_destroy(vm);
	close(cfg.console_fd);
	if (w) {
		trace_writer_stats(w, &st);
		trace_writer_close(w, TEND_GUEST_EXIT, 0, 0);
		out->events = st.events + 1;
		out->bytes = stat(path, &sb) ? 0 : sb.st_size;
	}
	return 0;
fail:
	fprintf(stderr, "vcprr bench record: %s\n", err);
	return -1;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Interleaved off/on pairs so that drift in machine speed hits both. */
static int overhead(unsigned vcpus, const char *path, double *off_s, double *on_s,
		    struct run_result *last_on)
{
	double off[PAIRS], on[PAIRS];
	struct run_result r;

	for (int i = 0; i < PAIRS; i++) {
		if (run_pio(vcpus, NULL, &r))
			return -1;
		off[i] = r.seconds;
		if (run_pio(vcpus, path, last_on))
			return -1;
		on[i] = last_on->seconds;
	}
	*off_s = median(off, PAIRS);
	*on_s = median(on, PAIRS);
	return 0;
}

int bench_record_main(int argc, char **argv)
{
	struct bench_report rep = { .json = bench_want_json(argc, argv) };
	char path[] = "/tmp/vcprr-bench-record-XXXXXX";
	struct run_result r1, r2;
	double off1, on1, off2, on2, eps, bpe;
	int fd = mkstemp(path);

	if (fd < 0)
		return EXIT_VMM_ERROR;
	close(fd);
	if (overhead(1, path, &off1, &on1, &r1) || overhead(2, path, &off2, &on2, &r2) ||
	    bench_writer_measure(5000000, &eps, &bpe, NULL)) {
		unlink(path);
		return EXIT_VMM_ERROR;
	}
	unlink(path);
	bench_report_add(&rep, "events", r1.events);
	bench_report_add(&rep, "off_s", off1);
	bench_report_add(&rep, "on_s", on1);
	bench_report_add(&rep, "overhead_pct", (on1 - off1) / off1 * 100);
	bench_report_add(&rep, "off_s_2vcpu", off2);
	bench_report_add(&rep, "on_s_2vcpu", on2);
	bench_report_add(&rep, "overhead_pct_2vcpu", (on2 - off2) / off2 * 100);
	bench_report_add(&rep, "bytes_per_event", (double)r1.bytes / r1.events);
	bench_report_add(&rep, "bytes_per_event_2vcpu", (double)r2.bytes / r2.events);
	bench_report_add(&rep, "writer_events_per_s", eps);
	bench_report_add(&rep, "writer_bytes_per_event", bpe);
	bench_report_print(&rep);
	return 0;
}
