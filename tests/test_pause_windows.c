/* The pause protocol's race windows in parallel mode, forced open with
 * test-only hooks, in both kick modes, plus a stress test with an
 * invariant checker.  (test_pause.c: controller sequences in every mode,
 * a request while paused and a resume then a request among them.) */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/helpers/gate.h"
#include "tests/helpers/testutil.h"
#include "vmm/controller.h"
#include "vmm/vm.h"

#define WAIT_MS 3000

/* --- one gate on VCPU 0 at a time --------------------------------------- */
static struct gates gs;
static int gid;

static void gate_arm0(enum vcpu_hook_point p, int skip)
{
	gid = gate_arm(&gs, 0, p, skip);
}

static void gate_wait0(void)
{
	assert_true(gate_wait_arrived(&gs, gid));
}

static void gate_release0(void)
{
	gate_release(&gs, gid);
}

/* --- helpers ----------------------------------------------------------- */
static enum vm_kick_mode kick_mode;  /* set per group */

static struct vm *boot(const char *guest, unsigned n, bool controlled)
{
	char err[512];
	struct vm_config cfg = {
		.nr_vcpus = n, .kick_mode = kick_mode, .controlled = controlled,
	};
	struct vm *vm = vm_create(&cfg, guest_path(guest), err, sizeof(err));

	if (!vm)
		fail_msg("%s", err);
	vm_set_test_hook(vm, gates_hook, &gs);
	return vm;
}

static void start(struct vm *vm)
{
	assert_int_equal(vm_start(vm), 0);
}

static void expect_paused(struct vm *vm, unsigned id, uint64_t data, uint64_t seq)
{
	expect_pause_event(vm, id, data, seq, WAIT_MS);
}

static void pause_one(struct vm *vm, unsigned id, uint64_t data)
{
	vcpu_mask_t m = { { 0 } };

	vcpu_mask_set(&m, id);
	assert_int_equal(vm_pause_vcpus(vm, &m, data), 0);
}

static struct vcpu_pause_stats stats(struct vm *vm, unsigned id)
{
	struct vcpu_pause_stats st;

	assert_int_equal(vcpu_get_stats(vm, id, &st), 0);
	return st;
}

static void msleep(int ms) { usleep(ms * 1000); }

/* --- the race windows ---------------------------------------------------- */

/* Request + kick land after the VCPU checked its flags but before it entered
 * KVM_RUN.  The spin guest never exits, so a lost kick would hang forever. */
static void test_kick_before_run(void **state)
{
	SKIP_WITHOUT_KVM();
	struct vm *vm = boot("spin", 1, false);

	gate_arm0(VCPU_HOOK_BEFORE_RUN, 0);
	start(vm);
	gate_wait0();
	pause_one(vm, 0, 0x11);
	gate_release0();
	expect_paused(vm, 0, 0x11, 1);
	assert_true(stats(vm, 0).eintr >= 1);
	vm_destroy(vm);
}

static void test_kick_while_in_guest(void **state)
{
	SKIP_WITHOUT_KVM();
	struct vm *vm = boot("spin", 1, false);
	struct kvm_regs regs;

	start(vm);
	msleep(30);
	pause_one(vm, 0, 0x22);
	expect_paused(vm, 0, 0x22, 1);
	assert_int_equal(vcpu_get_regs(vm, 0, &regs), 0);
	assert_true(regs.rip >= 0x100000 && regs.rip < 0x200000);
	vm_destroy(vm);
}

/* A request without any kick, made while the VCPU handles a PIO exit, is
 * taken by the check after that exit -- and the PIO is completed first. */
static void test_request_during_pio(void **state)
{
	SKIP_WITHOUT_KVM();
	struct vm *vm = boot("pio", 1, false);
	struct kvm_regs regs;
	const uint8_t *code;

	gate_arm0(VCPU_HOOK_IN_PIO, 10);
	start(vm);
	gate_wait0();
	assert_int_equal(vcpu_request_pause(vm, 0, 0x33), 1);
	gate_release0();
	expect_paused(vm, 0, 0x33, 1);
	assert_int_equal(stats(vm, 0).kicks, 0);
	assert_int_equal(vcpu_get_regs(vm, 0, &regs), 0);
	/* Completed: RIP is past the `out %eax,(%dx)` (0xef), not on it. */
	code = vm_guest_ptr(vm, regs.rip - 1, 2);
	assert_non_null(code);
	assert_int_equal(code[-0], 0xef);
	assert_int_not_equal(code[1], 0xef);
	vm_destroy(vm);
}

/* Two requests before the VCPU checks: one pause, the latest data, one
 * coalesced. */
static void test_two_requests_coalesce(void **state)
{
	SKIP_WITHOUT_KVM();
	struct vm *vm = boot("spin", 1, false);

	start(vm);
	msleep(20);
	gate_arm0(VCPU_HOOK_AFTER_RUN, 0);
	assert_int_equal(vcpu_kick_thread(vm, 0), 0);
	gate_wait0();
	assert_int_equal(vcpu_request_pause(vm, 0, 0xaaa), 1);
	assert_int_equal(vcpu_request_pause(vm, 0, 0xbbb), 2);
	gate_release0();
	expect_paused(vm, 0, 0xbbb, 2);
	assert_int_equal(stats(vm, 0).taken, 1);
	assert_int_equal(stats(vm, 0).coalesced, 1);
	assert_int_equal(stats(vm, 0).requests, 2);
	vm_destroy(vm);
}

/* The controller resumes before the VCPU reached its wait: the VCPU must
 * not wait for a resume that already happened. */
static void test_resume_before_wait(void **state)
{
	SKIP_WITHOUT_KVM();
	struct vm *vm = boot("spin", 1, false);

	gate_arm0(VCPU_HOOK_STOPPED, 0);
	start(vm);
	pause_one(vm, 0, 1);
	gate_wait0();
	assert_true(vcpu_is_stopped(vm, 0));
	assert_int_equal(vcpu_resume(vm, 0, 0), 0);
	assert_false(vcpu_is_stopped(vm, 0));
	gate_release0();
	/* It runs again: a new pause is taken. */
	pause_one(vm, 0, 2);
	expect_paused(vm, 0, 2, 2);
	assert_int_equal(stats(vm, 0).resumed, 1);
	vm_destroy(vm);
}

static void test_destroy_while_paused(void **state)
{
	SKIP_WITHOUT_KVM();
	struct vm *vm = boot("idle", 8, true);
	vcpu_mask_t all = vcpu_mask_first(8);

	start(vm);
	assert_int_equal(vm_pause_vcpus(vm, &all, 5), 0);
	assert_int_equal(vm_wait_paused(vm, &all, WAIT_MS, NULL), 0);
	vm_destroy(vm);  /* must return: paused VCPUs are woken and joined */
}

static void test_stop_mid_handshake(void **state)
{
	SKIP_WITHOUT_KVM();
	struct vm *vm = boot("spin", 1, false);

	gate_arm0(VCPU_HOOK_STOPPED, 0);
	start(vm);
	pause_one(vm, 0, 1);
	gate_wait0();
	vm_stop(vm, TEND_SIGNAL, 2, "stop mid-handshake");
	gate_release0();
	assert_int_equal(vm_wait(vm, WAIT_MS), 0);
	assert_int_equal(vm_result(vm)->reason, TEND_SIGNAL);
	vm_destroy(vm);
}

static void test_pause_halted_vcpus(void **state)
{
	SKIP_WITHOUT_KVM();
	struct vm *vm = boot("idle", 4, true);
	vcpu_mask_t all = vcpu_mask_first(4), stopped;

	start(vm);
	msleep(30);  /* every VCPU has executed HLT */
	for (int round = 1; round <= 3; round++) {
		assert_int_equal(vm_pause_vcpus(vm, &all, round), 0);
		assert_int_equal(vm_wait_paused(vm, &all, WAIT_MS, &stopped), 0);
		for (unsigned i = 0; i < 4; i++)
			assert_true(vcpu_mask_test(&stopped, i));
		assert_int_equal(vm_resume_vcpus(vm, &all, 0), 4);
	}
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(stats(vm, i).taken, 3);
	vm_destroy(vm);
}

static void test_all_halted_without_controller(void **state)
{
	SKIP_WITHOUT_KVM();
	struct vm *vm = boot("idle", 3, false);

	start(vm);
	assert_int_equal(vm_wait(vm, WAIT_MS), 0);
	assert_int_equal(vm_result(vm)->reason, TEND_GUEST_FAULT);
	assert_non_null(strstr(vm_result(vm)->diag, "halted (HLT) and nothing can wake"));
	vm_destroy(vm);
}

/* Registers edited while paused take effect on resume. */
static void test_register_edits(void **state)
{
	SKIP_WITHOUT_KVM();
	struct vm *vm = boot("regwait", 1, false);
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_debugregs d;

	start(vm);
	msleep(20);
	pause_one(vm, 0, 1);
	expect_paused(vm, 0, 1, 1);
	assert_int_equal(vcpu_get_sregs(vm, 0, &sregs), 0);
	assert_int_equal(sregs.cr3, 0x2000);
	assert_int_equal(vcpu_get_debugregs(vm, 0, &d), 0);
	d.db[0] = 0x1234;  /* not enabled in dr7: no effect on the guest */
	assert_int_equal(vcpu_set_debugregs(vm, 0, &d), 0);
	assert_int_equal(vcpu_set_sregs(vm, 0, &sregs), 0);
	assert_int_equal(vcpu_get_regs(vm, 0, &regs), 0);
	assert_int_equal(regs.rbx, 0);
	regs.rbx = 77;
	assert_int_equal(vcpu_set_regs(vm, 0, &regs), 0);
	assert_int_equal(vcpu_resume(vm, 0, 0), 0);
	assert_int_equal(vm_wait(vm, WAIT_MS), 0);
	assert_int_equal(vm_result(vm)->reason, TEND_GUEST_EXIT);
	assert_int_equal(vm_result(vm)->exit_code, 77);
	vm_destroy(vm);
}

static void test_register_calls_need_a_stopped_vcpu(void **state)
{
	SKIP_WITHOUT_KVM();
	struct vm *vm = boot("spin", 1, false);
	struct kvm_regs regs;

	start(vm);
	assert_int_equal(vcpu_get_regs(vm, 0, &regs), -EBUSY);
	assert_int_equal(vcpu_set_regs(vm, 0, &regs), -EBUSY);
	assert_int_equal(vcpu_resume(vm, 0, 0), -EBUSY);
	assert_int_equal(vcpu_get_regs(vm, 5, &regs), -EINVAL);
	vm_destroy(vm);
}

static void test_init_event(void **state)
{
	SKIP_WITHOUT_KVM();
	char err[512];
	struct vm_config cfg = { .nr_vcpus = 2, .init_event = true,
				 .kick_mode = kick_mode };
	struct vm *vm = vm_create(&cfg, guest_path("hello"), err, sizeof(err));
	struct vcpu_event ev;
	struct kvm_regs regs;

	assert_non_null(vm);
	start(vm);
	for (unsigned i = 0; i < 2; i++) {
		assert_int_equal(vcpu_wait_event(vm, i, &ev, WAIT_MS), 0);
		assert_int_equal(ev.kind, VCPU_EVENT_INIT);
		assert_int_equal(ev.pos.exit_seq, 0);
		/* The event is returned once; resume before waiting again. */
		assert_int_equal(vcpu_wait_event(vm, i, &ev, 10), -EBUSY);
		assert_int_equal(vcpu_get_regs(vm, i, &regs), 0);
		assert_int_equal(regs.rdi, i);
		assert_int_equal(vcpu_resume(vm, i, 0), 0);
	}
	assert_int_equal(vm_wait(vm, WAIT_MS), 0);
	assert_int_equal(vm_result(vm)->reason, TEND_GUEST_EXIT);
	vm_destroy(vm);
}

/* Waits (no fixed sleep) until VCPU n has returned: a pause of n alone
 * reports -ESRCH then; a pause taken before that is resumed and retried. */
static void wait_vcpu_finished(struct vm *vm, unsigned n)
{
	vcpu_mask_t one = {0}, stopped;
	int r;

	vcpu_mask_set(&one, n);
	for (;;) {
		assert_int_equal(vm_pause_vcpus(vm, &one, 8), 0);
		r = vm_wait_paused(vm, &one, WAIT_MS, &stopped);
		if (r == -ESRCH)
			return;
		assert_int_equal(r, 0);
		assert_int_equal(vm_resume_vcpus(vm, &one, 0), 1);
		msleep(1);
	}
}

static void test_wait_for_finished_vcpu(void **state)
{
	SKIP_WITHOUT_KVM();
	struct vm *vm = boot("spin", 2, false);  /* VCPU 1 returns at once */
	vcpu_mask_t all = vcpu_mask_first(2), stopped;

	start(vm);
	wait_vcpu_finished(vm, 1);
	assert_int_equal(vm_pause_vcpus(vm, &all, 9), 0);
	assert_int_equal(vm_wait_paused(vm, &all, WAIT_MS, &stopped), -ESRCH);
	assert_true(vcpu_mask_test(&stopped, 0));
	assert_false(vcpu_mask_test(&stopped, 1));
	vm_destroy(vm);
}

/* --- stress: storms of pauses on 64 VCPUs, invariants checked ----------- */
#define STRESS_VCPUS 64
#define STORM_MIN_ROUNDS 3

struct storm {
	struct vm *vm;
	unsigned first;      /* this controller owns VCPUs first, first+2, ... */
	uint64_t seed;
	atomic_int *stop;
	int errors;
	uint64_t rounds;
	uint64_t last_taken[STRESS_VCPUS];
};

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* The data of a request says which VCPU and which req_seq it was for. */
static uint64_t data_for(unsigned vcpu, uint64_t seq)
{
	return (seq << 16) | vcpu;
}

static void *storm_controller(void *arg)
{
	struct storm *st = arg;
	struct vm *vm = st->vm;

	/* At least a few rounds however slow the host (the sanitizers, 64
	 * VCPUs on two cores): a controller that gets no CPU before the stop
	 * would test nothing. */
	while (!atomic_load(st->stop) || st->rounds < STORM_MIN_ROUNDS) {
		vcpu_mask_t mask = { { 0 } }, stopped;
		uint64_t published[STRESS_VCPUS] = { 0 };

		for (unsigned i = st->first; i < STRESS_VCPUS; i += 2) {
			if (rnd(&st->seed) % 3)
				continue;
			vcpu_mask_set(&mask, i);
			/* Sometimes a request that will be coalesced first. */
			if (rnd(&st->seed) % 4 == 0) {
				struct vcpu_pause_stats s;
				vcpu_get_stats(vm, i, &s);
				vcpu_request_pause(vm, i, data_for(i, s.requests + 1));
			}
			struct vcpu_pause_stats s;
			vcpu_get_stats(vm, i, &s);
			int64_t seq = vcpu_request_pause(vm, i, data_for(i, s.requests + 1));
			published[i] = seq;
			vcpu_kick_thread(vm, i);
		}
		if (vm_wait_paused(vm, &mask, 10000, &stopped) != 0) {
			fprintf(stderr, "storm: VCPUs stuck, not paused within 10 s\n");
			st->errors++;
			return NULL;
		}
		for (unsigned i = st->first; i < STRESS_VCPUS; i += 2) {
			struct vcpu_event ev;
			if (!vcpu_mask_test(&mask, i))
				continue;
			if (vcpu_wait_event(vm, i, &ev, 1000)) {
				st->errors++;
				continue;
			}
			/* Each pause carries its own request's data, and taken
			 * requests only move forward.  (A request made without
			 * a kick may be taken at the VCPU's next exit, before a
			 * second one is published, and a leftover one in the
			 * next round: "latest wins" is checked deterministically
			 * in test_two_requests_coalesce.) */
			if (ev.req_seq <= st->last_taken[i] ||
			    ev.req_seq > published[i] ||
			    ev.data != data_for(i, ev.req_seq)) {
				fprintf(stderr, "storm: vcpu %u took seq %llu data %#llx "
					"(last taken %llu, published up to %llu)\n", i,
					(unsigned long long)ev.req_seq,
					(unsigned long long)ev.data,
					(unsigned long long)st->last_taken[i],
					(unsigned long long)published[i]);
				st->errors++;
			}
			st->last_taken[i] = ev.req_seq;
		}
		if (rnd(&st->seed) % 2)
			usleep(rnd(&st->seed) % 200);
		vm_resume_vcpus(vm, &mask, 0);
		st->rounds++;
	}
	return NULL;
}

static void test_stress_storm(void **state)
{
	SKIP_WITHOUT_KVM();
	struct vm *vm = boot("storm", STRESS_VCPUS, true);
	atomic_int stop = 0;
	struct storm st[2];
	pthread_t t[2];
	vcpu_mask_t all = vcpu_mask_first(STRESS_VCPUS);
	const char *ms = getenv("VCPRR_STRESS_MS");
	int duration_ms = ms ? atoi(ms) : 1500;

	start(vm);
	for (int i = 0; i < 2; i++) {
		st[i] = (struct storm){ .vm = vm, .first = i, .seed = 0x9e3779b9u + i,
					.stop = &stop };
		pthread_create(&t[i], NULL, storm_controller, &st[i]);
	}
	msleep(duration_ms);
	atomic_store(&stop, 1);
	for (int i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(st[i].errors, 0);
	}
	/* Drain: pause everyone until no request is outstanding (a VCPU may
	 * first stop on a leftover request, with the drain's still pending). */
	for (int round = 0; round < 10; round++) {
		bool settled = true;
		assert_int_equal(vm_pause_vcpus(vm, &all, 0), 0);
		assert_int_equal(vm_wait_paused(vm, &all, 10000, NULL), 0);
		for (unsigned i = 0; i < STRESS_VCPUS; i++) {
			struct vcpu_pause_stats s = stats(vm, i);
			settled &= s.taken + s.coalesced == s.requests;
		}
		if (settled)
			break;
		vm_resume_vcpus(vm, &all, 0);
	}
	uint64_t total = 0;
	for (unsigned i = 0; i < STRESS_VCPUS; i++) {
		struct vcpu_pause_stats s = stats(vm, i);
		/* Every request was taken or coalesced exactly once. */
		assert_int_equal(s.taken + s.coalesced, s.requests);
		/* Every pause but the current one was resumed once. */
		assert_int_equal(s.resumed, s.taken - 1);
		total += s.taken;
	}
	printf("stress: %llu + %llu rounds, %llu pauses taken on %d VCPUs\n",
	       (unsigned long long)st[0].rounds, (unsigned long long)st[1].rounds,
	       (unsigned long long)total, STRESS_VCPUS);
	vm_destroy(vm);
}

#define BOTH(t) cmocka_unit_test(t)
static const struct CMUnitTest tests[] = {
	BOTH(test_kick_before_run),
	BOTH(test_kick_while_in_guest),
	BOTH(test_request_during_pio),
	BOTH(test_two_requests_coalesce),
	BOTH(test_resume_before_wait),
	BOTH(test_destroy_while_paused),
	BOTH(test_stop_mid_handshake),
	BOTH(test_pause_halted_vcpus),
	BOTH(test_all_halted_without_controller),
	BOTH(test_register_edits),
	BOTH(test_register_calls_need_a_stopped_vcpu),
	BOTH(test_init_event),
	BOTH(test_wait_for_finished_vcpu),
	BOTH(test_stress_storm),
};

static int use_immediate_exit(void **s)
{
	kick_mode = VM_KICK_IMMEDIATE_EXIT;
	gates_init(&gs);
	return 0;
}

static int use_signal_mask(void **s)
{
	kick_mode = VM_KICK_SIGNAL_MASK;
	gates_init(&gs);
	return 0;
}

static int done(void **s)
{
	gates_release_all(&gs);
	gates_destroy(&gs);
	return 0;
}

int main(void)
{
	int r = 0;

	printf("# kick mode: immediate_exit\n");
	r |= _cmocka_run_group_tests("pause/immediate_exit", tests,
				     sizeof(tests) / sizeof(tests[0]),
				     use_immediate_exit, done);
	printf("# kick mode: KVM_SET_SIGNAL_MASK\n");
	r |= _cmocka_run_group_tests("pause/signal_mask", tests,
				     sizeof(tests) / sizeof(tests[0]),
				     use_signal_mask, done);
	return r;
}
