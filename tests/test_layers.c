/* The layers of docs/ARCHITECTURE.md hold: tests/check-layers.sh checks
 * the folders' includes, the calls between the files of vmm/ and of replay/ (from their
 * objects' symbols: no call circle) and that the installed headers compile
 * alone and keep the replay and test-hook interfaces out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/helpers/testutil.h"

static void test_layers(void **state)
{
	const char *build = getenv("VCPRR_BUILD");
	char *out;
	int rc = vcprr_sh(&out, "tests/check-layers.sh %s", build ? build : "build");

	printf("%s", out ? out : "");
	if (rc)
		fail_msg("tests/check-layers.sh: status %d", rc);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
