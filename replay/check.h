/* Checking every event the replayed run produces against the next one of
 * its stream (a VCPU's own events, or the requests and resumes aimed at
 * it), and knowing when the recorded events are all replayed. */
#ifndef VCPRR_REPLAY_CHECK_H
#define VCPRR_REPLAY_CHECK_H

#include <stddef.h>

#include "replay/replay-state.h"

/* After load_streams: the VCPUs that have nothing to replay. */
void check_init(struct replay *rp);

/* The vm_replay_hooks members (see vmm/replay-hooks.h). */
enum vm_replay_verdict check_event(void *arg, const struct trace_event *ev,
				   const void *payload,
				   struct vm_replay_check *c);
void check_read_input(void *arg, unsigned vcpu, uint32_t type, uint64_t addr,
		      uint64_t access, uint64_t *val);
/* Parallel: whether the VCPU has replayed everything a cut recording
 * holds of it (it then waits for the others). */
bool check_vcpu_ended(void *arg, unsigned vcpu);

/* Whether every VCPU has replayed all it can: the run may end. */
bool check_all_ended(const struct replay *rp);
/* With the end recorded: every VCPU waits for the run's stop, or is gone. */
bool check_all_await_stop(struct replay *rp);

/* One event for a report: "EXIT_PIO vcpu=0 port=0x510 out size=4
 * data=0x41 exit=3 rip=0x100ac9", its fields decoded as `vcprr inspect
 * dump` decodes them. */
int check_fmt_event(char *buf, size_t len, const struct trace_event *ev,
		    const uint8_t *pl);

#endif
