/* What a controller does (vcprr's pause script and --pause-every) against
 * what a VCPU does meanwhile, every combination forced with the test hooks,
 * in every scheduling mode (parallel, serial, step) and both kick modes:
 *  - a request while the VCPU is paused (a script's second `pause`, the
 *    next --pause-every round while the last one's resume is queued);
 *  - a resume followed at once by a request;
 *  - the run stopping while a VCPU is paused, about to pause, or about to
 *    be resumed.
 * Each VCPU's end is checked too: a VCPU woken by the end logs no resume,
 * and one that never ran never enters the guest once the run is ending.
 * (test_pause_windows.c: the kick and handshake windows themselves.) */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/helpers/gate.h"
#include "tests/helpers/testutil.h"
#include "tools/pause-script.h"
#include "vmm/controller.h"
#include "vmm/vm.h"

#define WAIT_MS   5000
#define NEVER_MS  100      /* a wait that must not end: nothing can happen */
#define LONG_RUN  (1u << 30)

static enum vm_kick_mode kick_mode;
static enum vm_sched_mode sched_mode;
static struct gates gs;

static struct vm *live_vm;  /* destroyed by the teardown if a test failed */

/* The threads VCPUs 0 and 1 entered the guest on, in order (the first
 * few). */
static pthread_t ran_on[2][8];
static atomic_uint entries[2];

static void hook(struct vm *vm, unsigned vcpu, enum vcpu_hook_point p,
		 void *arg)
{
	if (vcpu < 2 && p == VCPU_HOOK_BEFORE_RUN) {
		unsigned n = atomic_load(&entries[vcpu]);
		if (n < 8)
			ran_on[vcpu][n] = pthread_self();
		atomic_store(&entries[vcpu], n + 1);
	}
	gates_hook(vm, vcpu, p, arg);
}

static bool serial(void) { return sched_mode != VM_SCHED_PARALLEL; }

static void done_vm(struct vm *vm)
{
	vm_destroy(vm);
	live_vm = NULL;
}

static struct vm *boot(const char *guest, unsigned n, uint64_t arg)
{
	char err[512];
	struct vm_config cfg = {
		.nr_vcpus = n, .kick_mode = kick_mode, .controlled = true,
		.input = VM_INPUT_ARG(arg),
		.sched = { .mode = sched_mode, .policy = VM_POLICY_RR },
	};
	struct vm *vm = vm_create(&cfg, guest_path(guest), err, sizeof(err));

	if (!vm)
		fail_msg("%s", err);
	atomic_store(&entries[0], 0);
	atomic_store(&entries[1], 0);
	vm_set_test_hook(vm, hook, &gs);
	live_vm = vm;
	assert_int_equal(vm_start(vm), 0);
	return vm;
}

static vcpu_mask_t one(unsigned id)
{
	vcpu_mask_t m = { { 0 } };

	vcpu_mask_set(&m, id);
	return m;
}

/* A script's `pause ID DATA`: request + kick. */
static void pause_one(struct vm *vm, unsigned id, uint64_t data)
{
	vcpu_mask_t m = one(id);

	assert_int_equal(vm_pause_vcpus(vm, &m, data), 0);
}

static int wait_one(struct vm *vm, unsigned id, int ms)
{
	vcpu_mask_t m = one(id);

	return vm_wait_paused(vm, &m, ms, NULL);
}

/* `wait ID`, then the event it stopped with. */
static void expect_paused(struct vm *vm, unsigned id, uint64_t data, uint64_t seq)
{
	expect_pause_event(vm, id, data, seq, WAIT_MS);
}

static struct vcpu_pause_stats stats(struct vm *vm, unsigned id)
{
	struct vcpu_pause_stats st;

	assert_int_equal(vcpu_get_stats(vm, id, &st), 0);
	return st;
}

static void stop_and_end(struct vm *vm)
{
	vm_stop(vm, TEND_SIGNAL, 15, "test over");
	assert_int_equal(vm_wait(vm, WAIT_MS), 0);
}

/* Serial and step: VCPU 0 holds the token and makes no scheduling point,
 * so that the controller's actions stay queued.  Returns the gate. */
static int hold_the_token(struct vm *vm)
{
	int g = gate_arm(&gs, 0, VCPU_HOOK_BEFORE_RUN, 0);

	assert_true(gate_wait_arrived(&gs, g));
	return g;
}

struct await_cond {
	unsigned vcpu, awaits;       /* AWAIT hooks of vcpu seen before */
	unsigned requests_at_least;  /* or the vcpu's requests published */
	struct vm *vm;
	atomic_bool *done;           /* or this flag */
};

/* Something waits for the VCPU now, or what the test waits for happened
 * (with the bug being tested for, the controller does not wait). */
static bool awaited(struct gates *g, void *arg)
{
	struct await_cond *c = arg;
	struct vcpu_pause_stats st;

	if (g->seen[VCPU_HOOK_AWAIT][c->vcpu] > c->awaits)
		return true;
	if (c->done && atomic_load(c->done))
		return true;
	return c->requests_at_least &&
	       !vcpu_get_stats(c->vm, c->vcpu, &st) &&
	       st.requests >= c->requests_at_least;
}

/* --- a request while paused ----------------------------------------------- */

/* A request while the VCPU is paused (a script's second `pause`): it is
 * still paused (the wait says so at once), for the first request, and
 * takes the second right after its resume, at the same position. */
static void test_request_while_paused(void **state)
{
	SKIP_WITHOUT_KVM();
	struct vm *vm = boot("pio", 2, LONG_RUN);
	struct vcpu_event ev;

	pause_one(vm, 1, 0x11);
	expect_paused(vm, 1, 0x11, 1);
	pause_one(vm, 1, 0x22);
	assert_int_equal(wait_one(vm, 1, NEVER_MS), 0);
	assert_true(vcpu_is_stopped(vm, 1));
	assert_int_equal(vcpu_wait_event(vm, 1, &ev, 0), -EBUSY);  /* returned */
	assert_int_equal(vcpu_resume(vm, 1, 0), 0);
	expect_paused(vm, 1, 0x22, 2);
	assert_int_equal(stats(vm, 1).coalesced, 0);
	assert_int_equal(stats(vm, 1).resumed, 1);
	stop_and_end(vm);
	done_vm(vm);
}

struct script_run {
	struct vm *vm;
	const char *text;
	atomic_bool done;
	int r;
};

static void *script_thread(void *arg)
{
	struct script_run *sr = arg;
	struct pause_script s;
	char err[256];

	assert_int_equal(pause_script_parse("t", sr->text, strlen(sr->text), &s,
					    err, sizeof(err)), 0);
	sr->r = pause_script_run(&s, sr->vm, stdout, err, sizeof(err));
	pause_script_free(&s);
	atomic_store(&sr->done, true);
	gates_signal(&gs);
	return NULL;
}

/* A script's second request while the VCPU is paused is taken right after
 * its resume; the script ends before that (the VCPU is held there): the
 * VCPU must still be resumed, or the run never ends.  (The first pause is
 * the test's, so that the script waits for VCPU 1 only at its end.) */
static void test_request_while_paused_script(void **state)
{
	SKIP_WITHOUT_KVM();
	struct vm *vm = boot("pio", 2, 2000);
	struct script_run sr = { .vm = vm, .text = "pause 1 0x22\nresume 1\n" };
	struct await_cond c = { .vcpu = 1, .done = &sr.done };
	int g;
	pthread_t t;

	pause_one(vm, 1, 0x11);
	expect_paused(vm, 1, 0x11, 1);
	g = gate_arm(&gs, 1, VCPU_HOOK_RESUMED, 0);
	c.awaits = gates_seen(&gs, 1, VCPU_HOOK_AWAIT);
	pthread_create(&t, NULL, script_thread, &sr);
	assert_true(gate_wait_arrived(&gs, g));
	assert_true(gates_wait_until(&gs, awaited, &c, WAIT_MS));
	gate_release(&gs, g);
	assert_int_equal(vm_wait(vm, WAIT_MS), 0);
	pthread_join(t, NULL);
	assert_int_equal(sr.r, 0);
	assert_int_equal(vm_result(vm)->reason, TEND_GUEST_EXIT);
	assert_int_equal(stats(vm, 1).taken, 2);
	assert_int_equal(stats(vm, 1).coalesced, 0);
	assert_int_equal(stats(vm, 1).resumed, 2);
	done_vm(vm);
}

/* A request made while the VCPU heads for a pause it has not taken yet.
 * Parallel: it is superseded (latest wins).  Serial: the first was applied
 * at the VCPU's own scheduling point; the second, applied at another's,
 * waits until it has stopped, so that whether it coalesces does not
 * depend on how fast its thread is. */
static void test_request_on_the_way(void **state)
{
	SKIP_WITHOUT_KVM();
	struct vm *vm = boot("pio", 2, LONG_RUN);
	struct await_cond c = { .vcpu = 1, .vm = vm, .requests_at_least = 2 };
	struct vcpu_event ev;
	int g0, g1;

	if (!serial()) {
		g1 = gate_arm(&gs, 1, VCPU_HOOK_AFTER_RUN, 0);
		assert_true(gate_wait_arrived(&gs, g1));
		assert_int_equal(vcpu_request_pause(vm, 1, 0x11), 1);
		assert_int_equal(vcpu_request_pause(vm, 1, 0x22), 2);
		gate_release(&gs, g1);
		expect_paused(vm, 1, 0x22, 2);
		assert_int_equal(stats(vm, 1).coalesced, 1);
		goto out;
	}
	g0 = gate_arm(&gs, 1, VCPU_HOOK_BEFORE_RUN, 0);
	assert_true(gate_wait_arrived(&gs, g0));    /* VCPU 1 holds the token */
	assert_int_equal(vcpu_request_pause(vm, 1, 0x11), 1);
	g1 = gate_arm(&gs, 1, VCPU_HOOK_POINT_DONE, 0);
	gate_release(&gs, g0);
	assert_true(gate_wait_arrived(&gs, g1));    /* applied, not taken */
	c.awaits = gates_seen(&gs, 1, VCPU_HOOK_AWAIT);
	assert_int_equal(vcpu_request_pause(vm, 1, 0x22), 2);
	assert_true(gates_wait_until(&gs, awaited, &c, WAIT_MS));
	gate_release(&gs, g1);
	assert_int_equal(vcpu_wait_event(vm, 1, &ev, WAIT_MS), 0);
	assert_int_equal(ev.req_seq, 1);
	assert_int_equal(ev.data, 0x11);
	assert_int_equal(vcpu_resume(vm, 1, 0), 0);
	expect_paused(vm, 1, 0x22, 2);
	assert_int_equal(stats(vm, 1).coalesced, 0);
out:
	stop_and_end(vm);
	done_vm(vm);
}

struct points_cond {
	unsigned vcpu, at_least;
};

static bool points_made(struct gates *g, void *arg)
{
	struct points_cond *c = arg;

	return g->seen[VCPU_HOOK_POINT_DONE][c->vcpu] >= c->at_least;
}

/* Serial: a VCPU resumed with a pause published while it was stopped
 * takes that pause at once; until its thread gets there (held here) it is
 * not a VCPU the scheduler may choose, or the schedule would depend on how
 * fast that thread wakes.  VCPU 0 goes on making points meanwhile. */
static void test_resume_into_a_request(void **state)
{
	SKIP_WITHOUT_KVM();
	struct vm *vm;
	struct points_cond c = { .vcpu = 0 };
	int g;

	if (!serial())
		skip();  /* (no scheduler to choose) */
	vm = boot("pio", 2, LONG_RUN);
	pause_one(vm, 1, 0x11);
	expect_paused(vm, 1, 0x11, 1);
	pause_one(vm, 1, 0x22);
	g = gate_arm(&gs, 1, VCPU_HOOK_RESUMED, 0);
	assert_int_equal(vcpu_resume(vm, 1, 0), 0);
	assert_true(gate_wait_arrived(&gs, g));
	c.at_least = gates_seen(&gs, 0, VCPU_HOOK_POINT_DONE) + 20;
	assert_true(gates_wait_until(&gs, points_made, &c, WAIT_MS));
	gate_release(&gs, g);
	expect_paused(vm, 1, 0x22, 2);
	stop_and_end(vm);
	done_vm(vm);
}

/* --- a resume, then a request at once ------------------------------------- */

/* The next --pause-every round asks again at once.  Serial: the resume
 * and the request are both still queued when the controller waits; the
 * VCPU still shows the old stop, which must not count (it made rounds
 * resume and re-pause a VCPU at one exit forever).  Parallel: the VCPU is
 * held as it leaves the stop. */
static void test_resume_then_request(void **state)
{
	SKIP_WITHOUT_KVM();
	struct vm *vm = boot("pio", 2, LONG_RUN);
	int g;

	pause_one(vm, 1, 0x11);
	expect_paused(vm, 1, 0x11, 1);
	g = serial() ? hold_the_token(vm) : gate_arm(&gs, 1, VCPU_HOOK_RESUMED, 0);
	assert_int_equal(vcpu_resume(vm, 1, 0x5), 0);
	pause_one(vm, 1, 0x22);
	assert_int_equal(wait_one(vm, 1, NEVER_MS), -ETIMEDOUT);
	gate_release(&gs, g);
	expect_paused(vm, 1, 0x22, 2);
	assert_int_equal(stats(vm, 1).resumed, 1);
	assert_int_equal(stats(vm, 1).coalesced, 0);
	stop_and_end(vm);
	done_vm(vm);
}

/* Two resumes for one stop (a script's `resume 1` twice, or a resume then
 * the script's end): the second ends nothing, even when the VCPU has
 * stopped again by the time it would apply. */
static void test_second_resume_is_stale(void **state)
{
	SKIP_WITHOUT_KVM();
	struct vm *vm = boot("pio", 2, LONG_RUN);
	int g = -1;

	pause_one(vm, 1, 0x11);
	expect_paused(vm, 1, 0x11, 1);
	pause_one(vm, 1, 0x22);       /* taken right after the resume */
	if (serial())
		g = hold_the_token(vm);
	assert_int_equal(vcpu_resume(vm, 1, 1), 0);
	/* Serial: still stopped, both queued.  Parallel: -EBUSY or a stop
	 * that is already the next one. */
	if (serial())
		assert_int_equal(vcpu_resume(vm, 1, 2), 0);
	if (g >= 0)
		gate_release(&gs, g);
	expect_paused(vm, 1, 0x22, 2);
	assert_int_equal(wait_one(vm, 1, NEVER_MS), 0);
	assert_true(vcpu_is_stopped(vm, 1));
	assert_int_equal(stats(vm, 1).resumed, 1);
	stop_and_end(vm);
	done_vm(vm);
}

/* --- the run stops ----------------------------------------------------------- */

/* The run ends while a VCPU is paused: it leaves without a resume, and the
 * controller's waits and its end return instead of hanging. */
static void test_stop_while_paused(void **state)
{
	SKIP_WITHOUT_KVM();
	struct vm *vm = boot("pio", 2, LONG_RUN);
	vcpu_mask_t all = vcpu_mask_first(2);

	pause_one(vm, 1, 0x11);
	expect_paused(vm, 1, 0x11, 1);
	stop_and_end(vm);
	assert_int_equal(stats(vm, 1).resumed, 0);
	assert_int_equal(wait_one(vm, 1, NEVER_MS), -ESHUTDOWN);
	assert_int_equal(vm_release_vcpus(vm, &all, 0), -ESHUTDOWN);
	done_vm(vm);
}

/* Serial: a resume still queued when the run stops is never applied (it
 * would race with the VCPU leaving for the end).  Parallel: the stop comes
 * between the VCPU's report and its wait. */
static void test_stop_before_resume_applies(void **state)
{
	SKIP_WITHOUT_KVM();
	struct vm *vm = boot("pio", 2, LONG_RUN);
	int g;

	if (!serial()) {
		g = gate_arm(&gs, 1, VCPU_HOOK_STOPPED, 0);
		pause_one(vm, 1, 0x11);
		assert_true(gate_wait_arrived(&gs, g));
		vm_stop(vm, TEND_SIGNAL, 15, "stop mid-handshake");
	} else {
		pause_one(vm, 1, 0x11);
		expect_paused(vm, 1, 0x11, 1);
		g = hold_the_token(vm);
		assert_int_equal(vcpu_resume(vm, 1, 0x77), 0);
		vm_stop(vm, TEND_SIGNAL, 15, "stop with a resume queued");
		assert_int_equal(vcpu_resume(vm, 1, 0x78), -ESHUTDOWN);
	}
	gate_release(&gs, g);
	assert_int_equal(vm_wait(vm, WAIT_MS), 0);
	assert_int_equal(stats(vm, 1).taken, 1);
	assert_int_equal(stats(vm, 1).resumed, 0);
	done_vm(vm);
}

/* The run stops while a VCPU is on its way to a pause.  Serial: applied at
 * its own point, it is taken even so (whether its thread got there before
 * the end would be a race).  Parallel: caught before its check, it leaves. */
static void test_stop_on_the_way(void **state)
{
	SKIP_WITHOUT_KVM();
	struct vm *vm = boot("pio", 2, LONG_RUN);
	int g;

	if (serial()) {
		int g0 = gate_arm(&gs, 1, VCPU_HOOK_BEFORE_RUN, 0);
		assert_true(gate_wait_arrived(&gs, g0));
		assert_int_equal(vcpu_request_pause(vm, 1, 0x11), 1);
		g = gate_arm(&gs, 1, VCPU_HOOK_POINT_DONE, 0);
		gate_release(&gs, g0);
	} else {
		g = gate_arm(&gs, 1, VCPU_HOOK_AFTER_RUN, 0);
		assert_true(gate_wait_arrived(&gs, g));
		assert_int_equal(vcpu_request_pause(vm, 1, 0x11), 1);
	}
	assert_true(gate_wait_arrived(&gs, g));
	vm_stop(vm, TEND_SIGNAL, 15, "stop on the way to a pause");
	gate_release(&gs, g);
	assert_int_equal(vm_wait(vm, WAIT_MS), 0);
	assert_int_equal(stats(vm, 1).taken, serial() ? 1 : 0);
	assert_int_equal(stats(vm, 1).resumed, 0);
	done_vm(vm);
}

/* Serial: VCPU 0's assertion ends the run at its first exit; VCPU 1 never
 * had the token and must not get to enter the guest on the way out. */
static void test_no_entry_after_stop(void **state)
{
	SKIP_WITHOUT_KVM();
	struct vm *vm;

	if (sched_mode != VM_SCHED_SERIAL)
		skip();  /* (step: both run from the first instruction) */
	vm = boot("assert", 2, 0);
	assert_int_equal(vm_wait(vm, WAIT_MS), 0);
	assert_int_equal(vm_result(vm)->reason, TEND_GUEST_ASSERT);
	assert_int_equal(gates_seen(&gs, 1, VCPU_HOOK_BEFORE_RUN), 0);
	done_vm(vm);
}

struct seen_cond {
	unsigned vcpu, at_least;
	enum vcpu_hook_point point;
};

static bool seen_enough(struct gates *g, void *arg)
{
	struct seen_cond *c = arg;

	return g->seen[c->point][c->vcpu] >= c->at_least;
}

/* Serial: at a switch, the thread at the point runs the next VCPU itself
 * when that VCPU's thread only waits for its turn, and the two threads
 * trade VCPUs.  A kick must reach the thread that runs the VCPU now.
 * Forced: VCPU 1's thread waits for its turn before VCPU 0's first exit,
 * so VCPU 0's thread takes VCPU 1 over (and leaves with it, as VCPU 1
 * returns), and VCPU 0 spins without an exit on VCPU 1's first thread.
 * A kick sent to VCPU 0's first thread would never end the run. */
static void test_kick_follows_takeover(void **state)
{
	SKIP_WITHOUT_KVM();
	struct seen_cond parked = { 1, 1, VCPU_HOOK_PARKED };
	struct seen_cond spinning = { 0, 2, VCPU_HOOK_BEFORE_RUN };
	struct vm *vm;
	int g;

	if (sched_mode != VM_SCHED_SERIAL)
		skip();  /* (step: the spin exits at every instruction) */
	g = gate_arm(&gs, 0, VCPU_HOOK_BEFORE_RUN, 0);
	vm = boot("exit-spin", 2, 0);
	assert_true(gate_wait_arrived(&gs, g));
	assert_true(gates_wait_until(&gs, seen_enough, &parked, WAIT_MS));
	gate_release(&gs, g);
	assert_true(gates_wait_until(&gs, seen_enough, &spinning, WAIT_MS));
	assert_false(pthread_equal(ran_on[0][0], ran_on[0][1]));
	vm_stop(vm, TEND_SIGNAL, 15, "stop the spinning VCPU");
	assert_int_equal(vm_wait(vm, WAIT_MS), 0);
	assert_int_equal(vm_result(vm)->reason, TEND_SIGNAL);
	done_vm(vm);
}

/* Serial and step: a pause for a VCPU traded to a parked thread wakes
 * that thread, not the one the VCPU was made for (which runs the other
 * VCPU now and applies the pause).  Forced: VCPU 1's thread waits for its
 * turn before VCPU 0's first exit, so at that exit VCPU 0's thread takes
 * VCPU 1 over and leaves VCPU 0 to the parked thread; the pause, queued
 * then, is applied at VCPU 1's next point and waits for VCPU 0 to stop. */
static void test_pause_wakes_traded_thread(void **state)
{
	SKIP_WITHOUT_KVM();
	struct seen_cond parked = { 1, 1, VCPU_HOOK_PARKED };
	struct vm *vm;
	int g0, g1;

	if (!serial())
		skip();
	g0 = gate_arm(&gs, 0, VCPU_HOOK_BEFORE_RUN, 0);
	vm = boot("pio", 2, 1u << 30);
	assert_true(gate_wait_arrived(&gs, g0));
	assert_true(gates_wait_until(&gs, seen_enough, &parked, WAIT_MS));
	g1 = gate_arm(&gs, 0, VCPU_HOOK_POINT_DONE, 0);
	gate_release(&gs, g0);
	assert_true(gate_wait_arrived(&gs, g1));   /* traded, VCPU 1's turn */
	pause_one(vm, 0, 0x77);
	gate_release(&gs, g1);
	expect_paused(vm, 0, 0x77, 1);
	/* VCPU 1 ran on VCPU 0's first thread, VCPU 0 stopped on the other */
	assert_true(atomic_load(&entries[1]) >= 1);
	assert_true(pthread_equal(ran_on[1][0], ran_on[0][0]));
	assert_int_equal(vcpu_resume(vm, 0, 0), 0);
	stop_and_end(vm);
	done_vm(vm);
}

/* --- groups: every scheduling mode, both kick modes -------------------------- */

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_request_while_paused),
	cmocka_unit_test(test_request_while_paused_script),
	cmocka_unit_test(test_request_on_the_way),
	cmocka_unit_test(test_resume_into_a_request),
	cmocka_unit_test(test_resume_then_request),
	cmocka_unit_test(test_second_resume_is_stale),
	cmocka_unit_test(test_stop_while_paused),
	cmocka_unit_test(test_stop_before_resume_applies),
	cmocka_unit_test(test_stop_on_the_way),
	cmocka_unit_test(test_no_entry_after_stop),
	cmocka_unit_test(test_kick_follows_takeover),
	cmocka_unit_test(test_pause_wakes_traded_thread),
};

static int fresh_gates(void **s)
{
	gates_init(&gs);
	return 0;
}

static int open_gates(void **s)
{
	gates_release_all(&gs);
	if (live_vm)
		done_vm(live_vm);
	gates_destroy(&gs);
	return 0;
}

int main(void)
{
	static const struct { enum vm_kick_mode k; const char *name; } kicks[] = {
		{ VM_KICK_IMMEDIATE_EXIT, "immediate_exit" },
		{ VM_KICK_SIGNAL_MASK, "signal_mask" },
	};
	struct CMUnitTest t[sizeof(tests) / sizeof(tests[0])];
	int r = 0;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		t[i] = tests[i];
		t[i].setup_func = fresh_gates;
		t[i].teardown_func = open_gates;
	}
	for (int m = VM_SCHED_PARALLEL; m <= VM_SCHED_STEP; m++) {
		for (size_t k = 0; k < 2; k++) {
			char name[64];
			sched_mode = m;
			kick_mode = kicks[k].k;
			snprintf(name, sizeof(name), "pause/%s/%s",
				 sched_mode_name(m), kicks[k].name);
			r |= _cmocka_run_group_tests(name, t, sizeof(t) / sizeof(t[0]),
						     NULL, NULL);
		}
	}
	return r;
}
