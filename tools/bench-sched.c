/* vcprr bench sched: what the serial and step schedulers cost per VM exit,
 * against the floor measured side by side in the same run: a bare KVM_RUN
 * loop on one thread with the same guest (the pio guest, one PIO write per
 * loop; single steps of it for step mode).
 *
 * Each ratio is the median of alternating pairs (floor, scheduler, floor,
 * scheduler ...) with its spread (largest minus smallest pair).  The
 * serial scheduler runs the next VCPU on the thread that holds the turn
 * whenever that VCPU's own thread only waits for it; `handoff_*` measures
 * the other design, every switch handed to the next VCPU's thread (a
 * targeted wake-up), as blocks (a pause, a halt) still do. */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "tools/bench-util.h"
#include "tools/cli.h"
#include "vmm/controller.h"
#include "vmm/test-hooks.h"
#include "vmm/vm.h"

#define EXITS  20000    /* KVM_RUN returns per sample */
#define PAIRS  5

struct sample {
	unsigned vcpus;
	enum vm_sched_mode mode;
	bool handoff;           /* every switch to another thread */
	double floor[PAIRS * 2];  /* the floor's samples, for its median */
	int nfloor;
};

static struct vm *create(unsigned vcpus, enum vm_sched_mode mode,
			 uint64_t arg, int console)
{
	struct vm_config cfg = {
		.nr_vcpus = vcpus, .guest_arg = arg, .console_fd = console,
		.sched = { .mode = mode, .policy = VM_POLICY_RR },
	};
	char err[1024];
	struct vm *vm = vm_create(&cfg, bench_guest_path("pio"), err, sizeof(err));

	if (!vm)
		fprintf(stderr, "vcprr bench sched: %s\n", err);
	return vm;
}

/* The floor: KVM_RUN in a loop on this thread, nothing handled (the PIO
 * writes go nowhere; KVM completes them on the next entry). */
static int bare_loop(bool step, double *us)
{
	struct kvm_guest_debug dbg = {
		.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP,
	};
	struct vm *vm = create(1, VM_SCHED_PARALLEL, 1u << 30, 0);
	struct kvm_run *run;
	uint64_t t0;
	int fd, r = -1;

	if (!vm)
		return -1;
	if (vm_test_vcpu_fd(vm, 0, &fd, &run) ||
	    (step && ioctl(fd, KVM_SET_GUEST_DEBUG, &dbg) < 0))
		goto out;
	for (int i = 0; i < 100; i++)  /* past the guest's start */
		if (ioctl(fd, KVM_RUN, 0) < 0)
			goto out;
	t0 = bench_now_ns();
	for (int i = 0; i < EXITS; i++) {
		if (ioctl(fd, KVM_RUN, 0) < 0 ||
		    (run->exit_reason != KVM_EXIT_IO &&
		     run->exit_reason != KVM_EXIT_DEBUG)) {
			fprintf(stderr, "vcprr bench sched: the bare loop stopped "
				"(exit %u)\n", run->exit_reason);
			goto out;
		}
	}
	*us = (bench_now_ns() - t0) / 1e3 / EXITS;
	r = 0;
out:
	vm_destroy(vm);
	return r;
}

/* The pio guest run to its end by the scheduler; per scheduling point. */
static int scheduled_run(const struct sample *c, double *us)
{
	/* A write is one exit; in step mode, a loop of about six steps. */
	uint64_t per = EXITS / c->vcpus / (c->mode == VM_SCHED_STEP ? 6 : 1);
	int console = open("/dev/null", O_WRONLY);
	struct sched_stats st;
	struct vm *vm;
	uint64_t t0, t;
	int r = -1;

	if (console < 0)
		return -1;
	vm = create(c->vcpus, c->mode, per ? per : 1, console);
	if (!vm)
		goto out;
	if (c->handoff)
		vm_test_sched_handoff(vm);
	t0 = bench_now_ns();
	if (vm_start(vm))
		goto out;
	vm_wait(vm, -1);
	t = bench_now_ns() - t0;
	if (vm_result(vm)->reason != TEND_GUEST_EXIT ||
	    vm_sched_stats(vm, &st) || !st.steps) {
		fprintf(stderr, "vcprr bench sched: the pio guest failed: %s\n",
			vm_result(vm)->diag);
		goto out;
	}
	*us = t / 1e3 / st.steps;
	r = 0;
out:
	vm_destroy(vm);
	close(console);
	return r;
}

static int measure(void *arg, bool on, double *us)
{
	struct sample *c = arg;

	if (on)
		return scheduled_run(c, us);
	if (bare_loop(c->mode == VM_SCHED_STEP, us))
		return -1;
	c->floor[c->nfloor++] = *us;
	return 0;
}

static int report(struct bench_report *rep, struct sample *c, const char *name)
{
	struct bench_pairs p;
	char key[48];

	c->nfloor = 0;
	if (bench_alternate(PAIRS, measure, c, &p))
		return -1;
	snprintf(key, sizeof(key), "%s", name);
	bench_report_add(rep, key, p.on);
	snprintf(key, sizeof(key), "%s_over_raw", name);
	bench_report_add(rep, key, p.ratio);
	snprintf(key, sizeof(key), "%s_over_raw_spread", name);
	bench_report_add(rep, key, p.spread);
	return 0;
}

int bench_sched_main(int argc, char **argv)
{
	static const unsigned counts[] = { 1, 2, 4, 16, 64 };
	struct bench_report rep = { .json = bench_want_json(argc, argv) };
	double floors[64];
	int nfloors = 0;
	struct sample c;
	char name[48];

	for (unsigned i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		c = (struct sample){ .vcpus = counts[i], .mode = VM_SCHED_SERIAL };
		snprintf(name, sizeof(name), "serial_us_per_exit_V%u", counts[i]);
		if (report(&rep, &c, name))
			return EXIT_VMM_ERROR;
		memcpy(floors + nfloors, c.floor, c.nfloor * sizeof(double));
		nfloors += c.nfloor;
	}
	for (unsigned i = 1; i < sizeof(counts) / sizeof(counts[0]); i++) {
		c = (struct sample){ .vcpus = counts[i], .mode = VM_SCHED_SERIAL,
				     .handoff = true };
		snprintf(name, sizeof(name), "handoff_us_per_exit_V%u", counts[i]);
		if (report(&rep, &c, name))
			return EXIT_VMM_ERROR;
	}
	bench_report_add(&rep, "raw_exit_us", bench_median(floors, nfloors));
	c = (struct sample){ .vcpus = 1, .mode = VM_SCHED_STEP };
	if (report(&rep, &c, "step_us"))
		return EXIT_VMM_ERROR;
	bench_report_add(&rep, "raw_step_us", bench_median(c.floor, c.nfloor));
	c = (struct sample){ .vcpus = 4, .mode = VM_SCHED_STEP };
	if (report(&rep, &c, "step_us_V4"))
		return EXIT_VMM_ERROR;
	bench_report_print(&rep);
	return 0;
}
