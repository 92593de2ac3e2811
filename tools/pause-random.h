/* The random pause controller of `vcprr run --pause-every DUR --hold DUR`:
 * every DUR it pauses a random non-empty set of VCPUs with random data,
 * waits until they report paused, holds them, and resumes them. */
#ifndef VCPRR_TOOLS_PAUSE_RANDOM_H
#define VCPRR_TOOLS_PAUSE_RANDOM_H

#include <stdint.h>

#include "vmm/vm.h"

struct pause_random {
	uint64_t every_ns, hold_ns, seed;
	/* results */
	uint64_t rounds, vcpu_pauses;
};

/* Runs until the VM's run ends.  Returns 0, or -1 with a message when VCPUs
 * did not pause in time. */
int pause_random_run(struct pause_random *p, struct vm *vm, char *err,
		     size_t errlen);

#endif
