/* The serial/step scheduler's policies over whole runs.  Runs are a
 * function of their seed, so the counts below are exact, not statistics
 * that could flake. */
#include <stdio.h>
#include <string.h>

#include "tests/helpers/testutil.h"
#include "tools/explore.h"

#define RUNS 60

struct tally {
	unsigned failed, hangs;
};

/* RUNS seeded runs of guest under PCT depth d, calibrated the way vcprr
 * explore does it (the steps of one run at depth 1 size the change
 * points). */
static struct tally pct_runs(const char *guest, unsigned d)
{
	struct explore_config c = {
		.guest = guest_path(guest), .nr_vcpus = 2,
		.sched = { .mode = VM_SCHED_STEP, .policy = VM_POLICY_PCT,
			   .pct_depth = 1 },
	};
	struct explore_result r;
	struct tally t = { 0 };
	char err[512];

	if (explore_run(&c, 0, NULL, &r, err, sizeof(err)))
		fail_msg("%s", err);
	c.sched.pct_depth = d;
	c.sched.pct_steps = r.stats.steps;
	c.sched.step_budget = 100000;
	for (uint64_t seed = 1; seed <= RUNS; seed++) {
		if (explore_run(&c, seed, NULL, &r, err, sizeof(err)))
			fail_msg("%s", err);
		t.failed += r.failed;
		t.hangs += r.failed && strstr(r.signature, "hang") != NULL;
	}
	printf("%s pct:%u: %u of %d runs failed, %u hung\n", guest, d, t.failed,
	       RUNS, t.hangs);
	return t;
}

/* Every VCPU yields once first: PCT must still preempt mid-update.  (When a
 * yield ranked a VCPU below every change point's priority, no run of 200
 * failed.) */
static void test_pct_sees_through_yields(void **state)
{
	SKIP_WITHOUT_KVM();
	for (unsigned d = 2; d <= 3; d++) {
		struct tally plain = pct_runs("lost-update", d);
		struct tally yield = pct_runs("lost-update-yield", d);

		assert_int_equal(plain.hangs, 0);
		assert_int_equal(yield.hangs, 0);
		assert_true(plain.failed > 0);
		assert_true(yield.failed > 0);
		assert_true(2 * yield.failed >= plain.failed);
	}
}

/* A VCPU polling with vcprr_yield() for one that a change point demoted
 * lets it run: no run hangs, the fixed twins never fail. */
static void test_pct_pollers_do_not_starve(void **state)
{
	SKIP_WITHOUT_KVM();
	static const char *const fixed[] = { "lost-update-fixed", "handshake-fixed",
					     "xchg-lock" };

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		struct tally t = pct_runs(fixed[i], 2);

		assert_int_equal(t.failed, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pct_sees_through_yields),
		cmocka_unit_test(test_pct_pollers_do_not_starve),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
