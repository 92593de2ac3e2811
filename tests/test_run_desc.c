/* The run description's codec: what is encoded decodes to the same run,
 * and a description that is not exactly what the encoder writes (a key
 * unknown, repeated or missing, a value malformed or impossible, another
 * version) is refused with the byte offset of the line at fault. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/run-desc.h"
#include "vmm/vm.h"

#define DESC_OFF 32   /* where the header frame puts the description */

/* A description with every field away from its default. */
static void full_desc(struct run_desc *d)
{
	run_desc_init(d);
	d->nr_vcpus = 7;
	d->mem_size = 96ull << 20;
	d->input.argc = 3;
	d->input.argv[0] = UINT64_MAX;
	d->input.argv[2] = 42;
	d->input.data_len = 5;
	memcpy(d->input.data, "a\0\n=b", 5);
	d->sched = (struct sched_config){
		.mode = VM_SCHED_STEP, .policy = VM_POLICY_PCT, .pct_depth = 3,
		.pct_steps = 12345, .seed = 0xfedcba9876543210ull,
		.watchdog_ns = 5000000000ull, .pause_ppm = 250000,
		.max_hold = 17, .step_budget = 1ull << 40,
	};
	d->timeout_ns = 1500000000ull;
	d->pause_every_ns = 1000000;
	d->hold_ns = 200000;
	strcpy(d->pause_script, "scripts/p \\x = y.txt");
	d->lossy = true;
	d->max_trace = 65536;
	strcpy(d->guest.path, "../guests/hello world.elf");
	strcpy(d->guest.from_trace, "../../build/guests/hello world.elf");
	for (int i = 0; i < 32; i++)
		d->guest.sha256[i] = (uint8_t)(i * 37 + 5);
	d->mem_limit = 1ull << 33;
	strcpy(d->program, "/usr/bin/plugin=1");
}

static void encode(const struct run_desc *d, struct trace_header *h)
{
	char err[256];

	memset(h, 0, sizeof(*h));
	h->desc_offset = DESC_OFF;
	if (run_desc_encode(d, h, err, sizeof(err)))
		fail_msg("%s", err);
}

/* Decoding @text must fail with every @needle (NULL-terminated) in the
 * message. */
static void expect_refused(const char *text, ...)
{
	static struct trace_header h;
	struct run_desc d;
	char err[512] = "";
	const char *needle;
	va_list ap;

	memset(&h, 0, sizeof(h));
	h.desc_offset = DESC_OFF;
	snprintf(h.desc, sizeof(h.desc), "%s", text);
	assert_int_equal(run_desc_decode(&h, &d, err, sizeof(err)), -1);
	va_start(ap, text);
	while ((needle = va_arg(ap, const char *)))
		if (!strstr(err, needle))
			fail_msg("expected '%s' in '%s'", needle, err);
	va_end(ap);
}

/* @h's description with @what (a whole line) replaced by @with. */
static const char *edit(const struct trace_header *h, const char *what,
			const char *with)
{
	static char buf[TRACE_DESC_LEN + 256];
	const char *at = strstr(h->desc, what);

	assert_non_null(at);
	snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(at - h->desc), h->desc,
		 with, at + strlen(what));
	return buf;
}

static void test_round_trip(void **state)
{
	static struct trace_header h;
	struct run_desc in, out;
	char err[256];
	int lines = 0;

	for (int kind = 0; kind < 2; kind++) {
		full_desc(&in);
		in.kind = kind;
		if (kind == RUN_KIND_CROSVM_PLUGIN)
			in.sched.mode = VM_SCHED_PARALLEL;
		encode(&in, &h);
		assert_int_equal(run_desc_decode(&h, &out, err, sizeof(err)), 0);
		assert_memory_equal(&in, &out, sizeof(in));
	}
	/* the defaults too, and every policy and mode by its name */
	for (int m = VM_SCHED_PARALLEL; m <= VM_SCHED_STEP; m++)
		for (int p = VM_POLICY_RR; p <= VM_POLICY_PLAN; p++) {
			run_desc_init(&in);
			in.sched.mode = m;
			in.sched.policy = p;
			encode(&in, &h);
			assert_int_equal(run_desc_decode(&h, &out, err,
							 sizeof(err)), 0);
			assert_memory_equal(&in, &out, sizeof(in));
		}
	/* one key a line, the version first */
	assert_true(!strncmp(h.desc, "desc_version=2\nkind=guest\nmode=step\n"
			     "policy=plan\n", 47));
	for (const char *p = h.desc; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, 26);
	assert_non_null(strstr(h.desc, "\nargs=\n"));
	assert_true(!strcmp(h.desc + strlen(h.desc) - 6, "data=\n"));
	full_desc(&in);
	encode(&in, &h);
	assert_non_null(strstr(h.desc, "\nargs=18446744073709551615,0,42\n"));
	assert_non_null(strstr(h.desc, "\ndata=YQAKPWI=\n"));
}

/* A trace of version 1 (one "arg") still reads, as a run whose boot info
 * is version 1's; encoded again it is the same text, so a run taken from
 * it (minimize, explore) replays with the guest memory it recorded. */
static void test_version_1(void **state)
{
	static struct trace_header h, again;
	struct run_desc d;
	char err[256];

	full_desc(&d);
	d.input = (struct vm_guest_input){ .argc = 1, .argv = { 77 } };
	encode(&d, &h);
	strcpy(h.desc, edit(&h, "desc_version=2\n", "desc_version=1\n"));
	strcpy(h.desc, edit(&h, "args=77\n", "arg=77\n"));
	strcpy(h.desc, edit(&h, "data=\n", ""));
	assert_int_equal(run_desc_decode(&h, &d, err, sizeof(err)), 0);
	assert_true(d.input.arg_only);
	assert_int_equal(d.input.argc, 1);
	assert_true(d.input.argv[0] == 77);
	assert_int_equal(d.input.data_len, 0);
	assert_int_equal(d.nr_vcpus, 7);
	encode(&d, &again);
	assert_string_equal(again.desc, h.desc);
	/* each version's keys only */
	expect_refused(edit(&h, "arg=77\n", "args=77\n"),
		       "not a key of this run description version", NULL);
	expect_refused(edit(&h, "arg=77\n", ""), "has no key 'arg'", NULL);
	encode(&d, &h);
	d.input.arg_only = false;
	encode(&d, &again);
	expect_refused(edit(&again, "args=77\n", "arg=77\n"),
		       "not a key of this run description version", NULL);
}

/* The most a description may hold fits the header: every path at its
 * longest, every argument at its widest, the data at its largest. */
static void test_largest_fits(void **state)
{
	static struct trace_header h;
	static struct run_desc in, out;
	char err[256];

	full_desc(&in);
	memset(in.pause_script, 'p', RUN_PATH_LEN - 1);
	memset(in.guest.path, 'g', RUN_PATH_LEN - 1);
	memset(in.guest.from_trace, 'f', RUN_PATH_LEN - 1);
	memset(in.program, 'x', RUN_PATH_LEN - 1);
	in.input.argc = VM_MAX_ARGS;
	for (unsigned i = 0; i < VM_MAX_ARGS; i++)
		in.input.argv[i] = UINT64_MAX - i;
	in.input.data_len = VM_MAX_DATA;
	for (unsigned i = 0; i < VM_MAX_DATA; i++)
		in.input.data[i] = (uint8_t)(i * 131 + 7);
	in.sched.watchdog_ns = in.timeout_ns = in.pause_every_ns = UINT64_MAX;
	in.hold_ns = in.max_trace = in.mem_limit = in.sched.step_budget = UINT64_MAX;
	encode(&in, &h);
	assert_int_equal(run_desc_decode(&h, &out, err, sizeof(err)), 0);
	assert_memory_equal(&in, &out, sizeof(in));
}

static void test_keys_refused(void **state)
{
	static struct trace_header h;
	struct run_desc d;
	static char text[TRACE_DESC_LEN + 64];

	full_desc(&d);
	encode(&d, &h);
	/* unknown: named with its offset (right after the last line) */
	snprintf(text, sizeof(text), "%scheckpoint=1\n", h.desc);
	snprintf(text + strlen(text) + 1, 64, "offset %zu:",
		 DESC_OFF + strlen(h.desc));
	expect_refused(text, "'checkpoint=1'", text + strlen(text) + 1,
		       "unknown key", NULL);
	/* given twice */
	snprintf(text, sizeof(text), "%svcpus=7\n", h.desc);
	expect_refused(text, "'vcpus=7'", "given twice", NULL);
	/* missing */
	expect_refused(edit(&h, "lossy=1\n", ""), "has no key 'lossy'",
		       "offset 32", NULL);
	/* the version: first, and this one */
	expect_refused(edit(&h, "desc_version=2\n", "desc_version=3\n"),
		       "re-record", "offset 32", NULL);
	expect_refused(edit(&h, "desc_version=2\n", "desc_version=0\n"),
		       "re-record", "offset 32", NULL);
	expect_refused(edit(&h, "desc_version=2\n", ""),
		       "must start with desc_version", NULL);
	expect_refused("", "must start with desc_version", NULL);
	/* every line ends with a newline; no line without '=' */
	text[0] = 0;
	snprintf(text, sizeof(text), "%.*s", (int)strlen(h.desc) - 1, h.desc);
	expect_refused(text, "no newline at its end", NULL);
	expect_refused(edit(&h, "lossy=1\n", "lossy\n"), "not key=value", NULL);
}

static void test_values_refused(void **state)
{
	static const struct { const char *line, *with, *why; } bad[] = {
		{ "vcpus=7\n", "vcpus=seven\n", "malformed value" },
		{ "vcpus=7\n", "vcpus=07\n", "malformed value" },
		{ "vcpus=7\n", "vcpus= 7\n", "malformed value" },
		{ "vcpus=7\n", "vcpus=-1\n", "malformed value" },
		{ "vcpus=7\n", "vcpus=4294967296\n", "malformed value" },
		{ "seed=18364758544493064720\n", "seed=18446744073709551616\n",
		  "malformed value" },
		{ "lossy=1\n", "lossy=2\n", "malformed value" },
		{ "mode=step\n", "mode=Step\n", "malformed value" },
		{ "policy=pct\n", "policy=pct:3\n", "malformed value" },
		{ "kind=guest\n", "kind=qemu\n", "malformed value" },
		{ "guest_sha256=", "guest_sha256=XY", "malformed value" },
		{ "vcpus=7\n", "vcpus=0\n", "0 VCPUs" },
		{ "vcpus=7\n", "vcpus=5000\n", "5000 VCPUs" },
		{ "pct_depth=3\n", "pct_depth=65\n", "PCT depth 65" },
		{ "mem=100663296\n", "mem=0\n", "without memory" },
		{ "kind=guest\n", "kind=crosvm-plugin\n", "not in parallel" },
		{ ",0,42\n", ",0,,42\n", "malformed value" },
		{ ",0,42\n", ",0,42,\n", "malformed value" },
		{ "args=1", "args=,1", "malformed value" },
		{ ",0,42\n", ",00,42\n", "malformed value" },
		{ ",0,42\n", ",0,42,1,2,3,4,5,6,7,8,9,10,11,12,13,14\n",
		  "malformed value" },   /* 17 */
		{ "data=YQAKPWI=\n", "data=YQAKPWI\n", "malformed value" },
		{ "data=YQAKPWI=\n", "data=YQAKPWJ=\n", "malformed value" },
		{ "data=YQAKPWI=\n", "data=YQ==PWI=\n", "malformed value" },
		{ "data=YQAKPWI=\n", "data=YQAKP===\n", "malformed value" },
		{ "data=YQAKPWI=\n", "data=YQAK PWI=\n", "malformed value" },
	};
	static struct trace_header h;
	struct run_desc d;

	full_desc(&d);
	encode(&d, &h);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_refused(edit(&h, bad[i].line, bad[i].with), bad[i].why,
			       "offset", NULL);
	/* a hostile key reaches the message escaped */
	expect_refused(edit(&h, "lossy=1\n", "\033[2J=1\n"), "'\\x1b[2J=1'",
		       NULL);
}

static void test_encode_refuses(void **state)
{
	static struct trace_header h;
	struct run_desc d;
	char err[256];

	full_desc(&d);
	strcpy(d.guest.path, "a\nvcpus=1");
	assert_int_equal(run_desc_encode(&d, &h, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "holds a newline"));
	full_desc(&d);
	d.sched.policy = 9;
	assert_int_equal(run_desc_encode(&d, &h, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "policy: value out of range"));
	full_desc(&d);
	d.input.arg_only = true;
	assert_int_equal(run_desc_encode(&d, &h, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "version 1 guest input"));
	full_desc(&d);
	d.input.argc = VM_MAX_ARGS + 1;
	assert_int_equal(run_desc_encode(&d, &h, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "at most 16"));
}

/* The VM a description runs: every field the VMM takes. */
static void test_vm_config(void **state)
{
	struct vm_config cfg;
	struct run_desc d;

	full_desc(&d);
	run_desc_vm_config(&d, &cfg);
	assert_int_equal(cfg.nr_vcpus, 7);
	assert_int_equal(cfg.mem_size, 96ull << 20);
	assert_true(vm_input_equal(&cfg.input, &d.input));
	assert_memory_equal(&cfg.sched, &d.sched, sizeof(d.sched));
	assert_true(cfg.controlled);
	assert_null(cfg.trace);
	d.pause_every_ns = 0;
	d.pause_script[0] = 0;
	run_desc_vm_config(&d, &cfg);
	assert_false(cfg.controlled);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_version_1),
		cmocka_unit_test(test_largest_fits),
		cmocka_unit_test(test_keys_refused),
		cmocka_unit_test(test_values_refused),
		cmocka_unit_test(test_encode_refuses),
		cmocka_unit_test(test_vm_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
