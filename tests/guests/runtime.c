/* runtime: the guest runtime's pieces, checked from every VCPU at once:
 * the <string.h> functions against byte loops, the allocator (blocks that
 * do not overlap, alignment, reuse after free, calloc's zeroes, realloc
 * keeping the contents) and the locks of vcprr_sync.h (spinlock, ticket
 * lock, barrier, once) guarding counters that a broken lock would lose
 * updates of.  explore must never fail it. */
#include "vcprr_guest.h"

#define ROUNDS 3

static vcprr_spinlock_t spin = VCPRR_SPINLOCK_INIT;
static vcprr_ticketlock_t ticket = VCPRR_TICKETLOCK_INIT;
static vcprr_barrier_t barrier_all = VCPRR_BARRIER_INIT(0);
static vcprr_once_t once = VCPRR_ONCE_INIT;
static u64 spin_count, ticket_count;
static atomic_uint once_calls;
static VCPRR_PER_VCPU(u64, mine);

static void init_once(void)
{
	vcprr_yield();  /* the others arrive while it runs */
	atomic_fetch_add(&once_calls, 1);
}

static void check_strings(void)
{
	char a[64], b[64];

	for (int i = 0; i < 64; i++)
		a[i] = (char)('a' + i % 26);
	memcpy(b, a, sizeof(a));
	assert(!memcmp(a, b, sizeof(a)));
	b[40] = 'Z';
	assert(memcmp(a, b, sizeof(a)) > 0 && memcmp(b, a, 41) < 0);
	memmove(a + 1, a, 20);  /* overlapping, upwards */
	assert(a[1] == 'a' && a[20] == 't' && a[21] == 'v');
	memmove(a, a + 1, 20);  /* and back */
	assert(a[0] == 'a' && a[19] == 't');
	memset(a + 3, 'x', 5);
	assert(a[2] == 'c' && a[3] == 'x' && a[7] == 'x' && a[8] == 'i');
	a[10] = 0;
	assert(strlen(a) == 10 && strnlen(a, 4) == 4);
	assert(strcmp("abc", "abd") < 0 && strcmp("abd", "abc") > 0 &&
	       !strcmp("vcprr", "vcprr") && strncmp("abcx", "abcy", 3) == 0);
	assert(strchr(a, 'x') == a + 3 && !strchr(a, 'Q'));
	snprintf(b, sizeof(b), "%d|%5u|%s|%05x|%.2s|%llu", -42, 7u, "ok", 0xbeef,
		 "abc", 18446744073709551615ull);
	assert(!strcmp(b, "-42|    7|ok|0beef|ab|18446744073709551615"));
}

static void check_allocator(int vcpu)
{
	u8 *p[6];

	for (int i = 0; i < 6; i++) {
		size_t n = 24u << i;

		p[i] = malloc(n);
		assert(p[i] && !((uintptr_t)p[i] & 15));
		memset(p[i], vcpu * 8 + i, n);
		vcprr_yield();
	}
	for (int i = 0; i < 6; i++)  /* nobody else wrote into our blocks */
		for (size_t j = 0; j < (24u << i); j += 31)
			assert(p[i][j] == (u8)(vcpu * 8 + i));
	u8 *q = aligned_alloc(256, 100);
	assert(q && !((uintptr_t)q & 255));
	free(q);
	u8 *r = realloc(p[0], 1000);
	assert(r && r[23] == (u8)(vcpu * 8));
	u32 *z = calloc(50, sizeof(u32));
	for (int i = 0; i < 50; i++)
		assert(!z[i]);
	free(z);
	free(r);
	for (int i = 1; i < 6; i++)
		free(p[i]);
	free(NULL);
	void *again = malloc(24u << 3);  /* reuses a freed block */
	assert(again);
	free(again);
	assert(!malloc((size_t)1 << 40));  /* beyond the arena: NULL */
}

int main(int vcpu)
{
	unsigned n = (unsigned)vcprr_nr_vcpus();

	assert(vcprr_this_vcpu() == vcpu);
	vcprr_this(mine) = 100 + (u64)vcpu;
	check_strings();
	check_allocator(vcpu);
	vcprr_once(&once, init_once);
	assert(atomic_load(&once_calls) == 1);
	for (int i = 0; i < ROUNDS; i++) {
		vcprr_spin_lock(&spin);
		u64 v = spin_count;
		vcprr_yield();
		spin_count = v + 1;
		vcprr_spin_unlock(&spin);

		vcprr_ticket_lock(&ticket);
		v = ticket_count;
		vcprr_yield();
		ticket_count = v + 1;
		vcprr_ticket_unlock(&ticket);
	}
	/* Round 1: everyone has counted; round 2: everyone has checked, so
	 * the barrier is reusable. */
	vcprr_barrier_wait(&barrier_all);
	assert(spin_count == (u64)n * ROUNDS && ticket_count == (u64)n * ROUNDS);
	for (unsigned i = 0; i < n; i++)
		assert(vcprr_of(mine, i) == 100 + i);
	vcprr_barrier_wait(&barrier_all);
	return 0;
}
