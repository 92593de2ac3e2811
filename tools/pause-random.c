/* Random pause storms for vcprr run/record. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "tools/pause-random.h"
#include "vmm/controller.h"
#include "vmm/prng.h"

#define PAUSE_TIMEOUT_MS 10000

/* Sleeps ns unless the run ends first; returns 1 when it ended. */
static int sleep_or_end(struct vm *vm, uint64_t ns)
{
	struct pollfd p = { .fd = vm_end_fd(vm), .events = POLLIN };
	struct timespec ts = { ns / 1000000000, ns % 1000000000 };

	return ppoll(&p, 1, &ts, NULL) > 0;
}

/* A random non-empty subset of @alive (n VCPUs). */
static vcpu_mask_t random_mask(struct prng *rng, unsigned n,
			       const vcpu_mask_t *alive)
{
	vcpu_mask_t m;
	bool empty;

	do {
		empty = true;
		memset(&m, 0, sizeof(m));
		for (unsigned i = 0; i < n; i++)
			if (vcpu_mask_test(alive, i) && (prng_next(rng) & 1)) {
				vcpu_mask_set(&m, i);
				empty = false;
			}
	} while (empty);
	return m;
}

/* A VCPU of the mask that did not stop has finished (-ESRCH): it will
 * never take a request again, so it gets none. */
static unsigned forget_finished(vcpu_mask_t *alive, const vcpu_mask_t *mask,
				const vcpu_mask_t *stopped, unsigned n)
{
	unsigned left = 0;

	for (unsigned i = 0; i < n; i++) {
		if (vcpu_mask_test(mask, i) && !vcpu_mask_test(stopped, i))
			alive->bits[i / 64] &= ~(1ull << (i % 64));
		left += vcpu_mask_test(alive, i);
	}
	return left;
}

int pause_random_run(struct pause_random *p, struct vm *vm, char *err,
		     size_t errlen)
{
	struct prng rng = { p->seed };
	unsigned n = vm_nr_vcpus(vm), alive_n = n;
	vcpu_mask_t alive = vcpu_mask_first(n);

	while (alive_n && !sleep_or_end(vm, p->every_ns)) {
		vcpu_mask_t mask = random_mask(&rng, n, &alive), stopped;
		int r;

		vm_pause_vcpus(vm, &mask, prng_next(&rng));
		r = vm_wait_paused(vm, &mask, PAUSE_TIMEOUT_MS, &stopped);
		if (r == -ESHUTDOWN)
			break;
		if (r == -ETIMEDOUT) {
			snprintf(err, errlen, "controller: VCPUs did not report paused "
				 "within %d ms", PAUSE_TIMEOUT_MS);
			return -1;
		}
		if (r == -ESRCH)
			alive_n = forget_finished(&alive, &mask, &stopped, n);
		p->rounds++;
		for (unsigned i = 0; i < n; i++)
			p->vcpu_pauses += vcpu_mask_test(&stopped, i);
		if (p->hold_ns && sleep_or_end(vm, p->hold_ns))
			break;
		vm_resume_vcpus(vm, &stopped, prng_next(&rng));
	}
	return 0;
}
