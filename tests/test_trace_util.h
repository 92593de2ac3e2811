/* Helpers shared by the tests/test_trace_*.c programs (header only, so each
 * test binary stays self-contained). */
#ifndef VCPRR_TESTS_TEST_TRACE_UTIL_H
#define VCPRR_TESTS_TEST_TRACE_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "traces/trace.h"

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define TT_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define TT_SANITIZED 1
#endif
#endif
#ifndef TT_SANITIZED
#define TT_SANITIZED 0
#endif

static inline char *tt_tmpfile(const char *tag)
{
	const char *dir = getenv("TMPDIR");
	char *p;
	int fd;

	if (asprintf(&p, "%s/vcprr-%s-XXXXXX", dir ? dir : "/tmp", tag) < 0)
		abort();
	fd = mkstemp(p);
	assert_true(fd >= 0);
	close(fd);
	return p;
}

static inline void tt_header(struct trace_header *h)
{
	/* the trace layer stores any text: no run description needed */
	memset(h, 0, sizeof(*h));
	strcpy(h->desc, "vcpus=4\nmode=parallel\nseed=0x1234abcd5678\n"
	       "guest=tests/guests/hello.elf\n");
	h->start_time_ns = 987654321;
}

static inline uint64_t tt_rand(uint64_t *s)
{
	uint64_t x = *s += 0x9e3779b97f4a7c15ull;

	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Deterministic payload bytes for (key, len). */
static inline void tt_payload(uint8_t *buf, uint32_t len, uint64_t key)
{
	uint64_t s = key;

	for (uint32_t i = 0; i < len; i++)
		buf[i] = (uint8_t)tt_rand(&s);
}

/* Longest payload tt_random_event makes (tests with many passes lower it). */
static uint32_t tt_payload_max = TRACE_MAX_PAYLOAD;

/* Random event (seq not set) with payload in @pl (>= TRACE_MAX_PAYLOAD).
 * Mixes repetitive shapes (template hits) with wild values. */
static inline void tt_random_event(uint64_t *s, struct trace_event *ev,
				   uint8_t *pl, uint64_t *time)
{
	static const uint32_t vcpus[] = { 0, 1, 2, 63, 64, 1000,
					  TRACE_VCPU_NONE };
	uint64_t r = tt_rand(s);

	memset(ev, 0, sizeof(*ev));
	ev->type = 1 + (uint32_t)(r % (TEV__COUNT - 1));
	ev->vcpu = vcpus[(r >> 8) % 7];
	*time += (r >> 16) % 3 ? (r >> 20) % 20000 : -(uint64_t)((r >> 20) % 500);
	ev->time_ns = *time;
	if ((r >> 40) % 2) {
		/* repetitive: few rips and args */
		ev->rip = 0x1000 + 16 * ((r >> 41) % 3);
		ev->exit_seq = (r >> 44) % 4;
		ev->a0 = (r >> 46) % 2 ? 0x3f8 : 0x3fd;
		ev->a1 = 1;
		ev->a2 = (r >> 48) % 3;
		return;
	}
	ev->rip = tt_rand(s);
	ev->exit_seq = tt_rand(s) >> (r % 64);
	ev->digest = (r >> 43) % 2 ? tt_rand(s) : 0;
	ev->a0 = tt_rand(s) >> ((r >> 50) % 64);
	ev->a1 = tt_rand(s) >> ((r >> 52) % 64);
	ev->a2 = (r >> 54) % 2 ? tt_rand(s) : 0;
	ev->a3 = (r >> 55) % 2 ? UINT64_MAX : 0;
	if ((r >> 56) % 4 == 0) {
		ev->payload_len = 1 + (uint32_t)(tt_rand(s) % tt_payload_max);
		tt_payload(pl, ev->payload_len, r);
	}
}

#define tt_assert_ev_eq(a, b) do {                                   \
	assert_int_equal((a)->seq, (b)->seq);                        \
	assert_int_equal((a)->time_ns, (b)->time_ns);                \
	assert_int_equal((a)->type, (b)->type);                      \
	assert_int_equal((a)->vcpu, (b)->vcpu);                      \
	assert_int_equal((a)->exit_seq, (b)->exit_seq);              \
	assert_int_equal((a)->rip, (b)->rip);                        \
	assert_int_equal((a)->digest, (b)->digest);                  \
	assert_int_equal((a)->a0, (b)->a0);                          \
	assert_int_equal((a)->a1, (b)->a1);                          \
	assert_int_equal((a)->a2, (b)->a2);                          \
	assert_int_equal((a)->a3, (b)->a3);                          \
	assert_int_equal((a)->payload_len, (b)->payload_len);        \
} while (0)

static inline int tt_ev_eq(const struct trace_event *a,
			   const struct trace_event *b)
{
	return a->seq == b->seq && a->time_ns == b->time_ns &&
	       a->type == b->type && a->vcpu == b->vcpu &&
	       a->exit_seq == b->exit_seq && a->rip == b->rip &&
	       a->digest == b->digest && a->a0 == b->a0 && a->a1 == b->a1 &&
	       a->a2 == b->a2 && a->a3 == b->a3 &&
	       a->payload_len == b->payload_len;
}

/* A recorded stream kept in memory to check what the reader returns. */
struct tt_stream {
	struct trace_event *ev;
	uint8_t **pl;
	size_t n;
};

static inline void tt_stream_free(struct tt_stream *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->pl[i]);
	free(s->pl);
	free(s->ev);
	memset(s, 0, sizeof(*s));
}

/* Records @n random events (+ VM_END) from @seed into @path with @opts. */
static inline void tt_record_random(const char *path, uint64_t seed, size_t n,
				    const struct trace_writer_opts *opts,
				    struct tt_stream *out)
{
	struct trace_header h;
	struct trace_writer *w;
	struct trace_producer *p;
	uint8_t pl[TRACE_MAX_PAYLOAD];
	uint64_t time = 1000000;
	char err[256];

	tt_header(&h);
	w = trace_writer_open(path, &h, opts, err, sizeof(err));
	assert_non_null(w);
	p = trace_producer_new(w);
	assert_non_null(p);
	out->ev = calloc(n + 1, sizeof(*out->ev));
	out->pl = calloc(n + 1, sizeof(*out->pl));
	out->n = n;
	for (size_t i = 0; i < n; i++) {
		struct trace_event *ev = &out->ev[i];

		tt_random_event(&seed, ev, pl, &time);
		assert_int_equal(trace_emit_timed(p, ev, pl), 0);
		assert_int_equal(ev->seq, i);
		if (ev->payload_len) {
			out->pl[i] = malloc(ev->payload_len);
			memcpy(out->pl[i], pl, ev->payload_len);
		}
	}
	assert_int_equal(trace_writer_close(w, TEND_GUEST_EXIT, 3, 0xfeed), 0);
}

static inline uint8_t *tt_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	uint8_t *b;

	assert_non_null(f);
	assert_int_equal(fstat(fileno(f), &st), 0);
	b = malloc((size_t)st.st_size + 1);
	assert_int_equal(fread(b, 1, (size_t)st.st_size, f), (size_t)st.st_size);
	fclose(f);
	*len = (size_t)st.st_size;
	return b;
}

#endif
