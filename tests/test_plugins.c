/* crosvm plugin programs (tests/plugins/, built as $VCPRR_BUILD/plugins/NAME
 * against libcrosvm_plugin): each runs to exit status 0 plainly, then under
 * VCPRR_RECORD, and its recording replays the same without the program. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/helpers/testutil.h"

static void run_plugin(const char *name)
{
	char trace[] = "/tmp/vcprr-plugin-XXXXXX";
	char *out = NULL;
	int fd, st;

	SKIP_WITHOUT_KVM();
	st = vcprr_sh(&out, "timeout 60 \"$(dirname $V)/plugins/%s\"", name);
	if (st)
		fprintf(stderr, "%s (plain) exited %d:\n%s\n", name, st, out);
	assert_int_equal(st, 0);
	free(out);

	fd = mkstemp(trace);
	assert_true(fd >= 0);
	close(fd);
	st = vcprr_sh(&out, "VCPRR_RECORD=%s timeout 60 \"$(dirname $V)/plugins/%s\"",
		      trace, name);
	if (st)
		fprintf(stderr, "%s (recorded) exited %d:\n%s\n", name, st, out);
	assert_int_equal(st, 0);
	free(out);

	st = vcprr_sh(&out, "$V replay --timeout 60s %s", trace);
	if (st)
		fprintf(stderr, "replay of %s exited %d:\n%s\n", name, st, out);
	assert_int_equal(st, 0);
	assert_non_null(strstr(out, ": same ("));
	free(out);
	unlink(trace);
}

static void test_adder(void **state) { run_plugin("adder"); }
static void test_pause3(void **state) { run_plugin("pause3"); }
static void test_vmcalls(void **state) { run_plugin("vmcalls"); }

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_adder),
		cmocka_unit_test(test_pause3),
		cmocka_unit_test(test_vmcalls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
