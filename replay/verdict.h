/* The verdict of a replay: same, diverged, or nothing to replay, and how
 * the replayed run ended, in the words of struct replay_result. */
#ifndef VCPRR_REPLAY_VERDICT_H
#define VCPRR_REPLAY_VERDICT_H

#include "replay/replay.h"
#include "replay/replay-state.h"
#include "vmm/vm.h"

/* A trace in which no run happened: true with r filled in. */
bool verdict_empty(const struct replay *rp, struct replay_result *r);

/* The run has ended (vm_result @res, guest memory @digest): compares it
 * with the recording. */
void verdict_judge(struct replay *rp, const struct vm_result *res,
		   uint64_t digest, struct replay_result *r);

#endif
