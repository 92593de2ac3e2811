/* The end of a parallel run is recorded and replayed: each VCPU's
 * VCPU_EXIT says where the stop caught it (exit count, RIP, register
 * digest), and a replay lands every VCPU there before its stop, so the
 * way out of each VCPU is checked like any event.  The windows are forced
 * with the VMM's test hooks: VCPUs that never entered the guest before
 * the stop, a pause taken before a VCPU's first guest entry (with and
 * without a stop while it is paused there), a resume and a request that
 * come with the stop, a stop that comes while a VCPU handles a PIO exit.  Each recording is replayed several times;
 * a trace whose recorded end was altered must not replay `same`. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "replay/replay.h"
#include "tests/helpers/forced-run.h"
#include "tests/helpers/gate.h"
#include "tests/helpers/testutil.h"
#include "traces/trace.h"
#include "vmm/controller.h"

#define WAIT_MS 5000
#define REPLAYS 3

static struct gates gs;
static char dir[64], path[128], altered[128];

/* f, in parallel mode, into path. */
static void record_forced(struct forced_run *f)
{
	f->mode = VM_SCHED_PARALLEL;
	gates_init(&gs);
	forced_record(f, &gs, path);
	gates_destroy(&gs);
}

/* Every replay of t says same, checking the same number of events. */
static void replays_same(const char *t)
{
	uint64_t first = 0;

	for (int i = 0; i < REPLAYS; i++) {
		struct replay_opts o = { .console_fd = -1 };
		struct replay_result res;

		replay_trace(t, &o, &res);
		if (res.status != REPLAY_SAME)
			fail_msg("replay %d: %s", i, res.message);
		if (!i)
			first = res.events;
		else if (res.events != first)
			fail_msg("replay %d checked %llu events, the first %llu",
				 i, (unsigned long long)res.events,
				 (unsigned long long)first);
	}
}

/* VCPU vcpu's VCPU_EXIT in path. */
static struct trace_event vcpu_exit_of(unsigned vcpu)
{
	struct trace_reader *r = trace_reader_open(path, NULL, 0);
	struct trace_event ev, found = { .type = TEV_NONE };

	assert_non_null(r);
	while (trace_reader_next(r, &ev, NULL) == 1)
		if (ev.type == TEV_VCPU_EXIT && ev.vcpu == vcpu)
			found = ev;
	trace_reader_close(r);
	assert_int_equal(found.type, TEV_VCPU_EXIT);
	return found;
}

/* A copy of path in altered, each event passed through edit first. */
static void copy_edited(void (*edit)(struct trace_event *ev, void *arg),
			void *arg)
{
	struct trace_reader *r = trace_reader_open(path, NULL, 0);
	struct trace_writer *w;
	struct trace_producer *p;
	struct trace_event ev;
	const uint8_t *pl;
	char err[256];

	assert_non_null(r);
	w = trace_writer_open(altered, trace_reader_header(r), NULL, err,
			      sizeof(err));
	assert_non_null(w);
	p = trace_producer_new(w);
	while (trace_reader_next(r, &ev, &pl) == 1 && ev.type != TEV_VM_END) {
		edit(&ev, arg);
		assert_int_equal(trace_emit_timed(p, &ev, pl), 0);
	}
	assert_int_equal(ev.type, TEV_VM_END);
	assert_int_equal(trace_writer_close(w, ev.a0, ev.a1, ev.a2), 0);
	trace_reader_close(r);
}

/* VCPU_EXIT of one VCPU changed: its digest (the stop caught the VCPU
 * elsewhere) or its code. */
struct end_edit {
	unsigned vcpu;
	bool digest;
};

static void alter_end(struct trace_event *ev, void *arg)
{
	const struct end_edit *e = arg;

	if (ev->type == TEV_VCPU_EXIT && ev->vcpu == e->vcpu)
		*(e->digest ? &ev->digest : &ev->a0) ^= 1;
}

/* Where the stop caught it cannot be landed, or the VCPU leaves with
 * another code than recorded: either is a divergence, said as such. */
static void altered_end_diverges(unsigned vcpu)
{
	for (int digest = 1; digest >= 0; digest--) {
		struct replay_opts o = { .console_fd = -1 };
		struct replay_result res;

		struct end_edit e = { vcpu, digest };

		copy_edited(alter_end, &e);
		replay_trace(altered, &o, &res);
		/* (The end's position is landed, or reached by the VCPU's own
		 * stop, or that of a pause never resumed: then compared.) */
		if (res.status != REPLAY_DIVERGED ||
		    (!strstr(res.message, "expected: VCPU_EXIT vcpu=") &&
		     (!digest || !strstr(res.message, "the recorded end (where "
					 "the stop caught the VCPU)"))))
			fail_msg("vcpu %u's end altered (%s), the replay says "
				 "%d: %s", vcpu, digest ? "digest" : "code",
				 res.status, res.message);
	}
}

static void wait_stopping(struct vm *vm)
{
	for (int i = 0; i < WAIT_MS && !vm_stopping(vm); i++)
		usleep(1000);
	assert_true(vm_stopping(vm));
}

/* --- VCPUs that never entered the guest before the stop ------------------- */

static int held[3];

/* VCPU 2 too: its exit must not stop the run before the other two are
 * held (a VCPU that sees the stop first never comes to its KVM_RUN). */
static void hold_first_two(struct vm *vm)
{
	(void)vm;
	for (unsigned i = 0; i < 3; i++)
		held[i] = gate_arm(&gs, i, VCPU_HOOK_BEFORE_RUN, 0);
}

/* VCPU 2 calls vcprr_exit while 0 and 1 wait before their first KVM_RUN. */
static void stop_before_they_enter(struct vm *vm)
{
	for (unsigned i = 0; i < 3; i++)
		assert_true(gate_wait_arrived(&gs, held[i]));
	gate_release(&gs, held[2]);
	wait_stopping(vm);
	gate_release(&gs, held[0]);
	gate_release(&gs, held[1]);
}

static void test_vcpus_that_never_entered(void **state)
{
	SKIP_WITHOUT_KVM();
	struct forced_run f = { .guest = "exitcode", .vcpus = 3,
				.prepare = hold_first_two,
				.control = stop_before_they_enter };
	struct trace_event e0, e2;

	record_forced(&f);
	e0 = vcpu_exit_of(0);
	e2 = vcpu_exit_of(2);
	/* Caught before its first exit, at the entry point, the registers
	 * logged all the same. */
	assert_int_equal(e0.exit_seq, 0);
	assert_int_equal(vcpu_exit_of(1).exit_seq, 0);
	assert_true(e0.rip != 0 && e0.digest != 0);
	assert_true(e2.exit_seq > 0 && e2.digest != 0);
	replays_same(path);
	altered_end_diverges(0);
	altered_end_diverges(2);
}

/* --- a pause before a VCPU's first guest entry ------------------------------ */

static int first_run;

static void hold_vcpu1(struct vm *vm)
{
	(void)vm;
	first_run = gate_arm(&gs, 1, VCPU_HOOK_BEFORE_RUN, 0);
}

static void pause_now(struct vm *vm, unsigned id, uint64_t data)
{
	vcpu_mask_t m = { { 0 } };

	vcpu_mask_set(&m, id);
	assert_int_equal(vm_pause_vcpus(vm, &m, data), 0);
}

/* The request and its kick come while VCPU 1 is about to enter the guest
 * for the first time: KVM_RUN returns at once, and the pause is taken at
 * exit 0, the registers as KVM reported them for the kick. */
static void pause_at_first_entry(struct vm *vm)
{
	assert_true(gate_wait_arrived(&gs, first_run));
	pause_now(vm, 1, 0x11);
	gate_release(&gs, first_run);
	expect_pause_event(vm, 1, 0x11, 1, WAIT_MS);
}

static void pause_then_resume(struct vm *vm)
{
	pause_at_first_entry(vm);
	assert_int_equal(vcpu_resume(vm, 1, 0x22), 0);
}

/* ... and the run stopped from outside while it is paused there. */
static void pause_then_stop(struct vm *vm)
{
	pause_at_first_entry(vm);
	vm_stop(vm, TEND_SIGNAL, 15, "stopped by the test");
}

static void test_pause_before_first_entry(void **state)
{
	SKIP_WITHOUT_KVM();
	struct forced_run f = { .guest = "pio", .vcpus = 2, .arg = 300,
				.prepare = hold_vcpu1,
				.control = pause_then_resume };

	record_forced(&f);
	replays_same(path);
	f.arg = 100000000;
	f.control = pause_then_stop;
	record_forced(&f);
	assert_int_equal(vcpu_exit_of(1).exit_seq, 0);
	replays_same(path);
	altered_end_diverges(1);
	altered_end_diverges(0);
}

/* --- resumed after the stop, with a request pending ------------------------ */

static int stopped_gate;

static void hold_at_stop(struct vm *vm)
{
	(void)vm;
	stopped_gate = gate_arm(&gs, 1, VCPU_HOOK_STOPPED, 0);
}

/* VCPU 1 is held as it stops for 0x11; a second request, its resume and
 * the run's stop all come before it waits: it logs RESUMED after VM_STOP
 * and leaves with 0x22 not taken.  The replay publishes 0x22 before that
 * resume too, and must not take it either. */
static void resume_request_stop(struct vm *vm)
{
	pause_now(vm, 1, 0x11);
	assert_true(gate_wait_arrived(&gs, stopped_gate));
	expect_pause_event(vm, 1, 0x11, 1, WAIT_MS);
	pause_now(vm, 1, 0x22);
	assert_int_equal(vcpu_resume(vm, 1, 0x33), 0);
	vm_stop(vm, TEND_SIGNAL, 15, "stopped by the test");
	gate_release(&gs, stopped_gate);
}

static void test_resumed_after_stop(void **state)
{
	SKIP_WITHOUT_KVM();
	struct forced_run f = { .guest = "pio", .vcpus = 2, .arg = 100000000,
				.prepare = hold_at_stop,
				.control = resume_request_stop };

	record_forced(&f);
	replays_same(path);
	altered_end_diverges(1);
}

/* --- a stop while a VCPU handles a PIO exit ------------------------------- */

static int in_pio;

static void hold_in_pio(struct vm *vm)
{
	(void)vm;
	in_pio = gate_arm(&gs, 0, VCPU_HOOK_IN_PIO, 50);
}

/* VCPU 0 logs its 51st write after VM_STOP, and leaves with that write
 * pending: where the stop caught it is the OUT instruction itself. */
static void stop_in_pio(struct vm *vm)
{
	assert_true(gate_wait_arrived(&gs, in_pio));
	vm_stop(vm, TEND_SIGNAL, 15, "stopped by the test");
	gate_release(&gs, in_pio);
}

static void test_stop_during_pio_exit(void **state)
{
	SKIP_WITHOUT_KVM();
	struct forced_run f = { .guest = "pio", .vcpus = 2, .arg = 100000000,
				.prepare = hold_in_pio, .control = stop_in_pio };

	record_forced(&f);
	assert_true(vcpu_exit_of(0).exit_seq > 50);
	replays_same(path);
	altered_end_diverges(0);
}

/* --- a pause that cannot be landed, said at the visit after its own ------ */

static int loop_gate;
static struct kvm_regs at_pause;

static void hold_loop_entry(struct vm *vm)
{
	(void)vm;
	/* counter: its second KVM_RUN enters the loop of locked adds */
	loop_gate = gate_arm(&gs, 0, VCPU_HOOK_BEFORE_RUN, 1);
}

/* A pause while VCPU 0 runs its loop, which makes no exit: landed by
 * breakpoint visits.  Its registers are kept for the test. */
static void pause_in_loop(struct vm *vm)
{
	assert_true(gate_wait_arrived(&gs, loop_gate));
	gate_release(&gs, loop_gate);
	usleep(100);
	pause_now(vm, 0, 0x11);
	expect_pause_event(vm, 0, 0x11, 1, WAIT_MS);
	assert_int_equal(vcpu_get_regs(vm, 0, &at_pause), 0);
	assert_int_equal(vcpu_resume(vm, 0, 0x22), 0);
}

/* PAUSE_TAKEN with the digest of its registers with the carry flag
 * flipped: the pause of a run whose locked add on a shared counter gave
 * other flags. */
static void alter_pause_flags(struct trace_event *ev, void *arg)
{
	struct kvm_regs flipped = at_pause;
	unsigned *seen = arg;

	if (ev->type != TEV_PAUSE_TAKEN)
		return;
	assert_int_equal(ev->digest, regs_digest(&at_pause));
	flipped.rflags ^= 1;
	ev->digest = regs_digest(&flipped);
	++*seen;
}

static void test_unlandable_pause_said_early(void **state)
{
	SKIP_WITHOUT_KVM();
	struct forced_run f = { .guest = "counter", .vcpus = 1,
				.prepare = hold_loop_entry,
				.control = pause_in_loop };
	struct replay_opts o = { .console_fd = -1 };
	struct replay_result res;
	char want[256];
	unsigned seen = 0;
	int tries = 0;

	/* Caught in the loop: its countdown (eax) neither at its start nor
	 * done.  (The kick may land before the guest runs a first add.) */
	do {
		record_forced(&f);
	} while ((at_pause.rax < 2 || at_pause.rax >= 100000) && ++tries < 20);
	assert_true(at_pause.rax >= 2 && at_pause.rax < 100000);
	replays_same(path);
	copy_edited(alter_pause_flags, &seen);
	assert_int_equal(seen, 1);
	replay_trace(altered, &o, &res);
	/* The visit of the recorded instance is the (100000 - eax + 1)th
	 * where the pause caught the loop before its `sub` of the countdown
	 * (the locked add), the (100000 - eax)th after it (the branch). */
	for (int after_sub = 0; after_sub < 2; after_sub++) {
		snprintf(want, sizeof(want), "at visit %llu of that rip every "
			 "register was as recorded but the arithmetic flags "
			 "(rflags %#llx, recorded %#llx)",
			 100000 - (unsigned long long)at_pause.rax + 1 - after_sub,
			 at_pause.rflags & 0x8d5, (at_pause.rflags ^ 1) & 0x8d5);
		if (strstr(res.message, want))
			break;
	}
	if (res.status != REPLAY_DIVERGED || !strstr(res.message, want) ||
	    !strstr(res.message, "passed the recorded pause at exit 1"))
		fail_msg("replay said %d: %s\n(wanted: %s)", res.status,
			 res.message, want);
}

/* --- where a long loop was caught: past the bound, not replayable ---------- */

static int last_gate;

static void hold_last(struct vm *vm)
{
	(void)vm;
	last_gate = gate_arm(&gs, 2, VCPU_HOOK_BEFORE_RUN, 0);
}

static bool spinning(struct gates *g, void *arg)
{
	(void)arg;
	/* entered twice: past their one exit, into the loop */
	return g->seen[VCPU_HOOK_BEFORE_RUN][0] >= 2 &&
	       g->seen[VCPU_HOOK_BEFORE_RUN][1] >= 2;
}

/* exitcode: VCPU 2 exits once 0 and 1 spin in their loop. */
static void exit_once_spinning(struct vm *vm)
{
	(void)vm;
	assert_true(gate_wait_arrived(&gs, last_gate));
	assert_true(gates_wait_until(&gs, spinning, NULL, WAIT_MS));
	usleep(2000);
	gate_release(&gs, last_gate);
}

/* VCPU 0 spins in a loop whose registers never change: a visit that is
 * not the recorded one shows nothing, so a recorded end that no visit
 * matches (altered) is given up at the bound, and the trace called
 * unreplayable, not diverged (nothing showed the run differs). */
static void test_unlandable_in_bound_is_unreplayable(void **state)
{
	SKIP_WITHOUT_KVM();
	struct forced_run f = { .guest = "exitcode", .vcpus = 3,
				.prepare = hold_last,
				.control = exit_once_spinning };
	struct replay_opts o = { .console_fd = -1 };
	struct replay_result res;
	struct end_edit e = { 0, true };

	record_forced(&f);
	assert_int_equal(vcpu_exit_of(0).exit_seq, 1);
	replays_same(path);
	copy_edited(alter_end, &e);
	replay_trace(altered, &o, &res);
	if (res.status != REPLAY_ERROR ||
	    !strstr(res.message, "replay gave up: the recorded end (where the "
		    "stop caught the VCPU) at exit 1") ||
	    !strstr(res.message, "was not landed in 200000 visits"))
		fail_msg("replay said %d: %s", res.status, res.message);
}

static int setup(void **state)
{
	if (scratch_dir(dir, sizeof(dir), "parend"))
		return -1;
	snprintf(path, sizeof(path), "%s/p.trace", dir);
	snprintf(altered, sizeof(altered), "%s/altered.trace", dir);
	return 0;
}

static int teardown(void **state)
{
	return scratch_dir_remove(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vcpus_that_never_entered),
		cmocka_unit_test(test_pause_before_first_entry),
		cmocka_unit_test(test_resumed_after_stop),
		cmocka_unit_test(test_stop_during_pio_exit),
		cmocka_unit_test(test_unlandable_pause_said_early),
		cmocka_unit_test(test_unlandable_in_bound_is_unreplayable),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
