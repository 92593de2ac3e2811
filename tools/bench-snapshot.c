/* vcprr bench snapshot: what VM snapshots (vmm/snapshot.h) cost.
 *   checkpoint_us, restore_us: a snapshot taken, and the snapshot of the
 *     start restored, after a run that wrote a few pages (explore's case);
 *   checkpoint_us_per_dirty_mib, restore_us_per_dirty_mib: what each MiB
 *     the guest wrote adds (runs writing 16 MiB against runs writing one
 *     page);
 *   checkpoint_memory_ratio_*: the memory the snapshots of several runs
 *     hold against the guest memory those runs wrote, pages written side
 *     by side and 64 pages apart (each in a tree node of its own). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/bench-util.h"
#include "tools/cli.h"
#include "vmm/run-drive.h"
#include "vmm/snapshot.h"
#include "vmm/vm.h"

#define ROUNDS     9        /* medians of this many */
#define BIG_PAGES  4096     /* 16 MiB */
#define CHAIN      8        /* snapshots kept for the memory ratio */
#define CHAIN_PAGES 1024    /* 4 MiB each */

struct bench_vm {
	struct vm *vm;
	struct vm_snapshot *start;
	int null_fd;
};

/* A VM of the dirty guest writing `pages` pages `stride` apart. */
static int bench_vm_new(struct bench_vm *b, unsigned pages, unsigned stride)
{
	struct vm_config c = { .nr_vcpus = 1, .mem_size = 512ull << 20,
			       .input = VM_INPUT_ARG(pages | (uint64_t)stride << 16),
			       .sched = { .mode = VM_SCHED_SERIAL } };
	char err[512];

	b->null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	c.console_fd = c.log_fd = b->null_fd;
	b->vm = vm_create(&c, bench_guest_path("dirty"), err, sizeof(err));
	if (!b->vm || !(b->start = vm_snapshot_take(b->vm, err, sizeof(err)))) {
		fprintf(stderr, "vcprr bench snapshot: %s\n", err);
		return -1;
	}
	return 0;
}

static void bench_vm_free(struct bench_vm *b)
{
	vm_destroy(b->vm);
	close(b->null_fd);
}

/* The start restored (timed into *restore_ns unless NULL), then a run. */
static int run_dirty(struct bench_vm *b, uint64_t *restore_ns)
{
	struct sched_config sc = { .mode = VM_SCHED_SERIAL };
	struct run_drive drive = { .signal_fd = -1 };
	uint64_t t0 = bench_now_ns();
	char err[512];

	if (vm_snapshot_restore(b->vm, b->start, err, sizeof(err)))
		goto fail;
	if (restore_ns)
		*restore_ns = bench_now_ns() - t0;
	if (vm_set_run(b->vm, &sc, NULL, err, sizeof(err)))
		goto fail;
	if (run_drive(b->vm, &drive) || vm_result(b->vm)->reason != TEND_GUEST_EXIT) {
		snprintf(err, sizeof(err), "the dirty guest: %.400s",
			 vm_result(b->vm)->diag);
		goto fail;
	}
	return 0;
fail:
	fprintf(stderr, "vcprr bench snapshot: %s\n", err);
	return -1;
}

static int take_timed(struct bench_vm *b, uint64_t *ns, struct vm_snapshot **out)
{
	uint64_t t0 = bench_now_ns();
	char err[512];
	struct vm_snapshot *s = vm_snapshot_take(b->vm, err, sizeof(err));

	*ns = bench_now_ns() - t0;
	if (!s) {
		fprintf(stderr, "vcprr bench snapshot: %s\n", err);
		return -1;
	}
	if (out)
		*out = s;
	else
		vm_snapshot_free(s);
	return 0;
}

/* Medians of taking and restoring after runs of `pages` pages. */
static int take_and_restore(unsigned pages, double *take_us, double *restore_us)
{
	uint64_t take[ROUNDS], restore[ROUNDS + 1];
	struct bench_vm b;
	int r = -1;

	if (bench_vm_new(&b, pages, 1))
		goto out;
	for (unsigned i = 0; i <= ROUNDS; i++) {
		/* restore[i]: back from run i - 1, which wrote `pages` */
		if (run_dirty(&b, &restore[i]) ||
		    (i < ROUNDS && take_timed(&b, &take[i], NULL)))
			goto out;
	}
	*take_us = bench_percentile(take, ROUNDS, 50) / 1e3;
	*restore_us = bench_percentile(restore + 1, ROUNDS, 50) / 1e3;
	r = 0;
out:
	bench_vm_free(&b);
	return r;
}

/* The snapshots of CHAIN runs, each writing CHAIN_PAGES pages `stride`
 * apart, kept together: their memory over the memory written. */
static double memory_ratio(unsigned stride)
{
	struct vm_snapshot_stats st;
	double ratio = BENCH_NONE;
	struct vm_snapshot *s;     /* kept: vm_destroy frees them */
	struct bench_vm b;
	uint64_t ns;

	if (bench_vm_new(&b, CHAIN_PAGES, stride))
		goto out;
	for (unsigned i = 0; i < CHAIN; i++)
		if (run_dirty(&b, NULL) || take_timed(&b, &ns, &s))
			goto out;
	/* Every page found written, the start's included, is memory the
	 * snapshots must hold; the runs' snapshots are still alive. */
	vm_snapshot_stats(b.vm, &st);
	ratio = (double)st.bytes / (st.pages_taken * 4096.0);
out:
	bench_vm_free(&b);
	return ratio;
}

int bench_snapshot_main(int argc, char **argv)
{
	struct bench_report rep = { .json = bench_want_json(argc, argv) };
	double take_small, restore_small, take_big, restore_big, contig, scatter;
	double mib = BIG_PAGES / 256.0;

	if (take_and_restore(1, &take_small, &restore_small) ||
	    take_and_restore(BIG_PAGES, &take_big, &restore_big))
		return EXIT_VMM_ERROR;
	contig = memory_ratio(1);
	scatter = memory_ratio(64);
	bench_report_add(&rep, "checkpoint_us", take_small);
	bench_report_add(&rep, "restore_us", restore_small);
	bench_report_add(&rep, "checkpoint_us_per_dirty_mib",
			 (take_big - take_small) / mib);
	bench_report_add(&rep, "restore_us_per_dirty_mib",
			 (restore_big - restore_small) / mib);
	bench_report_add(&rep, "checkpoint_memory_ratio_contiguous", contig);
	bench_report_add(&rep, "checkpoint_memory_ratio_scattered", scatter);
	bench_report_add(&rep, "checkpoint_memory_at_most_2x",
			 contig == contig && scatter == scatter && contig <= 2 &&
			 scatter <= 2);
	bench_report_print(&rep);
	return 0;
}
