/* The vcprr command end to end: exit statuses, messages, help. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/helpers/testutil.h"

static void test_usage_errors(void **state)
{
	char *out;

	assert_int_equal(vcprr_sh(&out, "$V "), 2);
	free(out);
	assert_int_equal(vcprr_sh(&out, "$V frobnicate"), 2);
	assert_non_null(strstr(out, "unknown command 'frobnicate'"));
	free(out);
	assert_int_equal(vcprr_sh(&out, "$V run"), 2);
	assert_non_null(strstr(out, "missing GUEST.elf"));
	free(out);
	assert_int_equal(vcprr_sh(&out, "$V run %s --vcpus zero", guest_path("hello")), 2);
	assert_non_null(strstr(out, "--vcpus 'zero'"));
	free(out);
	assert_int_equal(vcprr_sh(&out, "$V run %s --mem lots", guest_path("hello")), 2);
	assert_non_null(strstr(out, "--mem 'lots'"));
	free(out);
}

/* Each documented maximum is refused with a message that names it. */
static void test_limits(void **state)
{
	static const struct { const char *cmd; int status; const char *says; } cases[] = {
		{ "$V run %s --vcpus 1025", 2, "expected 1 to 1024 VCPUs" },
		{ "$V run %s --mem 4G", 2, "--mem '4G': guest memory must be a multiple of 4K between 2M and 3072M" },
		{ "$V run %s --mem 2M --vcpus 100", 126, "too small for 100 VCPU stacks" },
		{ "$V record -o /dev/null %s --max-trace 1K", 2, "at least 4K" },
		{ ": %s; VCPRR_VCPUS=65 \"$(dirname $V)/plugins/adder\"", 1,
		  "VCPRR_VCPUS must be 1 to 64" },
		{ ": %s; VCPRR_MEM=1T \"$(dirname $V)/plugins/adder\"", 1,
		  "VCPRR_MEM='1T': expected a number" },
	};
	char *out;

	SKIP_WITHOUT_KVM();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int st = vcprr_sh(&out, cases[i].cmd, guest_path("hello"));

		if (st != cases[i].status || !strstr(out, cases[i].says))
			fail_msg("%s: exit %d, expected %d and '%s':\n%s",
				 cases[i].cmd, st, cases[i].status, cases[i].says, out);
		free(out);
	}
}

static void test_help_and_version(void **state)
{
	char *out;

	assert_int_equal(vcprr_sh(&out, "$V --version"), 0);
	assert_non_null(strstr(out, "vcprr "));
	free(out);
	assert_int_equal(vcprr_sh(&out, "$V run --help"), 0);
	assert_non_null(strstr(out, "exit status:"));
	assert_non_null(strstr(out, "125  guest fault"));
	free(out);
}

static void test_run_statuses(void **state)
{
	char *out;

	SKIP_WITHOUT_KVM();
	assert_int_equal(vcprr_sh(&out, "$V run %s --vcpus 8", guest_path("hello")), 0);
	for (int i = 0; i < 8; i++) {
		char line[64];
		snprintf(line, sizeof(line), "[vcpu %d] hello from vcpu %d of 8", i, i);
		assert_int_equal(count_lines(out, line), 1);
	}
	free(out);
	assert_int_equal(vcprr_sh(NULL, "$V run %s --vcpus 3", guest_path("exitcode")), 42);
	assert_int_equal(vcprr_sh(&out, "$V run %s", guest_path("triple")), 125);
	assert_non_null(strstr(out, "triple fault"));
	free(out);
	assert_int_equal(vcprr_sh(&out, "$V run %s", guest_path("assert")), 124);
	free(out);
	assert_int_equal(vcprr_sh(&out, "$V run %s --timeout 200ms", guest_path("spin")), 125);
	assert_non_null(strstr(out, "timed out after 200 ms"));
	free(out);
	assert_int_equal(vcprr_sh(&out, "$V run /nonexistent.elf"), 126);
	assert_non_null(strstr(out, "/nonexistent.elf: cannot open"));
	free(out);
	assert_int_equal(vcprr_sh(&out, "$V run %s --vcpus 5000", guest_path("hello")), 2);
	assert_non_null(strstr(out, "--vcpus '5000': expected 1 to 1024 VCPUs"));
	free(out);
}

static void test_sigint_stops_cleanly(void **state)
{
	char *out;

	SKIP_WITHOUT_KVM();
	/* SIGINT after 0.3 s: vcprr reports it and exits 128 + 2. */
	int st = vcprr_sh(&out, "$V run %s --vcpus 2 & p=$!; sleep 0.3; kill -INT $p; wait $p",
		       guest_path("spin"));
	assert_int_equal(st, 130);
	assert_non_null(strstr(out, "stopped by Interrupt"));
	free(out);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_pause_script_controller(void **state)
{
	char *out, path[] = "/tmp/vcprr-script-XXXXXX";
	int fd = mkstemp(path);

	SKIP_WITHOUT_KVM();
	assert_true(fd >= 0);
	close(fd);
	/* Pause the spinning VCPU, read its registers, make it exit with 9. */
	write_file(path, "sleep 20ms\npause 0 7\nwait 0\nprint 0\n"
		   "set 0 rbx 9\nresume 0\n");
	assert_int_equal(vcprr_sh(&out, "$V run %s --pause-script %s",
			       guest_path("regwait"), path), 9);
	assert_non_null(strstr(out, "vcpu 0:"));
	assert_non_null(strstr(out, "rip=0x10"));
	free(out);
	write_file(path, "pause 0 7\nfrob\n");
	assert_int_equal(vcprr_sh(&out, "$V run %s --pause-script %s",
			       guest_path("regwait"), path), 2);
	assert_non_null(strstr(out, ":2: unknown command 'frob'"));
	free(out);
	unlink(path);
}

static void test_random_pause_controller(void **state)
{
	char *out;

	SKIP_WITHOUT_KVM();
	/* Pauses must not disturb the guest: the counter stays exact. */
	assert_int_equal(vcprr_sh(&out, "$V run %s --vcpus 4 --pause-every 200us "
			       "--hold 50us --seed 3", guest_path("counter")), 0);
	assert_non_null(strstr(out, "counter = 400000 (expected 400000)"));
	assert_non_null(strstr(out, "vcprr: controller: "));
	assert_null(strstr(out, "controller: 0 pause rounds"));
	free(out);
	assert_int_equal(vcprr_sh(&out, "$V run %s --hold 1ms", guest_path("counter")), 2);
	assert_non_null(strstr(out, "--hold needs --pause-every"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_help_and_version),
		cmocka_unit_test(test_run_statuses),
		cmocka_unit_test(test_sigint_stops_cleanly),
		cmocka_unit_test(test_pause_script_controller),
		cmocka_unit_test(test_random_pause_controller),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
