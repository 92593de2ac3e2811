/* Replay fidelity: one quick round of tests/soak-fidelity.sh, which
 * records every project guest that runs serially, in serial and step mode,
 * with pauses on (the built-in controller and pause scripts), each policy
 * in turn, and replays every recording twice on a loaded machine.  Every
 * replay must be `same`.  A CI tier runs the same script for longer. */
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

static void test_every_replay_same(void **state)
{
	SKIP_WITHOUT_KVM();
	const char *build = getenv("VCPRR_BUILD");
	char *out;
	int rc = vcprr_sh(&out, "tests/soak-fidelity.sh -q -b %s",
			  build ? build : "build");

	printf("%s", out ? out : "");
	if (rc)
		fail_msg("tests/soak-fidelity.sh: status %d", rc);
	assert_non_null(strstr(out, " 0 failed"));
	free(out);
}

/* A parallel recording in which the run ended (VCPU 2 called vcprr_exit)
 * before VCPUs 0 and 1 got to run: the stop caught them at their start.
 * (Made by dropping their events before VM_STOP from a real recording,
 * and the position of VCPU_EXIT, as traces logged it before the end was
 * recorded: test_parallel_end forces the real thing.)  In a replay they
 * may well run a little before the replay's stop comes: without the
 * recorded end, that is timing, not a divergence. */
static void test_parallel_vcpus_caught_at_start(void **state)
{
	SKIP_WITHOUT_KVM();
	char dir[64], rec[128], cut[128], err[512];
	struct trace_reader *r;
	struct trace_writer *w;
	struct trace_producer *p;
	struct trace_event ev;
	const uint8_t *payload;
	bool stopped = false;

	assert_int_equal(scratch_dir(dir, sizeof(dir), "caught"), 0);
	snprintf(rec, sizeof(rec), "%s/rec.trace", dir);
	snprintf(cut, sizeof(cut), "%s/cut.trace", dir);
	assert_int_equal(vcprr_sh(NULL, "$V record -o %s %s --vcpus 3 >/dev/null",
				  rec, guest_path("exitcode")), 42);
	r = trace_reader_open(rec, err, sizeof(err));
	assert_non_null(r);
	w = trace_writer_open(cut, trace_reader_header(r), NULL, err, sizeof(err));
	assert_non_null(w);
	p = trace_producer_new(w);
	while (trace_reader_next(r, &ev, &payload) == 1 && ev.type != TEV_VM_END) {
		stopped |= ev.type == TEV_VM_STOP;
		if (!stopped && ev.vcpu < 2 && ev.type != TEV_VCPU_START)
			continue;
		if (ev.type == TEV_VCPU_EXIT)
			ev.digest = 0;
		assert_int_equal(trace_emit_timed(p, &ev, payload), 0);
	}
	assert_int_equal(ev.type, TEV_VM_END);
	assert_int_equal(trace_writer_close(w, ev.a0, ev.a1, ev.a2), 0);
	trace_reader_close(r);
	for (int i = 0; i < 5; i++) {
		struct replay_opts o = { .console_fd = -1 };
		struct replay_result res;

		replay_trace(cut, &o, &res);
		if (res.status != REPLAY_SAME)
			fail_msg("replay %d: %s", i, res.message);
	}
	scratch_dir_remove(dir);
}


/* --- forced windows, recorded in this process, then replayed ---------------- */

#define WAIT_MS 5000

static struct gates gs;

static void replay_forced(const struct forced_run *f, const char *name)
{
	char dir[64], path[128];

	assert_int_equal(scratch_dir(dir, sizeof(dir), name), 0);
	snprintf(path, sizeof(path), "%s/forced.trace", dir);
	for (int m = VM_SCHED_SERIAL; m <= VM_SCHED_STEP; m++) {
		struct forced_run g = *f;
		struct replay_opts o = { .console_fd = -1 };
		struct replay_result res;

		g.mode = m;
		gates_init(&gs);
		forced_record(&g, &gs, path);
		gates_destroy(&gs);
		replay_trace(path, &o, &res);
		if (res.status != REPLAY_SAME)
			fail_msg("%s: %s", sched_mode_name(m), res.message);
		unlink(path);
	}
	scratch_dir_remove(dir);
}

static void pause_now(struct vm *vm, unsigned id, uint64_t data)
{
	vcpu_mask_t m = { { 0 } };

	vcpu_mask_set(&m, id);
	assert_int_equal(vm_pause_vcpus(vm, &m, data), 0);
}

/* A pause applied at the VCPU's own scheduling point (it holds the token
 * when the request comes), and with nobody else to run; once it has
 * stopped, a second request and a resume come, applied at that very step
 * with nobody running.  Taken after the resume in the recording, they
 * must be in the replay too, whose thread applies the idle step's
 * actions right after the point if it can: before the VCPU got to its
 * stop, where the second request supersedes the first. */
static void own_point_then_idle(struct vm *vm)
{
	int g = gate_arm(&gs, 0, VCPU_HOOK_BEFORE_RUN, 0);

	assert_true(gate_wait_arrived(&gs, g));  /* VCPU 0 holds the token */
	pause_now(vm, 0, 0x11);
	gate_release(&gs, g);
	expect_pause_event(vm, 0, 0x11, 1, WAIT_MS);
	pause_now(vm, 0, 0x22);
	assert_int_equal(vcpu_resume(vm, 0, 0), 0);
	expect_pause_event(vm, 0, 0x22, 2, WAIT_MS);
	assert_int_equal(vcpu_resume(vm, 0, 0), 0);
}

static void test_request_after_own_point_pause(void **state)
{
	SKIP_WITHOUT_KVM();
	struct forced_run f = { .guest = "pio", .vcpus = 1, .arg = 300,
				.control = own_point_then_idle };

	replay_forced(&f, "ownpoint");
}

/* Parallel runs a VCPU stopped (an assertion, vcprr_exit, a triple
 * fault): every replay checks the same events, all that the recording
 * has before VM_STOP, however fast each VCPU's thread is; the stop comes
 * from the recorded stopper only once the others got there. */
static void test_parallel_stop_count_fixed(void **state)
{
	SKIP_WITHOUT_KVM();
	static const struct { const char *guest; unsigned vcpus; } runs[] = {
		{ "assert", 3 }, { "exitcode", 3 }, { "triple", 2 },
	};
	char dir[64], path[128];

	assert_int_equal(scratch_dir(dir, sizeof(dir), "parstop"), 0);
	snprintf(path, sizeof(path), "%s/p.trace", dir);
	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		uint64_t first = 0;

		unlink(path);
		int rc = vcprr_sh(NULL, "$V record -o %s %s --vcpus %u "
				  ">/dev/null 2>&1", path,
				  guest_path(runs[i].guest), runs[i].vcpus);

		assert_true(rc > 0 && rc < 128);  /* the guest's failure */
		for (int k = 0; k < 6; k++) {
			struct replay_opts o = { .console_fd = -1 };
			struct replay_result res;

			replay_trace(path, &o, &res);
			if (res.status != REPLAY_SAME)
				fail_msg("%s: %s", runs[i].guest, res.message);
			if (!k)
				first = res.events;
			else if (res.events != first)
				fail_msg("%s: replay %d checked %llu events, the "
					 "first %llu", runs[i].guest, k,
					 (unsigned long long)res.events,
					 (unsigned long long)first);
		}
	}
	scratch_dir_remove(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parallel_vcpus_caught_at_start),
		cmocka_unit_test(test_request_after_own_point_pause),
		cmocka_unit_test(test_parallel_stop_count_fixed),
		cmocka_unit_test(test_every_replay_same),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
