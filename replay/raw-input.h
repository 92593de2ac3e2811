/* Plugin traces (raw-mode VMs of crosvm plugins): rebuilding the memory
 * and VM settings the plugin made before the start, and applying what it
 * set later (VM inputs, VCPU state) at the stop it was made in. */
#ifndef VCPRR_REPLAY_RAW_INPUT_H
#define VCPRR_REPLAY_RAW_INPUT_H

#include <stddef.h>

#include "replay/replay-state.h"
#include "vmm/vm.h"

void raw_input_init(struct replay *rp);
void raw_input_free(struct replay *rp);

/* The guest memory and VM settings as the plugin set them up before the
 * start.  0, or -1 with a message. */
int raw_build_memory(struct replay *rp, char *err, size_t errlen);

/* Before the VCPU's resume at trace seq @until: what the plugin set while
 * it was stopped, in order (its own state; VM inputs once every other
 * VCPU waits in the stop it was in then).  Its own thread. */
void raw_apply_until(struct replay *rp, unsigned vcpu, uint64_t until);
/* The VCPU stays stopped to the end (no resume is recorded). */
void raw_park_for_good(struct replay *rp, unsigned vcpu);

/* The vm_raw_hooks claim_io: whether the recording has the plugin claim
 * this access (and whether the VCPU stopped for it). */
enum vm_io_claim raw_claim_io(void *arg, unsigned vcpu, unsigned space,
			      uint64_t addr, uint32_t len, bool is_write,
			      const uint8_t *data);

/* Why a trace with an input made while a VCPU ran cannot be replayed. */
void raw_describe_unplaced(const struct replay *rp, char *err, size_t len);

#endif
