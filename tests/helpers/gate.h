/* Forcing interleavings through the VMM's test hooks (vm_config.test_hook).
 *
 * A gate blocks one VCPU thread at one hook point (after `skip` passes)
 * until the test releases it.  Every hook call is also counted, per point
 * and VCPU, so that a test can wait until something happened (a controller
 * started waiting for a VCPU, a VCPU stopped) instead of sleeping.  Other
 * threads of the test (a controller) can signal the gates' condition when
 * their own state changes. */
#ifndef VCPRR_TESTS_GATE_H
#define VCPRR_TESTS_GATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/test-hooks.h"
#include "vmm/vm.h"

#define GATES_MAX       4
#define GATES_MAX_VCPUS 64

struct gates {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct {
		bool armed, arrived, released;
		unsigned vcpu;
		enum vcpu_hook_point point;
		int skip;
	} g[GATES_MAX];
	unsigned seen[VCPU_HOOK_COUNT][GATES_MAX_VCPUS];
};

/* For vm_config: .test_hook = gates_hook, .test_hook_arg = &gates. */
void gates_hook(struct vm *vm, unsigned vcpu, enum vcpu_hook_point p,
		void *arg);

void gates_init(struct gates *gs);
void gates_destroy(struct gates *gs);

/* Arms a gate; returns its number. */
int gate_arm(struct gates *gs, unsigned vcpu, enum vcpu_hook_point p, int skip);
/* Waits (up to 5 s) until the gate's VCPU is held there; true if it is. */
bool gate_wait_arrived(struct gates *gs, int id);
void gate_release(struct gates *gs, int id);
/* Releases every gate and disarms them (teardown). */
void gates_release_all(struct gates *gs);

/* How many times `vcpu` passed point p. */
unsigned gates_seen(struct gates *gs, unsigned vcpu, enum vcpu_hook_point p);

/* Waits up to ms until cond(arg) holds; cond runs with gs->lock held.
 * True if it held. */
bool gates_wait_until(struct gates *gs, bool (*cond)(struct gates *, void *),
		      void *arg, int ms);
/* Wakes gates_wait_until() after a change the hooks do not see. */
void gates_signal(struct gates *gs);

/* A controller's `wait ID` (up to ms), then the event VCPU id stopped
 * with: a pause with data and request number seq (cmocka asserts). */
void expect_pause_event(struct vm *vm, unsigned id, uint64_t data,
			uint64_t seq, int ms);

#endif
