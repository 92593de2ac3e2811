/* The guest's input from the command line: several --arg and a --data
 * file reach the guest (tests/guests/args.c prints what it reads), travel
 * in the trace so that replay, explore's traces and minimize need the file
 * no more, make another run when they change, and bad ones are refused
 * with the option and the file named. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/helpers/testutil.h"
#include "vmm/guest/abi.h"
#include "vmm/vm.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	return scratch_dir(dir, sizeof(dir), "guest-args");
}

static int teardown(void **state)
{
	(void)state;
	return scratch_dir_remove(dir);
}

/* DIR/NAME holding @len bytes of @bytes. */
static void write_file(const char *name, const void *bytes, size_t len)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(bytes, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static uint64_t fnv1a(const void *bytes, size_t n)
{
	const uint8_t *p = bytes;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

/* The line args.elf prints about @bytes. */
static const char *data_line(const void *bytes, size_t n, const char *first)
{
	static char line[160];

	snprintf(line, sizeof(line), "data %zu bytes, fnv 0x%llx, first line "
		 "'%s'", n, (unsigned long long)fnv1a(bytes, n), first);
	return line;
}

static void expect_in(const char *out, const char *what, int st)
{
	if (!strstr(out, what))
		fail_msg("expected '%s' (status %d) in: %s", what, st, out);
}

/* args.elf by an absolute path, for commands run in the scratch folder
 * (where $V is made absolute by IN_DIR too). */
static const char *args_elf(void)
{
	static char path[4096];

	if (!realpath(guest_path("args"), path))
		fail_msg("no %s", guest_path("args"));
	return path;
}

#define IN_DIR "V=$(readlink -f $V) && cd %s && "

static const char blob[] = "first line\n\0binary\xff tail";

/* `vcprr @cmd args.elf @opts`, in the scratch folder, must exit 0 and
 * print each of the NULL-terminated lines that follow. */
static void expect_output(const char *cmd, const char *opts, ...)
{
	char *out = NULL;
	const char *want;
	va_list ap;
	int st = vcprr_sh(&out, IN_DIR "$V %s %s %s 2>&1", dir, cmd, args_elf(),
			  opts);

	if (st)
		fail_msg("%s %s: status %d: %s", cmd, opts, st, out);
	va_start(ap, opts);
	while ((want = va_arg(ap, const char *)))
		expect_in(out, want, st);
	va_end(ap);
	free(out);
}

static void test_input_reaches_every_vcpu(void **state)
{
	static uint8_t big[2048];

	(void)state;
	SKIP_WITHOUT_KVM();
	write_file("d.bin", blob, sizeof(blob));
	expect_output("run", "--arg 0 --arg 7 --arg 0xffffffffffffffff "
		      "--data d.bin -n 3", "argc 3\n", "argv[0] 0\n",
		      "argv[1] 7\n", "argv[2] 18446744073709551615\n",
		      data_line(blob, sizeof(blob), "first line"), NULL);
	/* without any: nothing, and vcprr_arg() 0 as before */
	expect_output("run", "", "argc 0\n", data_line("", 0, ""), NULL);
	/* the largest data there may be */
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7 + 'A');
	big[0] = '\n';
	write_file("big.bin", big, sizeof(big));
	expect_output("run", "--data big.bin", data_line(big, sizeof(big), ""),
		      NULL);
}

/* Recorded, the run replays "same"; with the data file gone, still. */
static void test_trace_carries_input(void **state)
{
	char *out = NULL;
	int st;

	(void)state;
	SKIP_WITHOUT_KVM();
	write_file("r.bin", blob, sizeof(blob));
	expect_output("record -o r.trace", "--arg 5 --arg 6 --data r.bin -n 2 "
		      "--sched serial --seed 3", "argv[1] 6\n",
		      data_line(blob, sizeof(blob), "first line"), NULL);
	for (int gone = 0; gone < 2; gone++) {
		st = vcprr_sh(&out, IN_DIR "%s $V replay r.trace 2>&1", dir,
			      gone ? "rm r.bin &&" : "");
		if (st != 0 || !strstr(out, "replay: r.trace: same (serial"))
			fail_msg("replay (data file %s): status %d: %s",
				 gone ? "gone" : "there", st, out);
		free(out);
	}
}

/* The digest of the guest memory a trace ended with (from inspect). */
static unsigned long long end_digest(const char *trace)
{
	char *out = NULL, *at;
	unsigned long long d = 0;

	vcprr_sh(&out, "$V inspect %s/%s 2>&1", dir, trace);
	at = strstr(out, "memory digest 0x");
	if (!at)
		fail_msg("no digest: %s", out);
	d = strtoull(at + 16, NULL, 16);
	free(out);
	return d;
}

/* Another byte of data, or another argument, is another run. */
static void test_changed_input_is_another_run(void **state)
{
	static const char *const runs[] = {
		"--arg 5 --data a.bin", "--arg 5 --data b.bin",
		"--arg 5 --arg 1 --data a.bin", "--arg 5 --data a.bin",
	};
	unsigned long long digest[4];
	char cmd[64], opts[128];

	(void)state;
	SKIP_WITHOUT_KVM();
	write_file("a.bin", "same length A", 13);
	write_file("b.bin", "same length B", 13);
	for (int i = 0; i < 4; i++) {
		snprintf(cmd, sizeof(cmd), "record -f -o c%d.trace", i);
		snprintf(opts, sizeof(opts), "%s --sched serial --seed 1", runs[i]);
		expect_output(cmd, opts, NULL);
		snprintf(cmd, sizeof(cmd), "c%d.trace", i);
		digest[i] = end_digest(cmd);
	}
	assert_true(digest[0] != digest[1]);
	assert_true(digest[0] != digest[2]);
	assert_true(digest[0] == digest[3]);
}

/* Each bad input names its option and value or file, exits 2, and leaves
 * no trace behind. */
static void test_bad_input_refused(void **state)
{
	static const struct { const char *opts, *why; } bad[] = {
		{ "--data nothere.bin", "--data 'nothere.bin': cannot open: "
		  "No such file or directory" },
		{ "--data .", "--data '.': cannot read: Is a directory" },
		{ "--data big.bin", "--data 'big.bin': larger than the 2048 bytes" },
		{ "--data", "--data needs a value" },
		{ "--arg 12x", "--arg '12x': expected a number" },
		{ "--arg -1", "--arg '-1': expected a number" },
		{ "--arg 1 --arg 2 --arg 3 --arg 4 --arg 5 --arg 6 --arg 7 --arg 8 "
		  "--arg 9 --arg 10 --arg 11 --arg 12 --arg 13 --arg 14 --arg 15 "
		  "--arg 16 --arg 17", "--arg '17': a guest takes at most 16" },
	};
	static const char *const cmds[] = {
		"run", "record -o x.trace", "explore -o xdir", "analyze --races",
		"debug",
	};
	static uint8_t big[2049];
	char *out = NULL;

	(void)state;
	write_file("big.bin", big, sizeof(big));
	for (size_t c = 0; c < sizeof(cmds) / sizeof(*cmds); c++)
		for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
			int st = vcprr_sh(&out, IN_DIR "$V %s %s %s 2>&1", dir,
					  cmds[c], args_elf(), bad[i].opts);

			if (st != 2 || !strstr(out, bad[i].why))
				fail_msg("%s %s: status %d: %s", cmds[c],
					 bad[i].opts, st, out);
			free(out);
		}
	assert_int_equal(vcprr_sh(NULL, "test ! -e %s/x.trace && test ! -e "
				  "%s/xdir", dir, dir), 0);
	/* record -o never replaces the data it reads */
	write_file("in.bin", "keep me", 7);
	assert_int_equal(vcprr_sh(&out, IN_DIR "$V record -f -o in.bin %s "
				  "--data in.bin 2>&1", dir, args_elf()), 2);
	expect_in(out, "in.bin is an input", 2);
	free(out);
	assert_int_equal(vcprr_sh(NULL, "cmp -s %s/in.bin - <<EOF\nkeep me"
				  "\nEOF\ntest $(wc -c <%s/in.bin) = 7", dir, dir), 0);
}

/* explore's failing run, with --data, is kept as a trace that replays
 * and minimizes after the file is gone, and its rerun command passes
 * the same input. */
static void test_explore_and_minimize_without_file(void **state)
{
	char *out = NULL;
	int st;

	(void)state;
	SKIP_WITHOUT_KVM();
	write_file("e.bin", blob, sizeof(blob));
	st = vcprr_sh(&out, IN_DIR "$V explore %s -o ex --arg 1 --arg 4 "
		      "--data e.bin --runs 2 --seed 1 -n 2 --pauses 0 "
		      "--policy random 2>&1",
		      dir, args_elf());
	if (st != 1 || !strstr(out, "--arg 1 --arg 4 --data e.bin"))
		fail_msg("explore: status %d: %s", st, out);
	free(out);
	st = vcprr_sh(&out, IN_DIR "rm e.bin && t=$(ls ex/fail-*.trace | "
		      "head -1) && $V replay $t 2>&1 && $V minimize $t -o m.trace "
		      "2>&1 && $V replay m.trace 2>&1", dir);
	if (st != 0 || !strstr(out, "replay: m.trace: same"))
		fail_msg("status %d: %s", st, out);
	free(out);
	/* the minimized trace holds the arguments and the data */
	assert_int_equal(vcprr_sh(NULL, "grep -a -q '^args=1,4$' %s/m.trace && "
				  "grep -a -q '^data=Zmlyc3QgbGluZQoAYmluYXJ5/yB0YWlsAA==$'"
				  " %s/m.trace", dir, dir), 0);
}

/* Shards of one explore had the same input: explore --merge refuses
 * shards whose --data or --arg differ, and merges those that agree. */
static void test_merge_checks_input(void **state)
{
	static const struct { const char *b_opts, *why; } c[] = {
		{ "--arg 0 --arg 2 --data a.bin", NULL },
		{ "--arg 0 --arg 2 --data b.bin", "different --data" },
		{ "--arg 0 --arg 3 --data a.bin", "first differing --arg" },
		{ "--arg 0 --data a.bin", "numbers of --arg" },
	};
	char *out = NULL;
	int st;

	(void)state;
	SKIP_WITHOUT_KVM();
	write_file("a.bin", "shard input A", 13);
	write_file("b.bin", "shard input B", 13);
	for (size_t i = 0; i < sizeof(c) / sizeof(*c); i++) {
		st = vcprr_sh(&out, IN_DIR "rm -rf s1 s2 m && "
			      "$V explore %s --arg 0 --arg 2 --data a.bin --runs 2 "
			      "--seed 1 --shard 1/2 -o s1 >/dev/null 2>&1 && "
			      "$V explore %s %s --runs 2 --seed 1 --shard 2/2 -o s2 "
			      ">/dev/null 2>&1 && $V explore --merge s1 s2 -o m "
			      "2>&1", dir, args_elf(), args_elf(), c[i].b_opts);
		if (c[i].why ? st == 0 || !strstr(out, c[i].why) : st != 0)
			fail_msg("%s: status %d: %s", c[i].b_opts, st, out);
		free(out);
	}
}

/* The boot info page and the data as the VMM leaves them before the
 * start: with the input of a version 1 trace (arg_only), byte for byte
 * what vcprr wrote then (nr_vcpus, mem_size, arg, zeros), so that such a
 * trace replays with the guest memory it recorded; otherwise every
 * field. */
static void test_boot_info_layouts(void **state)
{
	struct vm_config cfg = { .nr_vcpus = 2, .input = VM_INPUT_ARG(3000) };
	static const uint8_t zero[4096];
	const struct vcprr_boot_info *b;
	const uint8_t *page, *data;
	char err[512];
	struct vm *vm;

	(void)state;
	SKIP_WITHOUT_KVM();
	for (int old = 0; old < 2; old++) {
		cfg.input.arg_only = old;
		if (!old) {
			cfg.input.argc = 2;
			cfg.input.argv[1] = 9;
			cfg.input.data_len = 3;
			memcpy(cfg.input.data, "xyz", 3);
		} else {
			cfg.input.argc = 1;
			cfg.input.argv[1] = 0;
			cfg.input.data_len = 0;
		}
		vm = vm_create(&cfg, guest_path("args"), err, sizeof(err));
		if (!vm)
			fail_msg("%s", err);
		page = vm_guest_ptr(vm, VCPRR_BOOT_INFO_ADDR, 4096);
		data = vm_guest_ptr(vm, VCPRR_DATA_ADDR, VCPRR_DATA_MAX);
		assert_non_null(page);
		assert_non_null(data);
		b = (const void *)page;
		assert_true(b->nr_vcpus == 2 && b->mem_size == VM_DEFAULT_MEM &&
			    b->arg == 3000);
		if (old) {
			assert_memory_equal(page + 24, zero, 4096 - 24);
			assert_memory_equal(data, zero, VCPRR_DATA_MAX);
		} else {
			assert_true(b->argc == 2 && b->argv[0] == 3000 &&
				    b->argv[1] == 9 && b->argv[2] == 0 &&
				    b->data_len == 3);
			assert_memory_equal(data, "xyz\0", 4);
		}
		vm_destroy(vm);
	}
}

/* A trace of run description version 1 (one "arg=3000") replays the
 * same with its own guest image, final memory included: the boot info is
 * written as that vcprr wrote it. */
static void test_version_1_trace_replays(void **state)
{
	char *out = NULL;
	int st;

	(void)state;
	SKIP_WITHOUT_KVM();
	st = vcprr_sh(&out, "$V replay --guest tests/compat/desc-v1-pio.elf "
		      "tests/compat/desc-v1-pio-serial-random.trace 2>&1");
	if (st != 0 || !strstr(out, ": same (serial, 6288 events)"))
		fail_msg("status %d: %s", st, out);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_boot_info_layouts),
		cmocka_unit_test(test_version_1_trace_replays),
		cmocka_unit_test(test_input_reaches_every_vcpu),
		cmocka_unit_test(test_trace_carries_input),
		cmocka_unit_test(test_changed_input_is_another_run),
		cmocka_unit_test(test_bad_input_refused),
		cmocka_unit_test(test_merge_checks_input),
		cmocka_unit_test(test_explore_and_minimize_without_file),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
