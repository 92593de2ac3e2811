/* Recording a run whose interleavings a test forces: gates armed before
 * the start (gate.h), the controller API driven from the test's thread. */
#ifndef VCPRR_TESTS_FORCED_RUN_H
#define VCPRR_TESTS_FORCED_RUN_H

#include <stdint.h>

#include "tests/helpers/gate.h"
#include "vmm/sched.h"

struct forced_run {
	const char *guest;
	unsigned vcpus;
	uint64_t arg;
	enum vm_sched_mode mode;       /* policy rr, seed 1 */
	void (*prepare)(struct vm *vm);  /* arms gates, before the start */
	void (*control)(struct vm *vm);  /* the controller, then the end */
};

/* Records f into path (replacing it) with gs as the VM's test hook; every
 * gate is released once control returns.  cmocka asserts. */
void forced_record(const struct forced_run *f, struct gates *gs,
		   const char *path);

#endif
