/* VMM core: booting guests on many VCPUs, exits, faults, stopping. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/helpers/gate.h"
#include "tests/helpers/testutil.h"
#include "tools/cli.h"
#include "vmm/controller.h"
#include "vmm/replay-hooks.h"
#include "vmm/vm.h"

struct run {
	struct vm_result res;
	char *console;
	char err[1024];
	int created;
};

/* Boots guest `name` on n VCPUs, runs it to the end (or timeout_ms) and
 * captures the console. */
static struct run *run_guest_captured(const char *name, unsigned n, int timeout_ms)
{
	struct run *r = calloc(1, sizeof(*r));
	int con = memfd_new("console");
	struct vm_config cfg = { .nr_vcpus = n, .console_fd = con };
	struct vm *vm = vm_create(&cfg, guest_path(name), r->err, sizeof(r->err));

	if (vm) {
		r->created = 1;
		assert_int_equal(vm_start(vm), 0);
		if (vm_wait(vm, timeout_ms) == -ETIMEDOUT) {
			vm_stop(vm, TEND_GUEST_FAULT, 1, "test timeout");
			vm_wait(vm, -1);
		}
		r->res = *vm_result(vm);
		vm_destroy(vm);
	}
	r->console = fd_slurp(con);
	close(con);
	return r;
}

static void free_run(struct run *r)
{
	free(r->console);
	free(r);
}

static void check_hello(unsigned n)
{
	struct run *r = run_guest_captured("hello", n, 30000);
	char line[64];

	assert_true(r->created);
	assert_int_equal(r->res.reason, TEND_GUEST_EXIT);
	assert_int_equal(r->res.exit_code, 0);
	for (unsigned i = 0; i < n; i++) {
		if (n > 1)
			snprintf(line, sizeof(line), "[vcpu %u] hello from vcpu %u of %u",
				 i, i, n);
		else
			snprintf(line, sizeof(line), "hello from vcpu 0 of 1");
		assert_int_equal(count_lines(r->console, line), 1);
	}
	/* Nothing else was printed: exactly n lines. */
	int lines = 0;
	for (const char *p = r->console; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, n);
	free_run(r);
}

static void test_hello_1(void **state) { SKIP_WITHOUT_KVM(); check_hello(1); }
static void test_hello_8(void **state) { SKIP_WITHOUT_KVM(); check_hello(8); }
static void test_hello_64(void **state) { SKIP_WITHOUT_KVM(); check_hello(64); }

static void test_exit_code(void **state)
{
	SKIP_WITHOUT_KVM();
	struct run *r = run_guest_captured("exitcode", 4, 10000);

	assert_int_equal(r->res.reason, TEND_GUEST_EXIT);
	assert_int_equal(r->res.exit_code, 42);
	assert_int_equal(cli_exit_status(&r->res), 42);
	free_run(r);
}

static void test_counter_8(void **state)
{
	SKIP_WITHOUT_KVM();
	struct run *r = run_guest_captured("counter", 8, 30000);

	assert_int_equal(r->res.reason, TEND_GUEST_EXIT);
	assert_int_equal(r->res.exit_code, 0);
	assert_int_equal(count_lines(r->console,
				     "[vcpu 0] counter = 800000 (expected 800000)"), 1);
	free_run(r);
}

static void test_triple_fault(void **state)
{
	SKIP_WITHOUT_KVM();
	struct run *r = run_guest_captured("triple", 2, 10000);

	assert_int_equal(r->res.reason, TEND_GUEST_FAULT);
	assert_int_equal(cli_exit_status(&r->res), EXIT_GUEST_FAULT);
	assert_non_null(strstr(r->res.diag, "vcpu 0: triple fault (KVM_EXIT_SHUTDOWN)"));
	assert_non_null(strstr(r->res.diag, "rip="));
	/* The guest put a marker in rax just before faulting. */
	assert_non_null(strstr(r->res.diag, "rax=0000000000007ead"));
	assert_non_null(strstr(r->res.diag, "cr3=0000000000002000"));
	free_run(r);
}

static void test_assertion(void **state)
{
	SKIP_WITHOUT_KVM();
	struct run *r = run_guest_captured("assert", 1, 10000);

	assert_int_equal(r->res.reason, TEND_GUEST_ASSERT);
	assert_int_equal(cli_exit_status(&r->res), EXIT_GUEST_ASSERT);
	assert_non_null(strstr(r->res.diag,
			       "guest assertion failed: two == 2 at tests/guests/assert.c:8"));
	free_run(r);
}

static void test_spin_can_be_stopped(void **state)
{
	SKIP_WITHOUT_KVM();
	char err[512];
	struct vm_config cfg = { .nr_vcpus = 2 };
	struct vm *vm = vm_create(&cfg, guest_path("spin"), err, sizeof(err));

	assert_non_null(vm);
	assert_int_equal(vm_start(vm), 0);
	/* It never exits by itself. */
	assert_int_equal(vm_wait(vm, 200), -ETIMEDOUT);
	vm_stop(vm, TEND_SIGNAL, 2, "stopped by test");
	assert_int_equal(vm_wait(vm, 5000), 0);
	assert_int_equal(vm_result(vm)->reason, TEND_SIGNAL);
	assert_string_equal(vm_result(vm)->diag, "stopped by test");
	vm_destroy(vm);
}

static void test_destroy_while_running(void **state)
{
	SKIP_WITHOUT_KVM();
	char err[512];
	struct vm_config cfg = { .nr_vcpus = 4 };
	struct vm *vm = vm_create(&cfg, guest_path("spin"), err, sizeof(err));

	assert_non_null(vm);
	assert_int_equal(vm_start(vm), 0);
	vm_destroy(vm);  /* must stop and join, not hang or crash */
}

static void expect_create_error(const char *kvm, unsigned vcpus, uint64_t mem,
				const char *guest, const char *needle)
{
	char err[1024] = "";
	struct vm_config cfg = { .nr_vcpus = vcpus, .mem_size = mem, .kvm_path = kvm };
	struct vm *vm = vm_create(&cfg, guest, err, sizeof(err));

	assert_null(vm);
	if (!strstr(err, needle))
		fail_msg("error '%s' does not contain '%s'", err, needle);
}

static void test_kvm_missing(void **state)
{
	expect_create_error("/nonexistent/kvm", 1, 0, guest_path("hello"),
			    "/nonexistent/kvm: no such device: KVM is not available");
}

static void test_kvm_not_a_kvm_device(void **state)
{
	char path[] = "/tmp/vcprr-notkvm-XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	expect_create_error(path, 1, 0, guest_path("hello"), "not a KVM device");
	close(fd);
	unlink(path);
}

static void test_bad_config(void **state)
{
	SKIP_WITHOUT_KVM();
	expect_create_error(NULL, 100000, 0, guest_path("hello"),
			    "100000 VCPUs: this host allows 1 to");
	expect_create_error(NULL, 1, 1 << 20, guest_path("hello"), "guest memory of 1048576 bytes");
	expect_create_error(NULL, 1, 4ull << 30, guest_path("hello"), "between 2 MiB");
	expect_create_error(NULL, 1000, 8 << 20, guest_path("hello"),
			    "too small for 1000 VCPU stacks");
	expect_create_error(NULL, 1, 0, "/nonexistent/guest.elf",
			    "/nonexistent/guest.elf: cannot open");
}

/* --- the events a run produces (the replay hooks, without a replay) ------ */

struct seen_events {
	pthread_mutex_t lock;
	struct trace_event resumed[8];
	unsigned nresumed;
	int fail_on;               /* TEV_* to call a divergence, 0: none */
	unsigned fail_vcpu;
};

static enum vm_replay_verdict capture_event(void *arg,
					    const struct trace_event *ev,
					    const void *payload,
					    struct vm_replay_check *c)
{
	struct seen_events *se = arg;
	enum vm_replay_verdict r = VM_REPLAY_MATCH;

	pthread_mutex_lock(&se->lock);
	if (ev->type == TEV_RESUMED && se->nresumed < 8)
		se->resumed[se->nresumed++] = *ev;
	if ((int)ev->type == se->fail_on && ev->vcpu == se->fail_vcpu) {
		snprintf(c->why, sizeof(c->why), "expected something else");
		se->fail_on = 0;
		r = VM_REPLAY_DIVERGED;
	}
	pthread_mutex_unlock(&se->lock);
	return r;
}

static void no_input(void *arg, unsigned vcpu, uint32_t type, uint64_t addr,
		     uint64_t sizedir, uint64_t *val) { }
static const struct vm_replay_pause *no_pause(void *arg, unsigned vcpu)
{
	return NULL;
}
static int no_resume(void *arg, unsigned vcpu, uint64_t *data, unsigned *mask,
		     const uint8_t **edits, uint32_t *len,
		     const uint64_t **pending, unsigned *npending)
{
	return -1;
}

static struct vm *boot_watched(const char *guest, unsigned n,
			       enum vm_sched_mode mode, struct seen_events *se,
			       struct vm_replay_hooks *h, struct gates *gs)
{
	char err[512];
	struct vm_config cfg = {
		.nr_vcpus = n, .controlled = true, .sched = { .mode = mode },
	};
	struct vm *vm;

	*h = (struct vm_replay_hooks){ .arg = se, .event = capture_event,
		.read_input = no_input, .next_pause = no_pause,
		.resume_for = no_resume };
	vm = vm_create(&cfg, guest_path(guest), err, sizeof(err));
	if (!vm)
		fail_msg("%s", err);
	assert_int_equal(vm_replay_attach(vm, h, NULL), 0);
	vm_set_test_hook(vm, gates_hook, gs);
	return vm;
}

/* A pause taken before a VCPU's first VM exit: its RESUMED carries RIP 0,
 * whether or not a kick made KVM_RUN return (and report registers) first;
 * which one happens is timing, which a replay cannot repeat. */
static void test_events_before_first_exit(void **state)
{
	SKIP_WITHOUT_KVM();
	struct seen_events se = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct vm_replay_hooks h;
	struct gates gs;
	vcpu_mask_t m = { { 0 } };
	struct vm *vm;
	int g;

	gates_init(&gs);
	vm = boot_watched("pio", 2, VM_SCHED_PARALLEL, &se, &h, &gs);
	vcpu_mask_set(&m, 1);
	g = gate_arm(&gs, 1, VCPU_HOOK_BEFORE_RUN, 0);
	assert_int_equal(vm_start(vm), 0);
	assert_true(gate_wait_arrived(&gs, g));
	/* The kick lands before its first KVM_RUN, which returns at once. */
	assert_int_equal(vm_pause_vcpus(vm, &m, 0x11), 0);
	gate_release(&gs, g);
	assert_int_equal(vm_wait_paused(vm, &m, 5000, NULL), 0);
	assert_int_equal(vm_resume_vcpus(vm, &m, 0x22), 1);
	vm_stop(vm, TEND_SIGNAL, 15, "test over");
	assert_int_equal(vm_wait(vm, 5000), 0);
	assert_int_equal(se.nresumed, 1);
	assert_int_equal(se.resumed[0].exit_seq, 0);
	assert_int_equal(se.resumed[0].rip, 0);
	assert_int_equal(se.resumed[0].a0, 0x22);
	vm_destroy(vm);
	gates_destroy(&gs);
}

/* A parallel replay's first difference says that it may be a cross-VCPU
 * dependency, and how to record such runs exactly; a serial one need not. */
static void test_divergence_names_cross_vcpu(void **state)
{
	SKIP_WITHOUT_KVM();
	for (int mode = VM_SCHED_PARALLEL; mode <= VM_SCHED_SERIAL; mode++) {
		struct seen_events se = { .lock = PTHREAD_MUTEX_INITIALIZER,
					  .fail_on = TEV_HYPERCALL, .fail_vcpu = 1 };
		struct vm_replay_hooks h;
		struct gates gs;
		struct vm *vm;
		const char *diag;

		gates_init(&gs);
		vm = boot_watched("hello", 2, mode, &se, &h, &gs);
		assert_int_equal(vm_start(vm), 0);
		assert_int_equal(vm_wait(vm, 5000), 0);
		diag = vm_result(vm)->diag;
		assert_non_null(strstr(diag, "vcpu 1: replay diverged: expected"));
		if (mode == VM_SCHED_PARALLEL) {
			assert_non_null(strstr(diag, "cross-VCPU dependency"));
			assert_non_null(strstr(diag, "--sched serial or step"));
		} else {
			assert_null(strstr(diag, "cross-VCPU"));
		}
		vm_destroy(vm);
		gates_destroy(&gs);
	}
}

/* Under a small address-space limit every failure to get memory or a
 * thread is an error (exit 126) with a readable trace, never an abort
 * inside a library (liburcu's call_rcu thread did that: status 134). */
static void test_resource_limits(void **state)
{
	SKIP_WITHOUT_KVM();
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	skip();  /* the sanitizers' shadow memory does not fit under a ulimit */
#endif
	char dir[64], *out;
	int errors = 0, ran = 0;

	assert_int_equal(scratch_dir(dir, sizeof(dir), "ulimit"), 0);
	for (int kb = 60000; kb <= 200000; kb += 8000) {
		static const char *const opts[] = {
			"--vcpus 2", "--vcpus 8 --sched serial --pause-every 1ms",
		};
		for (size_t i = 0; i < 2; i++) {
			int rc = vcprr_sh(&out, "rm -f %s/t.trace; (ulimit -v %d; exec $V "
					  "record -o %s/t.trace %s %s >/dev/null); rc=$?; "
					  "[ ! -e %s/t.trace ] || $V inspect %s/t.trace "
					  ">/dev/null || rc=99; exit $rc", dir, kb, dir,
					  guest_path("hello"), opts[i], dir, dir);
			if (rc != 0 && rc != 126) {
				fprintf(stderr, "ulimit -v %d, %s: status %d: %s\n",
					kb, opts[i], rc, out);
				errors++;
			}
			ran += rc == 0;
			free(out);
		}
	}
	scratch_dir_remove(dir);
	assert_int_equal(errors, 0);
	assert_true(ran > 0);  /* the largest limits are enough */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hello_1),
		cmocka_unit_test(test_hello_8),
		cmocka_unit_test(test_hello_64),
		cmocka_unit_test(test_exit_code),
		cmocka_unit_test(test_counter_8),
		cmocka_unit_test(test_triple_fault),
		cmocka_unit_test(test_assertion),
		cmocka_unit_test(test_spin_can_be_stopped),
		cmocka_unit_test(test_destroy_while_running),
		cmocka_unit_test(test_kvm_missing),
		cmocka_unit_test(test_kvm_not_a_kvm_device),
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_events_before_first_exit),
		cmocka_unit_test(test_divergence_names_cross_vcpu),
		cmocka_unit_test(test_resource_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
