/* Fault injection: hostile guests (tests/guests/hostile.c), a full disk, a
 * file size limit, the trace size limit and SIGKILL at random moments.
 * Whatever happens, vcprr must not crash, must end with a verdict and must
 * leave a trace that reads: closed with VM_END after a guest's misdeeds,
 * a clean truncated prefix after a write failure or a kill. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/helpers/testutil.h"
#include "traces/trace.h"

#define GARBAGE_SEEDS 40
#define KILL_TRIALS   200

static char dir[64], trace[96];

/* What a trace holds, read to its end with the reader. */
struct seen {
	uint64_t events;
	bool truncated;
	struct trace_event last;
	char error[512];          /* the first VCPU_ERROR's message */
	uint32_t types;           /* bit mask of the event types seen */
};

/* Reads @path; fails the test on anything but a clean read (dense seqs). */
static void read_trace(const char *path, struct seen *s)
{
	struct trace_reader *r;
	struct trace_event ev;
	const uint8_t *pl;
	char err[512];
	int rc;

	memset(s, 0, sizeof(*s));
	r = trace_reader_open(path, err, sizeof(err));
	if (!r)
		fail_msg("%s", err);
	while ((rc = trace_reader_next(r, &ev, &pl)) == 1) {
		assert_int_equal(ev.seq, s->events);
		s->events++;
		s->last = ev;
		s->types |= 1u << (ev.type & 31);
		if (ev.type == TEV_VCPU_ERROR && !s->error[0])
			snprintf(s->error, sizeof(s->error), "%.*s",
				 (int)ev.payload_len, (const char *)pl);
	}
	if (rc < 0)
		fail_msg("%s: %s", path, trace_reader_error(r));
	s->truncated = trace_reader_truncated(r);
	trace_reader_close(r);
}

/* The end reason a recorded run's exit status stands for. */
static uint64_t reason_of(int status)
{
	switch (status) {
	case 124: return TEND_GUEST_ASSERT;
	case 125: return TEND_GUEST_FAULT;
	case 126: return TEND_VMM_ERROR;
	default: return status > 128 ? TEND_SIGNAL : TEND_GUEST_EXIT;
	}
}

/* Records hostile.elf with --arg @arg (and @extra options), checks that the
 * run ended with a verdict and a closed trace, and returns its status.  A
 * guest may exit with any code (garbage code can call exit), but not with
 * one of vcprr's own (126) or a signal's. */
static int record_hostile(uint64_t arg, const char *extra, struct seen *s,
			  char **out)
{
	int st = vcprr_sh(out, "$V record -f -o %s %s --arg %llu --timeout 3s %s "
			  ">/dev/null </dev/null", trace, guest_path("hostile"),
			  (unsigned long long)arg, extra);

	if (st > 125)
		fail_msg("hostile --arg %#llx %s: exit %d:\n%s",
			 (unsigned long long)arg, extra, st, out ? *out : "");
	read_trace(trace, s);
	assert_false(s->truncated);
	assert_int_equal(s->last.type, TEV_VM_END);
	assert_int_equal(s->last.a0, reason_of(st));
	return st;
}

/* The recorded run replays with the same ending. */
static void replays_same(void)
{
	char *out;
	int st = vcprr_sh(&out, "$V replay --timeout 30s %s", trace);

	if (st)
		fail_msg("replay of %s exited %d:\n%s", trace, st, out);
	assert_non_null(strstr(out, ": same ("));
	free(out);
}

/* A hostile guest ends as a guest fault whose message contains @want. */
static void expect_fault(uint64_t arg, const char *extra, const char *want)
{
	struct seen s;
	char *out;

	assert_int_equal(record_hostile(arg, extra, &s, &out), 125);
	if (!strstr(s.error, want) || !strstr(out, want))
		fail_msg("hostile --arg %#llx: expected '%s' in the trace's "
			 "VCPU_ERROR and on stderr; got '%s' / '%s'",
			 (unsigned long long)arg, want, s.error, out);
	free(out);
	replays_same();
}

#define ATTACK(a, p) ((uint64_t)(p) << 8 | (a))

static void test_unmapped_pio_every_size(void **state)
{
	static const unsigned sizes[] = { 1, 2, 4 };
	char want[96];

	SKIP_WITHOUT_KVM();
	for (unsigned read = 0; read < 2; read++)
		for (unsigned i = 0; i < 3; i++) {
			snprintf(want, sizeof(want), "PIO %s of size %u to "
				 "unmapped port 0x1234", read ? "read" : "write",
				 sizes[i]);
			expect_fault(ATTACK(1, i | read << 2), "", want);
		}
	/* String I/O stops at its first element. */
	expect_fault(ATTACK(1, 8), "", "PIO write of size 1 to unmapped port");
	expect_fault(ATTACK(1, 12), "--sched serial",
		     "PIO read of size 1 to unmapped port");
}

static void test_unmapped_mmio_every_size(void **state)
{
	char want[96];

	SKIP_WITHOUT_KVM();
	for (unsigned p = 0; p < 16; p++) {
		snprintf(want, sizeof(want), "MMIO %s of size %u to unmapped "
			 "address %s", p & 4 ? "read" : "write", 1u << (p & 3),
			 p & 8 ? "0x4010000" : "0xe0000000");
		expect_fault(ATTACK(2, p), p & 1 ? "--sched serial" : "", want);
	}
	expect_fault(ATTACK(2, 16), "", "MMIO write of size 1 to unmapped");
	expect_fault(ATTACK(2, 20), "", "MMIO read of size 1 to unmapped");
}

static void test_page_tables_overwritten(void **state)
{
	SKIP_WITHOUT_KVM();
	for (unsigned p = 0; p < 4; p++)
		expect_fault(ATTACK(3, p), "", "triple fault");
}

static void test_hostile_hypercalls(void **state)
{
	struct seen s;

	SKIP_WITHOUT_KVM();
	expect_fault(ATTACK(4, 0), "", "hypercall block at 0xfff00000 is outside");
	expect_fault(ATTACK(4, 1), "", "misaligned");
	expect_fault(ATTACK(4, 2), "", "unknown hypercall 30583");
	expect_fault(ATTACK(4, 3), "", "log hypercall: text at 0xf0000000");
	expect_fault(ATTACK(4, 5), "", "write hypercall: buffer at 0x100000 "
		     "(+1073741824) is outside guest memory or longer than 4096");
	expect_fault(ATTACK(4, 7), "", "hypercall port: read of size 4");
	expect_fault(ATTACK(4, 8), "", "hypercall port: write of size 1");
	/* A log of 1 GiB is cut to the longest text a hypercall may pass. */
	assert_int_equal(record_hostile(ATTACK(4, 4), "", &s, NULL), 0);
	assert_true(s.types & 1u << TEV_GUEST_LOG);
	/* Strings that run to the end of guest memory end there. */
	assert_int_equal(record_hostile(ATTACK(4, 6), "--sched serial", &s, NULL),
			 124);
	replays_same();
}

static void test_instructions_without_an_answer(void **state)
{
	SKIP_WITHOUT_KVM();
	expect_fault(ATTACK(5, 0), "", "triple fault");  /* rdmsr: #GP */
	expect_fault(ATTACK(5, 1), "", "triple fault");  /* wrmsr EFER */
	expect_fault(ATTACK(5, 3), "--vcpus 3", "every VCPU is halted");
	expect_fault(ATTACK(5, 4), "", "triple fault");  /* cr3 = garbage */
	expect_fault(ATTACK(5, 5), "", "triple fault");  /* bad selector */
	/* int3 with no IDT: whatever KVM says, it is a clear fault. */
	expect_fault(ATTACK(5, 2), "", "vcpu 0: ");
}

/* Garbage code: any verdict but a crash or a hang of vcprr; serial runs
 * replay exactly. */
static void test_garbage_code(void **state)
{
	const char *seed_env = getenv("VCPRR_HOSTILE_SEED");
	uint64_t base = seed_env ? strtoull(seed_env, NULL, 0) : 1;
	struct seen s;

	SKIP_WITHOUT_KVM();
	printf("garbage seeds %llu..%llu (VCPRR_HOSTILE_SEED)\n",
	       (unsigned long long)base, (unsigned long long)base + GARBAGE_SEEDS - 1);
	for (uint64_t i = 0; i < GARBAGE_SEEDS; i++) {
		bool serial = i % 2;
		record_hostile(ATTACK(0, base + i), serial ?
			       "--sched serial --timeout 300ms" :
			       "--vcpus 2 --timeout 300ms", &s, NULL);
		if (serial)
			replays_same();
	}
}

/* A fault while another VCPU is paused, and a paused VCPU resumed into a
 * fault: the run ends, nobody waits forever, the trace is closed. */
static void test_faults_around_pauses(void **state)
{
	char script[96], opts[160];
	struct seen s;
	FILE *f;

	SKIP_WITHOUT_KVM();
	snprintf(script, sizeof(script), "%s/late.script", dir);
	f = fopen(script, "w");
	assert_non_null(f);
	fputs("pause 0 0x77\nwait 0\nsleep 10s\n", f);
	fclose(f);
	snprintf(opts, sizeof(opts), "--vcpus 2 --pause-script %s", script);
	assert_int_equal(record_hostile(ATTACK(6, 20), opts, &s, NULL), 125);
	assert_true(s.types & 1u << TEV_PAUSE_TAKEN);
	assert_non_null(strstr(s.error, "vcpu 1: triple fault"));

	f = fopen(script, "w");
	assert_non_null(f);
	fputs("pause 0 0x78\nwait 0\nset 0 rip 0x7fff0000\nresume 0\nsleep 10s\n", f);
	fclose(f);
	assert_int_equal(record_hostile(ATTACK(6, 1000000), opts, &s, NULL), 125);
	assert_true(s.types & 1u << TEV_RESUMED);
	assert_non_null(strstr(s.error, "vcpu 0: "));
	unlink(script);
}

/* Recording into a 256 KiB tmpfs (a private mount namespace, so no root is
 * needed where user namespaces are allowed): the run stops with a clear
 * error and the trace keeps a readable prefix. */
static void test_disk_full(void **state)
{
	struct seen s;
	char *out;
	int st;

	SKIP_WITHOUT_KVM();
	st = vcprr_sh(&out, "unshare -rm sh -c 'mkdir -p %s/small && "
		      "mount -t tmpfs -o size=256k tmpfs %s/small || exit 99; "
		      "\"$0\" record -f -o %s/small/t.trace %s --vcpus 2; rc=$?; "
		      "cp %s/small/t.trace %s; exit $rc' \"$V\" 2>&1", dir, dir,
		      dir, guest_path("pio"), dir, trace);
	if (st == 99) {
		printf("SKIP: cannot mount a tmpfs in a user namespace:\n%s", out);
		free(out);
		skip();
	}
	assert_int_equal(st, 126);
	assert_non_null(strstr(out, "recording stopped: write to "));
	assert_non_null(strstr(out, "No space left on device"));
	assert_non_null(strstr(out, "every event before the failure is kept"));
	free(out);
	read_trace(trace, &s);
	assert_true(s.truncated);
	assert_true(s.events > 1000);
	replays_same();
}

/* ulimit -f: writes fail with EFBIG (SIGXFSZ is ignored), same outcome. */
static void test_file_size_limit(void **state)
{
	struct stat st;
	struct seen s;
	char *out;

	SKIP_WITHOUT_KVM();
	assert_int_equal(vcprr_sh(&out, "ulimit -f 128 && $V record -f -o %s %s "
				  "--vcpus 2", trace, guest_path("pio")), 126);
	assert_non_null(strstr(out, "File too large"));
	free(out);
	read_trace(trace, &s);
	assert_true(s.truncated);
	assert_true(s.events > 1000);

	assert_int_equal(vcprr_sh(&out, "$V record -f -o %s %s --max-trace 64K",
				  trace, guest_path("pio")), 126);
	assert_non_null(strstr(out, "reached its size limit of 65536 bytes"));
	free(out);
	read_trace(trace, &s);
	assert_true(s.truncated);
	assert_true(s.events > 1000);
	assert_int_equal(stat(trace, &st), 0);
	assert_true(st.st_size <= 65536);
}

/* Waits until @path exists (the recording has started), up to 20 s. */
static bool wait_for_file(const char *path)
{
	for (int i = 0; i < 100000; i++) {
		if (!access(path, F_OK))
			return true;
		usleep(200);
	}
	return false;
}

/* SIGKILL at a random moment, many times: never an unreadable trace.
 * Before the run starts there is no trace at all (it appears with its
 * header once the VM runs); after, a readable prefix.  Every other trial
 * kills at a random moment after the trace appeared, so that mid-run
 * kills are tested however slowly the recorder starts (ASan, a loaded
 * machine). */
static void test_sigkill_trials(void **state)
{
	static const char *const runs[][3] = {
		{ "pio", "--vcpus=2", "--arg=200000" },
		{ "counter", "--vcpus=3", "--pause-every=1ms" },
		{ "hello", "--vcpus=4", "--sched=serial" },
	};
	uint64_t seed = (uint64_t)time(NULL), none = 0, events = 0;

	SKIP_WITHOUT_KVM();
	printf("seed %llu\n", (unsigned long long)seed);
	for (int k = 0; k < KILL_TRIALS; k++) {
		const char *const *run = runs[k % 3];
		struct seen s;
		int st;
		pid_t pid;

		unlink(trace);
		pid = vcprr_spawn((const char *[]){ "record", "-f", "-o", trace,
					   guest_path(run[0]), run[1], run[2], NULL });
		assert_true(pid > 0);
		if (k % 2 && !wait_for_file(trace)) {
			kill(pid, SIGKILL);
			fail_msg("%s: no trace 20 s after the recorder started", trace);
		}
		usleep((useconds_t)(test_rand(&seed) % 60000));
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, &st, 0), pid);
		if (access(trace, F_OK)) {
			none++;  /* killed before the trace existed */
			continue;
		}
		read_trace(trace, &s);
		if (!s.truncated)  /* the run ended before the kill */
			assert_int_equal(s.last.type, TEV_VM_END);
		events += s.events;
	}
	printf("%d kills: %llu before the trace existed, %llu events read\n",
	       KILL_TRIALS, (unsigned long long)none,
	       (unsigned long long)events);
	assert_true(none <= KILL_TRIALS / 2);
}

static int setup(void **state)
{
	if (scratch_dir(dir, sizeof(dir), "faults"))
		return -1;
	snprintf(trace, sizeof(trace), "%s/t.trace", dir);
	return 0;
}

static int teardown(void **state)
{
	return scratch_dir_remove(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unmapped_pio_every_size),
		cmocka_unit_test(test_unmapped_mmio_every_size),
		cmocka_unit_test(test_page_tables_overwritten),
		cmocka_unit_test(test_hostile_hypercalls),
		cmocka_unit_test(test_instructions_without_an_answer),
		cmocka_unit_test(test_garbage_code),
		cmocka_unit_test(test_faults_around_pauses),
		cmocka_unit_test(test_disk_full),
		cmocka_unit_test(test_file_size_limit),
		cmocka_unit_test(test_sigkill_trials),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
