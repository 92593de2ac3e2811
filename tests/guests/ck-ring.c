/* ck-ring: Concurrency Kit's single-producer single-consumer ring
 * (ck_ring_*_spsc).  VCPU 0 sends numbered messages to the last VCPU,
 * which checks that it gets every one once, in order; a full or empty
 * ring yields.  Correct use (one producer): explore never fails it.
 *
 * ck-ring-2prod builds this with TWO_PRODUCERS: VCPUs 0 and 1 both
 * enqueue with the single-producer call (run it with --vcpus 3).  Two
 * enqueues can take the same slot, and a message is lost. */
#include "vcprr_guest.h"
#include <ck_ring.h>

#ifndef TWO_PRODUCERS
#define TWO_PRODUCERS 0
#endif

#define SLOTS    4      /* a power of two; holds SLOTS - 1 */
#define MESSAGES 10     /* per producer */

static ck_ring_t ring;
static ck_ring_buffer_t slots[SLOTS];
static atomic_uint ready, producers_done;

static void produce(unsigned producer)
{
	for (uintptr_t i = 1; i <= MESSAGES; i++) {
		uintptr_t m = producer << 16 | i;

		while (!ck_ring_enqueue_spsc(&ring, slots, (void *)m))
			vcprr_yield();
		vcprr_yield();
	}
	atomic_fetch_add(&producers_done, 1);
}

static void consume(unsigned producers)
{
	uintptr_t next[2] = { 1, 1 }, m;
	unsigned got = 0;

	for (;;) {
		if (ck_ring_dequeue_spsc(&ring, slots, &m)) {
			unsigned p = (unsigned)(m >> 16);

			assert(p < producers && (m & 0xffff) == next[p]);
			next[p]++;
			got++;
			continue;
		}
		if (atomic_load(&producers_done) == producers &&
		    !ck_ring_size(&ring))
			break;
		vcprr_yield();
	}
	assert(got == producers * MESSAGES);
}

int main(int vcpu)
{
	unsigned producers = TWO_PRODUCERS ? 2 : 1;
	int consumer = vcprr_nr_vcpus() - 1;

	assert(consumer >= (int)producers);
	if (vcpu == 0) {
		ck_ring_init(&ring, SLOTS);
		atomic_store(&ready, 1);
	}
	while (!atomic_load(&ready))
		vcprr_yield();
	if (vcpu == consumer)
		consume(producers);
	else if (vcpu < (int)producers)
		produce((unsigned)vcpu);
	return 0;
}
