/* vcprr bench record: what recording costs a running guest.  The pio guest
 * (one PIO exit per loop) runs with recording off and on, interleaved in one
 * invocation, on 1 and 2 VCPUs; on 1 VCPU also against the floor, a bare
 * KVM_RUN loop with the registers synced through kvm_run as a run has
 * them (record_over_raw); plus the trace size per event and the writer
 * alone on synthetic events.  Every ratio is the median of the pairs'
 * ratios, with its spread, of wall time and (fields with cpu) of the
 * process's CPU time (the VCPU and the trace writer threads). */
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools/bench-floor.h"
#include "tools/bench-trace.h"
#include "tools/bench-util.h"
#include "tools/cli.h"
#include "traces/trace.h"
#include "vmm/recording.h"
#include "vmm/vm.h"

#define PIO_WRITES 150000
#define PAIRS      7

struct run_result {
	double seconds, cpu_s;      /* wall, and the process's CPU time */
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
	uint64_t t0, c0;

	run_desc_init(&d);
	d.nr_vcpus = vcpus;
	d.input = (struct vm_guest_input)VM_INPUT_ARG(PIO_WRITES);
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
	c0 = bench_process_cpu_ns();
	vm_start(vm);
	vm_wait(vm, -1);
	out->cpu_s = (bench_process_cpu_ns() - c0) / 1e9;
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

/* Medians over the pairs, of wall time and of CPU time. */
struct overhead {
	double off_s, on_s;
	double on_over_off, spread;     /* median of the pairs' ratios */
	double cpu_on_over_off, cpu_spread;
	/* 1 VCPU: per exit against the bare loop */
	double raw_us, on_over_raw, raw_spread;
	double raw_cpu_us, cpu_on_over_raw, cpu_raw_spread;
	struct run_result last_on;
};

/* Alternating (bare loop,) off, on, so that drift in the machine's speed
 * hits every side alike; each ratio is the median of the per-pair ratios.
 * The bare loop (one VCPU only) makes as many exits as the pio guest. */
static int overhead(unsigned vcpus, const char *path, struct overhead *o)
{
	double off[PAIRS], on[PAIRS], ratio[PAIRS], cratio[PAIRS];
	double raw[PAIRS], craw[PAIRS], over_raw[PAIRS], cover_raw[PAIRS];
	struct bench_sample b;
	struct run_result r;

	for (int i = 0; i < PAIRS; i++) {
		if (vcpus == 1 &&
		    bench_bare_exits("pio", PIO_WRITES * 2, false, PIO_WRITES, &b))
			return -1;
		if (run_pio(vcpus, NULL, &r) || run_pio(vcpus, path, &o->last_on))
			return -1;
		off[i] = r.seconds;
		on[i] = o->last_on.seconds;
		ratio[i] = on[i] / off[i];
		cratio[i] = o->last_on.cpu_s / r.cpu_s;
		raw[i] = b.wall;
		craw[i] = b.cpu;
		over_raw[i] = on[i] * 1e6 / PIO_WRITES / b.wall;
		cover_raw[i] = o->last_on.cpu_s * 1e6 / PIO_WRITES / b.cpu;
	}
	o->on_over_off = bench_ratios(ratio, PAIRS, &o->spread);
	o->cpu_on_over_off = bench_ratios(cratio, PAIRS, &o->cpu_spread);
	o->off_s = bench_median(off, PAIRS);
	o->on_s = bench_median(on, PAIRS);
	o->raw_us = o->on_over_raw = o->raw_spread = BENCH_NONE;
	o->raw_cpu_us = o->cpu_on_over_raw = o->cpu_raw_spread = BENCH_NONE;
	if (vcpus != 1)
		return 0;
	o->on_over_raw = bench_ratios(over_raw, PAIRS, &o->raw_spread);
	o->cpu_on_over_raw = bench_ratios(cover_raw, PAIRS, &o->cpu_raw_spread);
	o->raw_us = bench_median(raw, PAIRS);
	o->raw_cpu_us = bench_median(craw, PAIRS);
	return 0;
}

int bench_record_main(int argc, char **argv)
{
	struct bench_report rep = { .json = bench_want_json(argc, argv) };
	char path[] = "/tmp/vcprr-bench-record-XXXXXX";
	struct overhead o1, o2;
	double eps, bpe;
	int fd = mkstemp(path);

	if (fd < 0)
		return EXIT_VMM_ERROR;
	close(fd);
	if (overhead(1, path, &o1) || overhead(2, path, &o2) ||
	    bench_writer_measure(5000000, &eps, &bpe, NULL)) {
		unlink(path);
		return EXIT_VMM_ERROR;
	}
	unlink(path);
	bench_report_add(&rep, "events", o1.last_on.events);
	bench_report_add(&rep, "off_s", o1.off_s);
	bench_report_add(&rep, "on_s", o1.on_s);
	bench_report_add(&rep, "overhead_pct", (o1.on_over_off - 1) * 100);
	bench_report_add(&rep, "overhead_pct_spread", o1.spread * 100);
	bench_report_add(&rep, "record_us_per_exit", o1.on_s * 1e6 / PIO_WRITES);
	bench_report_add(&rep, "raw_exit_sync_regs_us", o1.raw_us);
	bench_report_add(&rep, "record_over_raw", o1.on_over_raw);
	bench_report_add(&rep, "record_over_raw_spread", o1.raw_spread);
	bench_report_add(&rep, "overhead_cpu_pct", (o1.cpu_on_over_off - 1) * 100);
	bench_report_add(&rep, "overhead_cpu_pct_spread", o1.cpu_spread * 100);
	bench_report_add(&rep, "raw_exit_sync_regs_cpu_us", o1.raw_cpu_us);
	bench_report_add(&rep, "record_cpu_over_raw", o1.cpu_on_over_raw);
	bench_report_add(&rep, "record_cpu_over_raw_spread", o1.cpu_raw_spread);
	bench_report_add(&rep, "off_s_2vcpu", o2.off_s);
	bench_report_add(&rep, "on_s_2vcpu", o2.on_s);
	bench_report_add(&rep, "overhead_pct_2vcpu", (o2.on_over_off - 1) * 100);
	bench_report_add(&rep, "overhead_pct_2vcpu_spread", o2.spread * 100);
	bench_report_add(&rep, "bytes_per_event",
			 (double)o1.last_on.bytes / o1.last_on.events);
	bench_report_add(&rep, "bytes_per_event_2vcpu",
			 (double)o2.last_on.bytes / o2.last_on.events);
	bench_report_add(&rep, "writer_events_per_s", eps);
	bench_report_add(&rep, "writer_bytes_per_event", bpe);
	bench_report_print(&rep);
	return 0;
}
