/* Replay fidelity: one quick round of tests/soak-fidelity.sh, which
 * records every project guest that runs serially, in serial and step mode,
 * with pauses on (the built-in controller and pause scripts), each policy
 * in turn, and replays every recording twice on a loaded machine.  Every
 * replay must be `same`.  A CI tier runs the same script for longer. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay/replay.h"
#include "tests/helpers/testutil.h"
#include "traces/trace.h"

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
 * (Made by dropping their events before VM_STOP from a real recording.)
 * In a replay they may well run a little before the replay's stop comes:
 * that is timing, not a divergence. */
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parallel_vcpus_caught_at_start),
		cmocka_unit_test(test_every_replay_same),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
