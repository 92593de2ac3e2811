/* A VCPU's stops, on its own thread: taking the latest pause request, and
 * stopping with an event (a pause, INIT, a raw-mode IO access) through the
 * mode's operations around the handshake. */
#ifndef VCPRR_VMM_VCPU_STOP_H
#define VCPRR_VMM_VCPU_STOP_H

#include "vmm/vm-state.h"

/* Takes the latest pause request if there is one newer than the last
 * taken: reports PAUSED and blocks until resumed.  True when it paused. */
bool vcpu_pause_check(struct vcpu *v);

/* Reports ev, blocks until resumed or the run ends, applies staged edits.
 * Returns the resume data (0 when the end woke it). */
uint64_t vcpu_stop(struct vcpu *v, struct vcpu_event *ev);

#endif
