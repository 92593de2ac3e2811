/* The happens-before race detector on synthetic access streams: races it
 * must report (each once per pair of sites), and correctly synchronised
 * patterns (spinlock, message passing, seqlock, SPSC ring, hypercalls,
 * pause/resume) where it must report none. */
#include <stdio.h>
#include <stdlib.h>

#include "tests/helpers/testutil.h"
#include "tools/race-hb.h"

#define X     0x102000ull   /* a shared variable */
#define DATA  0x102100ull
#define LOCK  0x102200ull
#define FLAG  0x102208ull

struct stream {
	struct hb *hb;
	uint64_t step;
};

static struct stream start(unsigned nr_vcpus)
{
	struct hb_config cfg = { .nr_vcpus = nr_vcpus };
	struct stream s = { hb_new(&cfg), 0 };

	assert_non_null(s.hb);
	return s;
}

/* One access; the rip names the site. */
static void acc(struct stream *s, unsigned t, uint64_t rip, uint64_t addr,
		uint32_t size, uint8_t rw, bool atomic)
{
	struct hb_access a = { t, ++s->step, rip, addr, size, rw, atomic };

	assert_int_equal(hb_access(s->hb, &a), 0);
}

#define RD(s, t, rip, addr, size)  acc(s, t, rip, addr, size, HB_READ, false)
#define WR(s, t, rip, addr, size)  acc(s, t, rip, addr, size, HB_WRITE, false)
#define ALD(s, t, rip, addr)       acc(s, t, rip, addr, 4, HB_READ, true)
#define AST(s, t, rip, addr)       acc(s, t, rip, addr, 4, HB_WRITE, true)
#define RMW(s, t, rip, addr)       acc(s, t, rip, addr, 4, HB_READ | HB_WRITE, true)

static size_t races(struct stream *s)
{
	size_t n;

	hb_races(s->hb, &n);
	return n;
}

static void finish(struct stream *s, size_t want)
{
	size_t n;
	const struct hb_race *r = hb_races(s->hb, &n);

	if (n != want)
		fail_msg("%zu races (want %zu), first at %#llx rips %#llx/%#llx",
			 n, want, n ? (unsigned long long)r[0].addr : 0ull,
			 n ? (unsigned long long)r[0].first.rip : 0ull,
			 n ? (unsigned long long)r[0].second.rip : 0ull);
	hb_free(s->hb);
}

/* The classic: two unordered writes, a write and a read; two reads never. */
static void test_classic_race(void **state)
{
	struct stream s = start(2);
	const struct hb_race *r;
	size_t n;

	(void)state;
	RD(&s, 0, 0x10, X, 8);
	RD(&s, 1, 0x20, X, 8);
	assert_int_equal(races(&s), 0);
	WR(&s, 1, 0x21, X, 8);  /* vs vcpu 0's read */
	WR(&s, 0, 0x11, X, 8);  /* vs vcpu 1's write */
	r = hb_races(s.hb, &n);
	assert_int_equal(n, 2);
	assert_int_equal(r[0].addr, X);
	assert_int_equal(r[0].first.thread, 0);
	assert_int_equal(r[0].first.rip, 0x10);
	assert_int_equal(r[0].first.rw, HB_READ);
	assert_int_equal(r[0].second.thread, 1);
	assert_int_equal(r[0].second.rip, 0x21);
	assert_int_equal(r[0].second.rw, HB_WRITE);
	assert_int_equal(r[0].second.step, 3);
	assert_int_equal(r[1].first.rip, 0x21);
	assert_int_equal(r[1].second.rip, 0x11);
	finish(&s, 2);
}

/* Each pair of sites once, however often it races; a site callback can
 * merge rips (two instructions of one source line). */
static uint64_t same_line(void *arg, uint64_t rip)
{
	(void)arg;
	return rip & ~0xfull;
}

static void test_once_per_pair(void **state)
{
	struct hb_config cfg = { .nr_vcpus = 2, .site = same_line };
	struct stream s = start(2);
	const struct hb_race *r;
	size_t n;

	(void)state;
	for (int i = 0; i < 10; i++) {
		WR(&s, 0, 0x10, X + 8 * i, 8);
		WR(&s, 1, 0x20, X + 8 * i, 8);
	}
	r = hb_races(s.hb, &n);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].count, 10);
	finish(&s, 1);
	s = (struct stream){ hb_new(&cfg), 0 };
	WR(&s, 0, 0x10, X, 8);
	WR(&s, 1, 0x20, X, 8);
	WR(&s, 0, 0x14, X + 8, 8);  /* same line as 0x10 */
	WR(&s, 1, 0x28, X + 8, 8);  /* same line as 0x20 */
	finish(&s, 1);
}

/* One byte of a wider access; neighbours that do not overlap never. */
static void test_overlap(void **state)
{
	struct stream s = start(2);
	const struct hb_race *r;
	size_t n;

	(void)state;
	WR(&s, 0, 0x10, X, 8);
	WR(&s, 1, 0x20, X + 8, 1);   /* the next granule */
	RD(&s, 1, 0x21, X - 2, 2);   /* just below */
	assert_int_equal(races(&s), 0);
	RD(&s, 1, 0x22, X + 5, 1);   /* one byte inside */
	r = hb_races(s.hb, &n);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].addr, X + 5);
	assert_int_equal(r[0].first.size, 8);
	assert_int_equal(r[0].second.size, 1);
	finish(&s, 1);

	s = start(2);
	WR(&s, 0, 0x10, DATA + 6, 8);    /* spans two granules */
	WR(&s, 1, 0x20, DATA + 2, 4);    /* [2, 6): touches nothing of it */
	assert_int_equal(races(&s), 0);
	RD(&s, 1, 0x21, DATA + 12, 4);   /* second granule, byte 12-13 */
	r = hb_races(s.hb, &n);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].addr, DATA + 12);
	finish(&s, 1);
}

/* A spinlock: xchg to take it, spinning loads, a plain release store
 * (ck_spinlock_fas), plain accesses inside. */
static void lock(struct stream *s, unsigned t, bool spin_first)
{
	if (spin_first)
		ALD(s, t, 0x100, LOCK);   /* sees it free */
	RMW(s, t, 0x104, LOCK);           /* xchg */
}

static void test_spinlock(void **state)
{
	struct stream s = start(3);

	(void)state;
	for (int round = 0; round < 4; round++) {
		for (unsigned t = 0; t < 3; t++) {
			lock(&s, t, round & 1);
			RD(&s, t, 0x200, DATA, 8);
			WR(&s, t, 0x204, DATA, 8);
			WR(&s, t, 0x208, DATA + 8 + t, 1);
			ALD(&s, (t + 1) % 3, 0x100, LOCK);  /* another spins */
			AST(&s, t, 0x10c, LOCK);           /* unlock */
		}
	}
	finish(&s, 0);

	/* One VCPU skipping the lock races with the others. */
	s = start(2);
	lock(&s, 0, false);
	WR(&s, 0, 0x204, DATA, 8);
	AST(&s, 0, 0x10c, LOCK);
	WR(&s, 1, 0x300, DATA, 8);
	finish(&s, 1);
}

/* Message passing through an atomic flag (release store, acquire load). */
static void test_message_passing(void **state)
{
	struct stream s = start(2);

	(void)state;
	WR(&s, 0, 0x10, DATA, 8);
	AST(&s, 0, 0x14, FLAG);
	ALD(&s, 1, 0x20, FLAG);
	RD(&s, 1, 0x24, DATA, 8);
	WR(&s, 1, 0x28, DATA, 8);
	finish(&s, 0);

	/* Reading the data before the flag says it is there: a race. */
	s = start(2);
	WR(&s, 0, 0x10, DATA, 8);
	RD(&s, 1, 0x24, DATA, 8);
	AST(&s, 0, 0x14, FLAG);
	ALD(&s, 1, 0x20, FLAG);
	finish(&s, 1);

	/* A plain flag is no synchronisation: both the flag and the data. */
	s = start(2);
	WR(&s, 0, 0x10, DATA, 8);
	WR(&s, 0, 0x14, FLAG, 4);
	RD(&s, 1, 0x20, FLAG, 4);
	RD(&s, 1, 0x24, DATA, 8);
	finish(&s, 2);

	/* Plain against atomic on the same location is a race. */
	s = start(2);
	AST(&s, 0, 0x14, FLAG);
	RD(&s, 1, 0x20, FLAG, 4);
	finish(&s, 1);
}

/* A seqlock (ck_sequence): the writer bumps seq around plain data writes,
 * a reader reads seq, the data, seq again.  Whole sections that follow
 * each other: the reader's plain reads are ordered before the writer's
 * next bump by the from-read edge.  Sections that overlap: the reader
 * retries, and its data reads, which a correct C11 seqlock makes relaxed
 * atomics, do not race. */
static void test_seqlock(void **state)
{
	struct stream s = start(2);

	(void)state;
	for (int round = 0; round < 3; round++) {
		AST(&s, 0, 0x10, LOCK);        /* seq odd */
		WR(&s, 0, 0x14, DATA, 8);
		WR(&s, 0, 0x18, DATA + 8, 8);
		AST(&s, 0, 0x1c, LOCK);        /* seq even */
		ALD(&s, 1, 0x20, LOCK);
		RD(&s, 1, 0x24, DATA, 8);
		RD(&s, 1, 0x28, DATA + 8, 8);
		ALD(&s, 1, 0x2c, LOCK);        /* unchanged: done */
	}
	finish(&s, 0);

	s = start(2);
	ALD(&s, 1, 0x20, LOCK);                /* even */
	acc(&s, 1, 0x24, DATA, 8, HB_READ, true);
	AST(&s, 0, 0x10, LOCK);                /* a writer starts */
	acc(&s, 0, 0x14, DATA, 8, HB_WRITE, true);
	acc(&s, 1, 0x28, DATA + 8, 8, HB_READ, true);
	acc(&s, 0, 0x18, DATA + 8, 8, HB_WRITE, true);
	ALD(&s, 1, 0x2c, LOCK);                /* changed: retry */
	AST(&s, 0, 0x1c, LOCK);
	ALD(&s, 1, 0x20, LOCK);
	acc(&s, 1, 0x24, DATA, 8, HB_READ, true);
	acc(&s, 1, 0x28, DATA + 8, 8, HB_READ, true);
	ALD(&s, 1, 0x2c, LOCK);
	finish(&s, 0);
}

/* A single-producer single-consumer ring with release/acquire indices and
 * plain slots, the consumer lagging so that slots are reused. */
static void test_spsc_ring(void **state)
{
	struct stream s = start(2);
	const uint64_t head = FLAG, tail = FLAG + 4;
	unsigned produced = 0, consumed = 0;

	(void)state;
	while (consumed < 12) {
		/* the producer fills the ring (2 slots), the consumer drains
		 * one, and so on */
		while (produced < 12 && produced - consumed < 2) {
			ALD(&s, 0, 0x10, tail);
			WR(&s, 0, 0x14, DATA + 8 * (produced % 2), 8);
			AST(&s, 0, 0x18, head);
			produced++;
		}
		ALD(&s, 1, 0x20, head);
		RD(&s, 1, 0x24, DATA + 8 * (consumed % 2), 8);
		AST(&s, 1, 0x28, tail);
		consumed++;
	}
	finish(&s, 0);

	/* Without the full check the producer overwrites a slot the
	 * consumer is reading. */
	s = start(2);
	WR(&s, 0, 0x14, DATA, 8);
	AST(&s, 0, 0x18, head);
	ALD(&s, 1, 0x20, head);
	RD(&s, 1, 0x24, DATA, 8);
	WR(&s, 0, 0x14, DATA, 8);  /* round 2, before the consumer's tail */
	AST(&s, 1, 0x28, tail);
	finish(&s, 1);
}

/* Hypercalls order through the VMM. */
static void test_hypercalls(void **state)
{
	struct stream s = start(2);

	(void)state;
	WR(&s, 0, 0x10, X, 8);
	hb_hypercall(s.hb, 0);
	hb_hypercall(s.hb, 1);
	RD(&s, 1, 0x20, X, 8);
	finish(&s, 0);

	s = start(2);
	WR(&s, 0, 0x10, X, 8);
	hb_hypercall(s.hb, 0);
	RD(&s, 1, 0x20, X, 8);     /* before its own hypercall */
	hb_hypercall(s.hb, 1);
	finish(&s, 1);
}

/* The controller orders what it saw stopped before what it resumes. */
static void pause_resume(bool in_order)
{
	struct stream s = start(2);

	hb_pause_request(s.hb, 1);
	hb_pause_taken(s.hb, 1);       /* vcpu 1 waits, paused */
	WR(&s, 0, 0x10, X, 8);
	if (!in_order) {
		hb_resume_request(s.hb, 1);
		hb_resumed(s.hb, 1);
	}
	hb_pause_request(s.hb, 0);
	hb_pause_taken(s.hb, 0);
	hb_resume_request(s.hb, 0);
	if (in_order) {
		hb_resume_request(s.hb, 1);
		hb_resumed(s.hb, 1);
	}
	hb_resumed(s.hb, 0);
	RD(&s, 1, 0x20, X, 8);
	finish(&s, in_order ? 0 : 1);
}

static void test_pause_resume(void **state)
{
	(void)state;
	pause_resume(true);
	pause_resume(false);
}

/* Shadow memory stays under its limit; past it, accesses to new bytes are
 * refused and the detector says it is full, never crashes. */
static void test_memory_bound(void **state)
{
	struct hb_config cfg = { .nr_vcpus = 4, .max_bytes = 256 << 10 };
	struct hb *hb = hb_new(&cfg);
	int refused = 0;

	(void)state;
	assert_non_null(hb);
	for (uint64_t i = 0; i < 100000; i++) {
		struct hb_access a = { (unsigned)(i % 4), i, 0x10 + i % 7,
				       0x200000 + 16 * i, 8,
				       i % 3 ? HB_WRITE : HB_READ, i % 5 == 0 };

		refused += hb_access(hb, &a) != 0;
		assert_true(hb_memory(hb) <= cfg.max_bytes);
	}
	assert_true(refused > 0);
	assert_true(hb_full(hb));
	hb_free(hb);
	cfg.nr_vcpus = 0;
	assert_null(hb_new(&cfg));
	cfg.nr_vcpus = HB_MAX_THREADS;
	assert_null(hb_new(&cfg));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classic_race),
		cmocka_unit_test(test_once_per_pair),
		cmocka_unit_test(test_overlap),
		cmocka_unit_test(test_spinlock),
		cmocka_unit_test(test_message_passing),
		cmocka_unit_test(test_seqlock),
		cmocka_unit_test(test_spsc_ring),
		cmocka_unit_test(test_hypercalls),
		cmocka_unit_test(test_pause_resume),
		cmocka_unit_test(test_memory_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
