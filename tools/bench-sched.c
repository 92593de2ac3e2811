/* vcprr bench sched: what the serial and step schedulers cost per VM exit,
 * against the floor measured side by side in the same run: a bare KVM_RUN
 * loop on one thread with the same guest (the pio guest, one PIO write per
 * loop; single steps of it for step mode).
 *
 * Each ratio is the median of alternating pairs (floor, scheduler, floor,
 * scheduler ...) with its spread (largest minus smallest pair), of wall
 * time and (fields with _cpu) of the process's CPU time.  The
 * serial scheduler runs the next VCPU on the thread that holds the turn
 * whenever that VCPU's own thread only waits for it; `handoff_*` measures
 * the other design, every switch handed to the next VCPU's thread (a
 * targeted wake-up), as blocks (a pause, a halt) still do.
 *
 * run_trivial_us: a whole run of the hello guest as vcprr run makes it
 * (create, start, wait, destroy), against creating the same VM, running
 * it to its end on this thread and destroying it: what threads, the end
 * of the run and the teardown add. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/bench-floor.h"
#include "tools/bench-util.h"
#include "tools/cli.h"
#include "vmm/controller.h"
#include "vmm/run-drive.h"
#include "vmm/test-hooks.h"
#include "vmm/vm.h"

#define EXITS  20000    /* KVM_RUN returns per sample */
#define MIN_PER_VCPU 600
#define PAIRS  5
#define RUN_PAIRS 15

struct sample {
	unsigned vcpus;
	enum vm_sched_mode mode;
	bool handoff;           /* every switch to another thread */
	struct bench_sample floor[PAIRS];  /* the floor's, for its median */
	int nfloor;
};

static struct vm *create(const char *guest, unsigned vcpus,
			 enum vm_sched_mode mode, uint64_t arg, int console)
{
	struct vm_config cfg = {
		.nr_vcpus = vcpus, .input = VM_INPUT_ARG(arg), .console_fd = console,
		.sched = { .mode = mode, .policy = VM_POLICY_RR },
	};
	char err[1024];
	struct vm *vm = vm_create(&cfg, bench_guest_path(guest), err, sizeof(err));

	if (!vm)
		fprintf(stderr, "vcprr bench sched: %s\n", err);
	return vm;
}

/* The pio guest run to its end by the scheduler; per scheduling point. */
static int scheduled_run(const struct sample *c, struct bench_sample *us)
{
	/* A write is one exit; in step mode, a loop of about six steps.  At
	 * least MIN_PER_VCPU each, so that starting threads stays small. */
	uint64_t per = EXITS / c->vcpus;
	int console = open("/dev/null", O_WRONLY);
	struct sched_stats st;
	struct vm *vm;
	uint64_t t0, c0, t, cpu;
	int r = -1;

	if (console < 0)
		return -1;
	if (per < MIN_PER_VCPU)
		per = MIN_PER_VCPU;
	if (c->mode == VM_SCHED_STEP)
		per /= 6;
	vm = create("pio", c->vcpus, c->mode, per, console);
	if (!vm)
		goto out;
	if (c->handoff)
		vm_test_sched_handoff(vm);
	t0 = bench_now_ns();
	c0 = bench_process_cpu_ns();
	if (vm_start(vm))
		goto out;
	vm_wait(vm, -1);
	cpu = bench_process_cpu_ns() - c0;
	t = bench_now_ns() - t0;
	if (vm_result(vm)->reason != TEND_GUEST_EXIT ||
	    vm_sched_stats(vm, &st) || !st.steps) {
		fprintf(stderr, "vcprr bench sched: the pio guest failed: %s\n",
			vm_result(vm)->diag);
		goto out;
	}
	us->wall = t / 1e3 / st.steps;
	us->cpu = cpu / 1e3 / st.steps;
	r = 0;
out:
	vm_destroy(vm);
	close(console);
	return r;
}

static int measure(void *arg, bool on, struct bench_sample *us)
{
	struct sample *c = arg;

	if (on)
		return scheduled_run(c, us);
	if (bench_bare_exits("pio", 1u << 30, c->mode == VM_SCHED_STEP,
			     EXITS, us))
		return -1;
	c->floor[c->nfloor++] = *us;
	return 0;
}

/* NAME (wall), NAME_over_raw and its _spread; the same of CPU time as
 * NAME_cpu... */
static void add_pairs(struct bench_report *rep, const char *name,
		      const struct bench_pairs *p)
{
	static const char *const fmt[] = { "%s", "%s_over_raw",
		"%s_over_raw_spread", "%s_cpu", "%s_cpu_over_raw",
		"%s_cpu_over_raw_spread" };
	const double v[] = { p->on, p->ratio, p->spread, p->cpu_on,
			     p->cpu_ratio, p->cpu_spread };
	char key[64];

	for (unsigned i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		snprintf(key, sizeof(key), fmt[i], name);
		bench_report_add(rep, key, v[i]);
	}
}

static int report(struct bench_report *rep, struct sample *c, const char *name)
{
	struct bench_pairs p;

	c->nfloor = 0;
	if (bench_alternate(PAIRS, measure, c, &p))
		return -1;
	add_pairs(rep, name, &p);
	return 0;
}

/* The median floor of the samples, wall and CPU. */
static void add_floor(struct bench_report *rep, const char *name,
		      const struct bench_sample *f, int n)
{
	double wall[PAIRS * 8], cpu[PAIRS * 8];
	char key[64];

	for (int i = 0; i < n; i++) {
		wall[i] = f[i].wall;
		cpu[i] = f[i].cpu;
	}
	bench_report_add(rep, name, bench_median(wall, n));
	snprintf(key, sizeof(key), "%s_cpu", name);
	bench_report_add(rep, key, bench_median(cpu, n));
}

/* A whole run of a trivial guest (hello), as vcprr run makes it: create,
 * start its thread, wait for the end, destroy; against the bare run. */
static int trivial_run(void *arg, bool on, struct bench_sample *us)
{
	struct run_drive drive = { .signal_fd = -1 };
	int console, r = -1;
	struct vm *vm;
	uint64_t t0, c0;

	(void)arg;
	if (!on)
		return bench_bare_run("hello", us);
	console = open("/dev/null", O_WRONLY);
	if (console < 0)
		return -1;
	t0 = bench_now_ns();
	c0 = bench_process_cpu_ns();
	vm = create("hello", 1, VM_SCHED_PARALLEL, 0, console);
	if (vm && !run_drive(vm, &drive) &&
	    vm_result(vm)->reason == TEND_GUEST_EXIT)
		r = 0;
	vm_destroy(vm);
	us->cpu = (bench_process_cpu_ns() - c0) / 1e3;
	us->wall = (bench_now_ns() - t0) / 1e3;
	close(console);
	return r;
}

static int report_trivial_run(struct bench_report *rep)
{
	struct bench_pairs p;

	if (bench_alternate(RUN_PAIRS, trivial_run, NULL, &p))
		return -1;
	add_pairs(rep, "run_trivial_us", &p);
	bench_report_add(rep, "raw_run_trivial_us", p.off);
	bench_report_add(rep, "raw_run_trivial_us_cpu", p.cpu_off);
	return 0;
}

int bench_sched_main(int argc, char **argv)
{
	static const unsigned counts[] = { 1, 2, 4, 16, 64 };
	struct bench_report rep = { .json = bench_want_json(argc, argv) };
	struct bench_sample floors[PAIRS * 8];
	int nfloors = 0;
	struct sample c;
	char name[48];

	for (unsigned i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		c = (struct sample){ .vcpus = counts[i], .mode = VM_SCHED_SERIAL };
		snprintf(name, sizeof(name), "serial_us_per_exit_V%u", counts[i]);
		if (report(&rep, &c, name))
			return EXIT_VMM_ERROR;
		memcpy(floors + nfloors, c.floor, c.nfloor * sizeof(c.floor[0]));
		nfloors += c.nfloor;
	}
	for (unsigned i = 1; i < sizeof(counts) / sizeof(counts[0]); i++) {
		c = (struct sample){ .vcpus = counts[i], .mode = VM_SCHED_SERIAL,
				     .handoff = true };
		snprintf(name, sizeof(name), "handoff_us_per_exit_V%u", counts[i]);
		if (report(&rep, &c, name))
			return EXIT_VMM_ERROR;
	}
	add_floor(&rep, "raw_exit_us", floors, nfloors);
	c = (struct sample){ .vcpus = 1, .mode = VM_SCHED_STEP };
	if (report(&rep, &c, "step_us"))
		return EXIT_VMM_ERROR;
	add_floor(&rep, "raw_step_us", c.floor, c.nfloor);
	c = (struct sample){ .vcpus = 4, .mode = VM_SCHED_STEP };
	if (report(&rep, &c, "step_us_V4") || report_trivial_run(&rep))
		return EXIT_VMM_ERROR;
	bench_report_print(&rep);
	return 0;
}
