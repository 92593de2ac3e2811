/* A recorder killed with SIGKILL at random moments leaves a trace that
 * reads to a clean prefix: dense seqs, no corrupt event, "truncated". */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "tests/test_trace_util.h"

#define KILLS 50

/* Event number @i of VCPU @v: every field derived from (v, i). */
static void mk_event(uint32_t v, uint64_t i, struct trace_event *ev,
		     uint8_t *pl)
{
	memset(ev, 0, sizeof(*ev));
	ev->type = i % 50 == 7 ? TEV_GUEST_LOG : TEV_EXIT_PIO;
	ev->vcpu = v;
	ev->exit_seq = i;
	ev->rip = 0x100000 + 8 * (i % 3);
	ev->a0 = 0x3f8 + v;
	ev->a2 = (i * 2654435761u) & 0xff;
	if (ev->type == TEV_GUEST_LOG) {
		ev->payload_len = 1 + (uint32_t)(i % 300);
		tt_payload(pl, ev->payload_len, i * 4 + v);
	}
}

static void *child_worker(void *arg)
{
	struct trace_producer *p = arg;
	static _Atomic uint32_t ids;
	uint32_t v = ids++;
	uint8_t pl[TRACE_MAX_PAYLOAD];
	struct trace_event ev;

	for (uint64_t i = 0;; i++) {
		mk_event(v, i, &ev, pl);
		trace_emit(p, &ev, pl);
		if (i % 128 == 0)
			usleep(100);
	}
	return NULL;
}

static void child(const char *path)
{
	struct trace_writer_opts o = { .frame_events = 300, .frame_ms = 3 };
	struct trace_header h;
	struct trace_writer *w;
	pthread_t th[2];
	char err[256];

	tt_header(&h);
	w = trace_writer_open(path, &h, &o, err, sizeof(err));
	if (!w)
		_exit(1);
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, child_worker,
			       trace_producer_new(w));
	for (;;)
		pause();
}

static uint64_t check_prefix(const char *path)
{
	uint8_t pl[TRACE_MAX_PAYLOAD];
	uint64_t next[2] = { 0 }, seq = 0;
	struct trace_event ev, want;
	struct trace_reader *r;
	const uint8_t *got;
	char err[256];
	struct stat st;
	int ret;

	/* Killed before the writer linked the file in: no trace at all (a
	 * trace never exists without its whole header). */
	if (stat(path, &st) && errno == ENOENT)
		return 0;
	r = trace_reader_open(path, err, sizeof(err));
	if (!r)
		fail_msg("%s", err);
	assert_true(trace_reader_truncated(r));
	while ((ret = trace_reader_next(r, &ev, &got)) == 1) {
		assert_int_equal(ev.seq, seq++);
		assert_true(ev.vcpu < 2);
		mk_event(ev.vcpu, next[ev.vcpu]++, &want, pl);
		want.seq = ev.seq;
		want.time_ns = ev.time_ns;
		tt_assert_ev_eq(&ev, &want);
		if (ev.payload_len)
			assert_memory_equal(got, pl, ev.payload_len);
	}
	if (ret < 0)
		fail_msg("%s", trace_reader_error(r));
	assert_non_null(trace_reader_truncation(r));
	assert_int_equal(trace_reader_events_read(r), seq);
	trace_reader_close(r);
	return seq;
}

static void test_sigkill(void **state)
{
	char *path = tt_tmpfile("crash");
	uint64_t seed = (uint64_t)time(NULL), total = 0, empty = 0;

	printf("seed %llu\n", (unsigned long long)seed);
	for (int k = 0; k < KILLS; k++) {
		pid_t pid;
		uint64_t n;
		int status;

		unlink(path);
		pid = fork();

		assert_true(pid >= 0);
		if (!pid)
			child(path);
		usleep((useconds_t)(tt_rand(&seed) % 40000));
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status));
		n = check_prefix(path);
		total += n;
		empty += !n;
	}
	printf("%d kills: %llu events read back, %llu empty traces\n", KILLS,
	       (unsigned long long)total, (unsigned long long)empty);
	assert_true(total > 0);
	unlink(path);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sigkill),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
