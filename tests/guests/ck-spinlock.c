/* ck-spinlock: Concurrency Kit's spinlocks (libck-dev) guarding a counter
 * that is read, yielded over and written back, so that a lock that let two
 * VCPUs in would lose an update.  Each round takes one of the fas, cas,
 * dec, ticket and mcs locks.  Correct use: explore never fails it.
 *
 * CK's lock functions spin without a VM exit; here every wait goes through
 * the trylock and vcprr_yield(), so that the serial and step schedulers
 * run the holder (see vcprr_sync.h). */
#include "vcprr_guest.h"
#include <ck_spinlock.h>

#define ROUNDS 4

static ck_spinlock_fas_t fas = CK_SPINLOCK_FAS_INITIALIZER;
static ck_spinlock_cas_t cas = CK_SPINLOCK_CAS_INITIALIZER;
static ck_spinlock_dec_t dec = CK_SPINLOCK_DEC_INITIALIZER;
static ck_spinlock_ticket_t ticket = CK_SPINLOCK_TICKET_INITIALIZER;
static ck_spinlock_mcs_t mcs = CK_SPINLOCK_MCS_INITIALIZER;
static VCPRR_PER_VCPU(struct ck_spinlock_mcs, mcs_node);
static u64 counter[5];
static atomic_uint finished;

static void bump(u64 *c)
{
	u64 v = *(volatile u64 *)c;

	vcprr_yield();
	*(volatile u64 *)c = v + 1;
}

int main(int vcpu)
{
	unsigned n = (unsigned)vcprr_nr_vcpus();
	struct ck_spinlock_mcs *node = &vcprr_this(mcs_node);

	(void)vcpu;
	for (int i = 0; i < ROUNDS; i++) {
		while (!ck_spinlock_fas_trylock(&fas))
			vcprr_yield();
		bump(&counter[0]);
		ck_spinlock_fas_unlock(&fas);

		while (!ck_spinlock_cas_trylock(&cas))
			vcprr_yield();
		bump(&counter[1]);
		ck_spinlock_cas_unlock(&cas);

		while (!ck_spinlock_dec_trylock(&dec))
			vcprr_yield();
		bump(&counter[2]);
		ck_spinlock_dec_unlock(&dec);

		while (!ck_spinlock_ticket_trylock(&ticket))
			vcprr_yield();
		bump(&counter[3]);
		ck_spinlock_ticket_unlock(&ticket);

		while (!ck_spinlock_mcs_trylock(&mcs, node))
			vcprr_yield();
		bump(&counter[4]);
		ck_spinlock_mcs_unlock(&mcs, node);
	}
	if (atomic_fetch_add(&finished, 1) + 1 != n)
		return 0;
	for (int l = 0; l < 5; l++)
		assert(counter[l] == (u64)n * ROUNDS);
	return 0;
}
