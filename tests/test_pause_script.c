/* The pause-script parser: the language, and clear errors for bad input. */
#include <string.h>

#include "tests/helpers/testutil.h"
#include "tools/pause-script.h"

static int parse(const char *text, struct pause_script *s, char *err)
{
	return pause_script_parse("s.txt", text, strlen(text), s, err, 512);
}

static void expect_error(const char *text, const char *needle)
{
	struct pause_script s;
	char err[512] = "";

	assert_int_equal(parse(text, &s, err), -1);
	if (!strstr(err, needle))
		fail_msg("error '%s' lacks '%s'", err, needle);
	assert_null(s.cmds);
}

static void test_language(void **state)
{
	struct pause_script s;
	char err[512];
	const char *text =
		"# a comment\n"
		"\n"
		"pause all 0x10   # trailing comment\n"
		"request 3 42\n"
		"wait 0,2-4 250ms\n"
		"set 1 rip 0x100000\n"
		"print 1\n"
		"resume 0x5 7\n"
		"sleep 2s\n";

	assert_int_equal(parse(text, &s, err), 0);
	assert_int_equal(s.n, 7);
	assert_int_equal(s.cmds[0].op, SCRIPT_PAUSE);
	assert_int_equal(s.cmds[0].line, 3);
	assert_int_equal(s.cmds[0].value, 0x10);
	assert_true(vcpu_mask_test(&s.cmds[0].mask, 1023));
	assert_int_equal(s.cmds[1].op, SCRIPT_REQUEST);
	assert_int_equal(s.cmds[1].vcpu, 3);
	assert_int_equal(s.cmds[1].value, 42);
	assert_int_equal(s.cmds[2].op, SCRIPT_WAIT);
	assert_int_equal(s.cmds[2].value, 250000000);
	assert_true(vcpu_mask_test(&s.cmds[2].mask, 0));
	assert_false(vcpu_mask_test(&s.cmds[2].mask, 1));
	assert_true(vcpu_mask_test(&s.cmds[2].mask, 4));
	assert_false(vcpu_mask_test(&s.cmds[2].mask, 5));
	assert_int_equal(s.cmds[3].op, SCRIPT_SET);
	assert_int_equal(s.cmds[3].reg, 16);  /* rip */
	assert_int_equal(s.cmds[5].mask.bits[0], 0x5);
	assert_int_equal(s.cmds[6].value, 2000000000ull);
	pause_script_free(&s);
}

static void test_errors(void **state)
{
	expect_error("pause all\nfrob 1\n", "s.txt:2: unknown command 'frob'");
	expect_error("pause\n", "s.txt:1: 'pause' takes 1 to 2 arguments");
	expect_error("pause 1 2 3\n", "takes 1 to 2 arguments");
	expect_error("pause 5-2\n", "bad VCPU mask '5-2'");
	expect_error("pause 99999\n", "bad VCPU mask");
	expect_error("pause 0x0\n", "bad VCPU mask");
	expect_error("wait all never\n", "bad timeout 'never'");
	expect_error("set 0 xmm0 1\n", "unknown register 'xmm0'");
	expect_error("set 0 rax -1\n", "bad value '-1'");
	expect_error("print -3\n", "bad VCPU id '-3'");
	expect_error("sleep 3parsecs\n", "bad duration");
	expect_error("resume all x\n", "bad data 'x'");
	expect_error("pause a b c d e f g h i\n", "too many words");
}

static void test_nul_and_long_lines(void **state)
{
	struct pause_script s;
	char err[512], big[3000];
	static const char nul[] = "pause all\nre\0sume all\n";

	assert_int_equal(pause_script_parse("s.txt", nul, sizeof(nul) - 1, &s, err,
					    sizeof(err)), -1);
	assert_non_null(strstr(err, "s.txt:2: NUL byte"));
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	expect_error(big, "s.txt:1: line too long");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_language),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_nul_and_long_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
