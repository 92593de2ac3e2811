/* VCPU threads kept from run to run (vmm/vcpu.h): a VM reset from a
 * snapshot runs again on the threads of its first run; vm_wait() returns
 * only once every thread has parked after its run (a thread held after
 * its run's end by a test hook makes the interleaving certain); signals
 * meant for the process stay off the parked threads; the watchdog is kept
 * and re-armed too; vm_destroy() ends and joins them all. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "tests/helpers/testutil.h"
#include "vmm/run-drive.h"
#include "vmm/snapshot.h"
#include "vmm/test-hooks.h"
#include "vmm/vm.h"

#define MAX_TIDS 16

static int null_fd;

/* The threads seen running VCPUs (any VCPU: serial switches trade them). */
struct seen {
	atomic_int tids[MAX_TIDS];
	atomic_uint n;
	atomic_uint late;          /* RUN_OVER hooks that finished */
	unsigned hold_ms;          /* RUN_OVER holds the thread this long */
};

static void note_tid(struct seen *s, int tid)
{
	unsigned n = atomic_load(&s->n);

	for (unsigned i = 0; i < n && i < MAX_TIDS; i++)
		if (atomic_load(&s->tids[i]) == tid)
			return;
	n = atomic_fetch_add(&s->n, 1);
	if (n < MAX_TIDS)
		atomic_store(&s->tids[n], tid);
}

static void hook(struct vm *vm, unsigned vcpu, enum vcpu_hook_point p, void *arg)
{
	struct seen *s = arg;

	(void)vm;
	(void)vcpu;
	if (p == VCPU_HOOK_BEFORE_RUN)
		note_tid(s, (int)syscall(SYS_gettid));
	if (p == VCPU_HOOK_RUN_OVER && s->hold_ms) {
		struct timespec ts = { 0, (long)s->hold_ms * 1000000 };
		nanosleep(&ts, NULL);
		atomic_fetch_add_explicit(&s->late, 1, memory_order_relaxed);
	}
}

static struct vm *new_vm(const char *guest, unsigned vcpus,
			 enum vm_sched_mode mode, struct seen *s)
{
	struct vm_config c = {
		.nr_vcpus = vcpus,
		.sched = { .mode = mode, .policy = VM_POLICY_RANDOM, .seed = 7,
			   .pause_ppm = mode == VM_SCHED_PARALLEL ? 0 : 200000,
			   .max_hold = 4, .step_budget = 1000000 },
	};
	char err[512];
	struct vm *vm;

	c.console_fd = c.log_fd = null_fd;
	vm = vm_create(&c, guest_path(guest), err, sizeof(err));
	if (!vm)
		fail_msg("%s", err);
	vm_set_test_hook(vm, hook, s);
	return vm;
}

static void run(struct vm *vm)
{
	struct run_drive d = { .signal_fd = -1, .timeout_ns = 60000000000ull };

	assert_int_equal(run_drive(vm, &d), 0);
	if (vm_result(vm)->reason != TEND_GUEST_EXIT)
		fail_msg("the run ended (%d): %s", vm_result(vm)->reason,
			 vm_result(vm)->diag);
}

static bool task_exists(int tid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/self/task/%d", tid);
	return stat(path, &st) == 0;
}

/* The process's threads named vcprr-* (VCPU threads, the watchdog),
 * sorted. */
static unsigned vcprr_threads(int *tids, unsigned max)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	unsigned n = 0;

	assert_non_null(d);
	while ((e = readdir(d))) {
		char path[300], comm[32] = "";
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		if (!(f = fopen(path, "r")))
			continue;  /* it has just ended */
		if (fgets(comm, sizeof(comm), f) && !strncmp(comm, "vcprr-", 6) &&
		    n < max)
			tids[n++] = atoi(e->d_name);
		fclose(f);
	}
	closedir(d);
	for (unsigned i = 1; i < n; i++)
		for (unsigned j = i; j > 0 && tids[j - 1] > tids[j]; j--) {
			int t = tids[j];
			tids[j] = tids[j - 1];
			tids[j - 1] = t;
		}
	return n;
}

/* Takes the snapshot of vm's start (to: NULL), or resets vm to it. */
static struct vm_snapshot *start_of(struct vm *vm, struct vm_snapshot *to)
{
	char err[512];

	if (to ? vm_snapshot_restore(vm, to, err, sizeof(err)) != 0 :
	    !(to = vm_snapshot_take(vm, err, sizeof(err))))
		fail_msg("snapshot: %s", err);
	return to;
}

/* Five runs of a reset VM (serial, with injected pauses and traded VCPUs;
 * step) run on the first run's threads, which exist until vm_destroy(),
 * and make no other thread (the watchdog is kept too). */
static void kept_threads(enum vm_sched_mode mode)
{
	struct seen s = { 0 };
	struct vm *vm;
	struct vm_snapshot *start;
	int first[MAX_TIDS], all[64], now[64];
	unsigned nfirst, nall;

	vm = new_vm("lost-update", 3, mode, &s);
	start = start_of(vm, NULL);
	run(vm);
	nfirst = atomic_load(&s.n);
	assert_int_equal(nfirst, 3);
	for (unsigned i = 0; i < nfirst; i++)
		first[i] = atomic_load(&s.tids[i]);
	nall = vcprr_threads(all, 64);
	assert_int_equal(nall, nfirst + 1);  /* and the watchdog */
	for (int r = 0; r < 4; r++) {
		start_of(vm, start);
		run(vm);
		assert_int_equal(atomic_load(&s.n), nfirst);  /* no new thread */
		assert_int_equal(vcprr_threads(now, 64), nall);
		assert_memory_equal(now, all, nall * sizeof(int));
	}
	vm_destroy(vm);
	for (unsigned i = 0; i < nfirst; i++)
		assert_false(task_exists(first[i]));
	assert_int_equal(vcprr_threads(now, 64), 0);
}

static void test_kept_threads_serial(void **state)
{
	(void)state;
	SKIP_WITHOUT_KVM();
	kept_threads(VM_SCHED_SERIAL);
}

static void test_kept_threads_step(void **state)
{
	(void)state;
	SKIP_WITHOUT_KVM();
	kept_threads(VM_SCHED_STEP);
}

/* Each thread is held for 30 ms after its run's end (the end is already
 * signalled): vm_wait() returns only once all have gone by and parked,
 * so a reset that follows cannot race with them. */
static void test_wait_until_parked(void **state)
{
	struct seen s = { .hold_ms = 30 };
	struct vm_snapshot *start;
	struct vm *vm;

	(void)state;
	SKIP_WITHOUT_KVM();
	vm = new_vm("lost-update", 2, VM_SCHED_SERIAL, &s);
	start = start_of(vm, NULL);
	for (unsigned r = 1; r <= 3; r++) {
		if (r > 1)
			start_of(vm, start);
		run(vm);
		assert_int_equal(atomic_load_explicit(&s.late, memory_order_relaxed),
				 2 * r);
	}
	vm_destroy(vm);
}

/* The same in parallel mode, where the VCPU threads run at once. */
static void test_wait_until_parked_parallel(void **state)
{
	struct seen s = { .hold_ms = 20 };
	struct vm *vm;

	(void)state;
	SKIP_WITHOUT_KVM();
	vm = new_vm("empty", 4, VM_SCHED_PARALLEL, &s);
	run(vm);
	assert_int_equal(atomic_load_explicit(&s.late, memory_order_relaxed), 4);
	vm_destroy(vm);
}

/* The watchdog, kept between runs, watches each run of a reset VM: a
 * VCPU spinning without an exit under the serial scheduler ends every
 * run as a hang. */
static void test_watchdog_rearmed(void **state)
{
	struct seen s = { 0 };
	struct sched_config sc = { .mode = VM_SCHED_SERIAL,
				   .policy = VM_POLICY_RR,
				   .watchdog_ns = 50000000 };
	struct run_drive d = { .signal_fd = -1, .timeout_ns = 60000000000ull };
	struct vm_snapshot *start;
	char err[512];
	struct vm *vm;

	(void)state;
	SKIP_WITHOUT_KVM();
	vm = new_vm("spin", 2, VM_SCHED_SERIAL, &s);
	start = start_of(vm, NULL);
	for (int r = 0; r < 3; r++) {
		if (r)
			start_of(vm, start);
		if (vm_set_run(vm, &sc, NULL, err, sizeof(err)))
			fail_msg("%s", err);
		assert_int_equal(run_drive(vm, &d), 0);
		assert_int_equal(vm_result(vm)->reason, TEND_GUEST_FAULT);
		assert_non_null(strstr(vm_result(vm)->diag,
				       "ran 50 ms without a VM exit"));
	}
	vm_destroy(vm);
}

static atomic_int got_term;

static void on_term(int sig)
{
	(void)sig;
	atomic_fetch_add(&got_term, 1);
}

/* A caller that holds SIGTERM off (explore does while it keeps a trace)
 * gets it once it lets it in: a parked VCPU thread, made when SIGTERM was
 * not blocked, does not take it meanwhile. */
static void test_signals_stay_off_parked_threads(void **state)
{
	struct sigaction sa = { .sa_handler = on_term }, old;
	struct seen s = { 0 };
	sigset_t term, pending;
	struct vm *vm;

	(void)state;
	SKIP_WITHOUT_KVM();
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	pthread_sigmask(SIG_UNBLOCK, &term, NULL);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, &old);
	vm = new_vm("lost-update", 2, VM_SCHED_SERIAL, &s);
	run(vm);  /* its threads park */
	pthread_sigmask(SIG_BLOCK, &term, NULL);
	kill(getpid(), SIGTERM);
	for (int i = 0; i < 50 && !atomic_load(&got_term); i++)
		usleep(1000);
	assert_int_equal(atomic_load(&got_term), 0);
	assert_int_equal(sigpending(&pending), 0);
	assert_true(sigismember(&pending, SIGTERM));
	pthread_sigmask(SIG_UNBLOCK, &term, NULL);
	assert_int_equal(atomic_load(&got_term), 1);
	sigaction(SIGTERM, &old, NULL);
	vm_destroy(vm);
}

/* vm_destroy() of a VM whose threads run, of one whose run ended, and of
 * one never started: every thread is joined. */
static void test_destroy(void **state)
{
	struct seen s = { 0 };
	struct vm *vm;
	int tid;

	(void)state;
	SKIP_WITHOUT_KVM();
	vm = new_vm("spin", 2, VM_SCHED_PARALLEL, &s);
	assert_int_equal(vm_start(vm), 0);
	while (atomic_load(&s.n) < 2)
		usleep(1000);
	tid = atomic_load(&s.tids[0]);
	vm_destroy(vm);  /* stops the run */
	assert_false(task_exists(tid));
	vm = new_vm("lost-update", 2, VM_SCHED_SERIAL, &s);
	vm_destroy(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kept_threads_serial),
		cmocka_unit_test(test_kept_threads_step),
		cmocka_unit_test(test_wait_until_parked),
		cmocka_unit_test(test_wait_until_parked_parallel),
		cmocka_unit_test(test_watchdog_rearmed),
		cmocka_unit_test(test_signals_stay_off_parked_threads),
		cmocka_unit_test(test_destroy),
	};

	null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
