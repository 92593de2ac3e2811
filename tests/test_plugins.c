/* crosvm plugin programs (tests/plugins/, built as $VCPRR_BUILD/plugins/NAME
 * against libcrosvm_plugin): each runs to exit status 0 plainly, then under
 * VCPRR_RECORD, and its recording replays the same without the program. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/helpers/testutil.h"

/* Runs plugin `name` plainly and recorded (both must exit 0), then replays
 * the recording: `replay_status` is what vcprr replay must exit with, and
 * `says` what it must print. */
static void run_and_replay(const char *name, int replay_status, const char *says)
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
	if (st != replay_status)
		fprintf(stderr, "replay of %s exited %d:\n%s\n", name, st, out);
	assert_int_equal(st, replay_status);
	assert_non_null(strstr(out, says));
	free(out);
	unlink(trace);
}

static void run_plugin(const char *name)
{
	run_and_replay(name, 0, ": same (");
}

static void test_adder(void **state) { run_plugin("adder"); }
static void test_pause3(void **state) { run_plugin("pause3"); }
static void test_vmcalls(void **state) { run_plugin("vmcalls"); }
static void test_irqs(void **state) { run_plugin("irqs"); }

/* An interrupt raised while the guest ran cannot be placed again: replay
 * says so at once (126, cannot replay) rather than spin. */
static void test_irq_running(void **state)
{
	run_and_replay("irq-running", 126, "cannot replay: the plugin signalled "
		       "an irqfd while a VCPU was running");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_adder),
		cmocka_unit_test(test_pause3),
		cmocka_unit_test(test_vmcalls),
		cmocka_unit_test(test_irqs),
		cmocka_unit_test(test_irq_running),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
