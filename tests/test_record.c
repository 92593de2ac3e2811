/* vcprr record end to end: real runs, real trace files read back with the
 * reader, every kind of ending closed properly. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/helpers/testutil.h"
#include "traces/sha256.h"
#include "traces/trace.h"
#include "vmm/elf.h"
#include "vmm/run-desc.h"

#define MAX_EVENTS 200000

struct rec {
	struct trace_header h;
	struct run_desc d;
	struct trace_event *ev;
	char **payload;
	int n;
	int truncated;
};

static char trace_path[64];

static struct rec *load(const char *path)
{
	struct rec *r = calloc(1, sizeof(*r));
	char err[512];
	struct trace_reader *tr = trace_reader_open(path, err, sizeof(err));
	const uint8_t *p;
	int rc;

	if (!tr)
		fail_msg("%s", err);
	r->h = *trace_reader_header(tr);
	if (run_desc_decode(&r->h, &r->d, err, sizeof(err)))
		fail_msg("%s", err);
	r->ev = calloc(MAX_EVENTS, sizeof(*r->ev));
	r->payload = calloc(MAX_EVENTS, sizeof(char *));
	while (r->n < MAX_EVENTS && (rc = trace_reader_next(tr, &r->ev[r->n], &p)) == 1) {
		r->payload[r->n] = calloc(1, r->ev[r->n].payload_len + 1);
		memcpy(r->payload[r->n], p, r->ev[r->n].payload_len);
		r->n++;
	}
	if (rc < 0)
		fail_msg("%s", trace_reader_error(tr));
	r->truncated = trace_reader_truncated(tr);
	trace_reader_close(tr);
	return r;
}

static void free_rec(struct rec *r)
{
	for (int i = 0; i < r->n; i++)
		free(r->payload[i]);
	free(r->payload);
	free(r->ev);
	free(r);
}

static int count(const struct rec *r, uint32_t type, uint32_t vcpu)
{
	int n = 0;

	for (int i = 0; i < r->n; i++)
		n += r->ev[i].type == type && (vcpu == ~0u - 1 || r->ev[i].vcpu == vcpu);
	return n;
}
#define ANY (~0u - 1)

static const struct trace_event *last(const struct rec *r)
{
	return &r->ev[r->n - 1];
}

static int setup(void **state)
{
	snprintf(trace_path, sizeof(trace_path), "/tmp/vcprr-rec-%d.trace", getpid());
	return 0;
}

static int teardown(void **state)
{
	unlink(trace_path);
	return 0;
}

static void test_hello_trace(void **state)
{
	SKIP_WITHOUT_KVM();
	uint8_t *img, hash[32];
	size_t len;
	char err[256], line[64];

	assert_int_equal(vcprr_sh(NULL, "$V record -f -o %s %s --vcpus 4 >/dev/null", trace_path,
				   guest_path("hello")), 0);
	struct rec *r = load(trace_path);

	assert_false(r->truncated);
	assert_int_equal(r->d.sched.mode, VM_SCHED_PARALLEL);
	assert_int_equal(r->d.nr_vcpus, 4);
	assert_int_equal(r->d.mem_size, 64 << 20);
	assert_non_null(strstr(r->h.desc, "\nvcpus=4\n"));
	assert_string_equal(r->d.guest.path, guest_path("hello"));
	assert_int_equal(elf_read_file(guest_path("hello"), &img, &len, err, sizeof(err)), 0);
	sha256(img, len, hash);
	free(img);
	assert_memory_equal(r->d.guest.sha256, hash, 32);

	assert_int_equal(r->ev[0].type, TEV_VM_START);
	assert_int_equal(r->ev[0].a0, 4);
	for (int i = 1; i < r->n; i++)
		assert_int_equal(r->ev[i].seq, r->ev[i - 1].seq + 1);
	for (unsigned v = 0; v < 4; v++) {
		assert_int_equal(count(r, TEV_VCPU_START, v), 1);
		assert_int_equal(count(r, TEV_VCPU_EXIT, v), 1);
		assert_int_equal(count(r, TEV_CONSOLE, v), 1);
		assert_true(count(r, TEV_EXIT_PIO, v) >= 3);  /* nr_vcpus, write, done */
	}
	for (int i = 0; i < r->n; i++) {
		if (r->ev[i].type != TEV_CONSOLE)
			continue;
		snprintf(line, sizeof(line), "hello from vcpu %u of 4\n", r->ev[i].vcpu);
		assert_string_equal(r->payload[i], line);
		assert_true(r->ev[i].rip >= 0x100000);
	}
	assert_int_equal(last(r)->type, TEV_VM_END);
	assert_int_equal(last(r)->a0, TEND_GUEST_EXIT);
	assert_int_equal(last(r)->a1, 0);
	assert_int_not_equal(last(r)->a2, 0);  /* memory digest */
	free_rec(r);
}

/* The pause protocol's whole story is in the trace: every request is
 * taken or coalesced once, after it was made, with its data. */
static void test_pause_events(void **state)
{
	SKIP_WITHOUT_KVM();
	assert_int_equal(vcprr_sh(NULL, "$V record -f -o %s %s --vcpus 4 --pause-every 300us "
				   "--hold 50us --seed 11 >/dev/null", trace_path,
				   guest_path("counter")), 0);
	struct rec *r = load(trace_path);
	int taken = 0, coalesced = 0, requests = count(r, TEV_PAUSE_REQUEST, ANY);

	assert_true(requests > 0);
	assert_int_equal(r->d.pause_every_ns, 300000);
	for (int i = 0; i < r->n; i++) {
		const struct trace_event *e = &r->ev[i];
		int found = 0;

		if (e->type != TEV_PAUSE_TAKEN && e->type != TEV_PAUSE_COALESCED)
			continue;
		uint64_t seq = e->type == TEV_PAUSE_TAKEN ? e->a1 : e->a0;
		for (int j = 0; j < i; j++)
			if (r->ev[j].type == TEV_PAUSE_REQUEST &&
			    r->ev[j].vcpu == e->vcpu && r->ev[j].a1 == seq) {
				found++;
				if (e->type == TEV_PAUSE_TAKEN)
					assert_int_equal(r->ev[j].a0, e->a0);
			}
		assert_int_equal(found, 1);
		if (e->type == TEV_PAUSE_TAKEN) {
			taken++;
			assert_int_not_equal(e->digest, 0);
			assert_true(e->rip >= 0x100000);
		} else {
			coalesced++;
		}
	}
	assert_true(taken > 0);
	/* Every pause was resumed (the run ended with everyone running). */
	assert_int_equal(count(r, TEV_RESUMED, ANY), taken);
	assert_int_equal(count(r, TEV_RESUME_REQUEST, ANY), taken);
	assert_true(taken + coalesced <= requests);
	assert_true(count(r, TEV_SIGNAL_SENT, ANY) >= taken);
	assert_int_equal(last(r)->type, TEV_VM_END);
	free_rec(r);
}

static void test_inputs_recorded(void **state)
{
	SKIP_WITHOUT_KVM();
	int code = vcprr_sh(NULL, "$V record -f -o %s %s >/dev/null", trace_path, guest_path("rng"));
	struct rec *r = load(trace_path);
	uint32_t sum = 0;
	int reads = 0;

	for (int i = 0; i < r->n; i++) {
		const struct trace_event *e = &r->ev[i];
		if (e->type == TEV_EXIT_PIO && e->a0 == 0x520) {
			assert_int_equal(e->a1, tev_access(4, false));
			reads++;
		}
		if (e->type == TEV_EXIT_MMIO && !tev_access_write(e->a1)) {
			sum += (uint32_t)e->a2;  /* the values read back */
		}
	}
	assert_int_equal(reads, 8);
	assert_int_equal(count(r, TEV_EXIT_MMIO, 0), 16);
	/* The trace keeps the guest's own code; the command passes it through
	 * except 2 (vcprr's usage status), which becomes 123. */
	int guest_code = (int)(sum % 100) + 1;
	assert_int_equal(last(r)->a1, guest_code);
	assert_int_equal(code, guest_code == 2 ? 123 : guest_code);
	free_rec(r);
}

static void test_endings(void **state)
{
	SKIP_WITHOUT_KVM();
	struct rec *r;
	int n;

	assert_int_equal(vcprr_sh(NULL, "$V record -f -o %s %s >/dev/null", trace_path, guest_path("triple")), 125);
	r = load(trace_path);
	assert_int_equal(last(r)->a0, TEND_GUEST_FAULT);
	assert_int_equal(count(r, TEV_VCPU_ERROR, 0), 1);
	for (int i = 0; i < r->n; i++)
		if (r->ev[i].type == TEV_VCPU_ERROR)
			assert_non_null(strstr(r->payload[i], "triple fault"));
	free_rec(r);

	assert_int_equal(vcprr_sh(NULL, "$V record -f -o %s %s >/dev/null", trace_path, guest_path("assert")), 124);
	r = load(trace_path);
	assert_int_equal(last(r)->a0, TEND_GUEST_ASSERT);
	assert_int_equal(count(r, TEV_GUEST_ASSERT, 0), 1);
	free_rec(r);

	assert_int_equal(vcprr_sh(NULL, "$V record -f -o %s %s --vcpus 3 >/dev/null", trace_path,
				   guest_path("exitcode")), 42);
	r = load(trace_path);
	assert_int_equal(last(r)->a0, TEND_GUEST_EXIT);
	assert_int_equal(last(r)->a1, 42);
	assert_int_equal(count(r, TEV_GUEST_EXIT, 2), 1);
	free_rec(r);

	assert_int_equal(vcprr_sh(NULL, "$V record -f -o %s %s --timeout 100ms >/dev/null", trace_path,
				   guest_path("spin")), 125);
	r = load(trace_path);
	assert_false(r->truncated);
	assert_int_equal(last(r)->a0, TEND_GUEST_FAULT);
	n = r->n;
	free_rec(r);

	/* A guest vcprr cannot load never starts a run: no trace is written,
	 * and the one there stays as it was, even with --force. */
	assert_int_equal(vcprr_sh(NULL, "$V record -f -o %s /etc/hostname >/dev/null", trace_path), 126);
	r = load(trace_path);
	assert_int_equal(r->n, n);
	assert_int_equal(last(r)->a0, TEND_GUEST_FAULT);
	free_rec(r);
}

static pid_t spawn_record(const char *guest, const char *extra)
{
	return vcprr_spawn((const char *[]){ "record", "-f", "-o", trace_path, guest,
					     extra, NULL });
}

/* Waits until the recording at @path holds @bytes (its writer flushes as
 * it goes), so a signal finds events to keep however loaded the machine. */
static void wait_trace_size(const char *path, off_t bytes)
{
	struct stat st;

	for (int ms = 0; ms < 30000; ms += 10) {
		if (!stat(path, &st) && st.st_size >= bytes)
			return;
		usleep(10000);
	}
	fail_msg("%s: under %lld bytes after 30 s", path, (long long)bytes);
}

static void test_sigint_and_sigterm_close_the_trace(void **state)
{
	SKIP_WITHOUT_KVM();
	int sigs[] = { SIGINT, SIGTERM };

	for (int i = 0; i < 2; i++) {
		int st;
		unlink(trace_path);  /* (the size watched is the new one's) */
		pid_t pid = spawn_record(guest_path("pio"), "--vcpus=2");
		wait_trace_size(trace_path, 24 << 10);
		kill(pid, sigs[i]);
		waitpid(pid, &st, 0);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 128 + sigs[i]);
		struct rec *r = load(trace_path);
		assert_false(r->truncated);
		assert_int_equal(last(r)->a0, TEND_SIGNAL);
		assert_true(count(r, TEV_EXIT_PIO, ANY) > 1000);
		free_rec(r);
	}
}

/* SIGKILL mid-recording: the trace reads to a prefix, marked truncated. */
static void test_sigkill_leaves_readable_prefix(void **state)
{
	SKIP_WITHOUT_KVM();
	for (int i = 0; i < 5; i++) {
		int st;
		pid_t pid = spawn_record(guest_path("pio"), "--vcpus=2");
		usleep(150000 + i * 70000);
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		struct rec *r = load(trace_path);
		assert_true(r->truncated);
		assert_true(r->n > 0);
		assert_int_equal(r->ev[0].type, TEV_VM_START);
		for (int j = 1; j < r->n; j++)
			assert_int_equal(r->ev[j].seq, r->ev[j - 1].seq + 1);
		free_rec(r);
	}
}

/* A SIGKILL right after the start keeps the first events: the recording
 * makes them durable before its controller does anything.  The pause
 * script's first output (stdout on a terminal, so line-buffered) is the
 * moment to kill; the writer's own timer would complete a frame only 40
 * ms after its first event. */
static void test_sigkill_at_start_keeps_events(void **state)
{
	static const char script[] = "pause 0\nwait 0\nprint 0\nsleep 30s\n";
	const char *build = getenv("VCPRR_BUILD");
	char path[80], bin[256], out[4096];

	SKIP_WITHOUT_KVM();
	snprintf(path, sizeof(path), "%s.script", trace_path);
	snprintf(bin, sizeof(bin), "%s/vcprr", build ? build : "build");
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(script, f);
	fclose(f);
	for (int i = 0; i < 3; i++) {
		int tty = posix_openpt(O_RDWR | O_NOCTTY), st;
		size_t got = 0;
		pid_t pid;

		assert_true(tty >= 0 && !grantpt(tty) && !unlockpt(tty));
		pid = fork();
		if (pid == 0) {
			int term = open(ptsname(tty), O_RDWR | O_NOCTTY);
			int null = open("/dev/null", O_WRONLY);

			dup2(term, 1);
			dup2(null, 2);
			execl(bin, bin, "record", "-f", "-o", trace_path,
			      "--pause-script", path, guest_path("spin"), NULL);
			_exit(127);
		}
		while (got < sizeof(out) - 1) {
			ssize_t n = read(tty, out + got, sizeof(out) - 1 - got);

			if (n <= 0)
				break;
			out[got += n] = 0;
			if (strstr(out, "rax="))
				break;
		}
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		close(tty);
		assert_non_null(strstr(out, "rax="));
		struct rec *r = load(trace_path);
		assert_true(r->truncated);
		assert_true(r->n > 0);
		assert_int_equal(r->ev[0].type, TEV_VM_START);
		free_rec(r);
	}
	unlink(path);
}

/* 1024 VCPUs, the documented maximum, record too: the writer takes a
 * producer per VCPU and one for the controller. */
static void test_1024_vcpus(void **state)
{
	SKIP_WITHOUT_KVM();
	char *out;

	if (vcprr_sh(&out, "$V record -f -o %s %s --vcpus 1024 >/dev/null",
		     trace_path, guest_path("hello")))
		fail_msg("%s", out);
	free(out);
	struct rec *r = load(trace_path);
	assert_false(r->truncated);
	assert_int_equal(r->d.nr_vcpus, 1024);
	assert_int_equal(count(r, TEV_VCPU_START, ANY), 1024);
	assert_int_equal(count(r, TEV_VCPU_EXIT, ANY), 1024);
	assert_int_equal(last(r)->a0, TEND_GUEST_EXIT);
	free_rec(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hello_trace),
		cmocka_unit_test(test_pause_events),
		cmocka_unit_test(test_inputs_recorded),
		cmocka_unit_test(test_endings),
		cmocka_unit_test(test_sigint_and_sigterm_close_the_trace),
		cmocka_unit_test(test_sigkill_leaves_readable_prefix),
		cmocka_unit_test(test_sigkill_at_start_keeps_events),
		cmocka_unit_test(test_1024_vcpus),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
