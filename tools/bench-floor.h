/* The floors benchmarks compare against, measured on the caller's thread
 * with the same guest and the same KVM setup as a vcprr run: a bare
 * KVM_RUN loop (registers synced through kvm_run, as a run has them when
 * KVM_CAP_SYNC_REGS exists), and a whole bare run (create, run to the
 * guest's final HLT, destroy). */
#ifndef VCPRR_TOOLS_BENCH_FLOOR_H
#define VCPRR_TOOLS_BENCH_FLOOR_H

#include <stdbool.h>
#include <stdint.h>

#include "tools/bench-util.h"

/* Microseconds (wall, CPU) per KVM_RUN return over `exits` returns of
 * `guest` (its PIO and MMIO go nowhere: KVM completes them on the next
 * entry), single stepping when `step`.  0, or -1 with a message on
 * stderr. */
int bench_bare_exits(const char *guest, uint64_t arg, bool step,
		     unsigned exits, struct bench_sample *us);

/* Microseconds (wall, CPU) to create `guest`'s VM, run VCPU 0 to its
 * final HLT on this thread and destroy the VM.  0, or -1 with a message
 * on stderr. */
int bench_bare_run(const char *guest, struct bench_sample *us);

#endif
