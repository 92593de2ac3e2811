/* ck-seqlock: a sequence lock from Concurrency Kit (ck_sequence) guards a
 * pair whose second half is always twice the first.  VCPU 0 writes new
 * pairs; the others read them and check the invariant.  A reader copies
 * the pair between ck_sequence_read_begin and ck_sequence_read_retry, and
 * copies again while a write overlapped: it never sees a torn pair.
 *
 * ck-seqlock-noretry builds this with NORETRY: the reader skips the
 * retry, and explore finds the torn pair it then reads. */
#include "vcprr_guest.h"
#include <ck_sequence.h>

#ifndef NORETRY
#define NORETRY 0
#endif

#define WRITES 6
#define READS  8

static ck_sequence_t seq = CK_SEQUENCE_INITIALIZER;
static struct { uint64_t a, b; } pair;

static void writer(void)
{
	for (uint64_t i = 1; i <= WRITES; i++) {
		ck_sequence_write_begin(&seq);
		ck_pr_store_64(&pair.a, i);
		ck_pr_store_64(&pair.b, 2 * i);
		ck_sequence_write_end(&seq);
		vcprr_yield();
	}
}

static void reader(void)
{
	for (int i = 0; i < READS; i++) {
		unsigned version;
		uint64_t a, b;

		do {
			/* read_begin spins while a write is open: let it end */
			while (ck_pr_load_uint(&seq.sequence) & 1)
				vcprr_yield();
			version = ck_sequence_read_begin(&seq);
			a = ck_pr_load_64(&pair.a);
			b = ck_pr_load_64(&pair.b);
		} while (!NORETRY && ck_sequence_read_retry(&seq, version));
		assert(b == 2 * a);
		vcprr_yield();
	}
}

int main(int vcpu)
{
	if (vcpu == 0)
		writer();
	else
		reader();
	return 0;
}
