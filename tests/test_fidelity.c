/* Replay fidelity: one quick round of tests/soak-fidelity.sh, which
 * records every project guest that runs serially, in serial and step mode,
 * with pauses on (the built-in controller and pause scripts), each policy
 * in turn, and replays every recording twice on a loaded machine.  Every
 * replay must be `same`.  A CI tier runs the same script for longer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/helpers/testutil.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_replay_same),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
