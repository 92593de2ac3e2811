/* The memory-access log of a step-mode run, and the races in it.
 *
 * The step-mode run loop (or a replay) hands over every instruction before
 * it executes, as a sample (VCPU, step, registers, the bytes at RIP);
 * access_log_step() decodes it (x86-access.h) and appends its accesses,
 * a hypercall when it writes the hypercall port.  The controller's pause
 * and resume edges come from the trace (access_log_event()).
 *
 * access_log_races() then runs the race detector (race-hb.h) over the
 * whole log in two passes.  The first decides which locations are
 * synchronisation variables, because x86 code does not say: compilers
 * emit a plain mov for an atomic load and for a release store.  A location
 * is one when any byte of it is
 *  - touched by a locked instruction (lock prefix, xchg),
 *  - stored by a mov that a full fence follows (mfence or a locked
 *    instruction: the seq_cst store of some compilers), or
 *  - polled: loaded again by the same instruction of the same VCPU, at
 *    the same address, with no store of that VCPU to it in between (a
 *    flag or index someone else is expected to change).
 * The second pass feeds the detector, where the naturally aligned plain
 * loads and stores of 1 to 8 bytes (what an atomic compiles to) to those
 * locations count as atomic; string instructions, unaligned, wider and
 * non-locked read-modify-write accesses never do.  Deciding over the whole
 * log keeps the verdict independent of where in the run a location first
 * showed it is a synchronisation variable.
 *
 * Not thread-safe: one log per run, filled by one thread at a time. */
#ifndef VCPRR_TOOLS_ANALYZE_LOG_H
#define VCPRR_TOOLS_ANALYZE_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tools/race-hb.h"
#include "tools/x86-access.h"

/* One instruction about to execute. */
struct analyze_sample {
	unsigned vcpu;
	uint64_t step;                  /* the scheduler's step */
	struct x86_cpu cpu;             /* regs.rip is the instruction */
	uint8_t bytes[X86_MAX_INSN_LEN];
	uint8_t nbytes;                 /* bytes readable at rip (a page end
					   or the end of RAM may cut them) */
};

enum alog_kind {
	ALOG_ACCESS,
	ALOG_FENCE,           /* mfence, lfence, sfence */
	ALOG_HYPERCALL,
	ALOG_UNDECODABLE,     /* bytes that are no instruction */
	ALOG_UNKNOWN_ACCESS,  /* accesses at addresses not in the registers */
	ALOG_PAUSE_REQUEST,   /* controller -> vcpu */
	ALOG_PAUSE_TAKEN,
	ALOG_RESUME_REQUEST,
	ALOG_RESUMED,
};

/* struct alog_entry.flags */
#define ALOG_READ        1u
#define ALOG_WRITE       2u
#define ALOG_LOCKED      4u   /* atomic: locked RMW or xchg */
#define ALOG_MAYBE_ATOMIC 8u  /* aligned plain load/store of 1-8 bytes */
#define ALOG_STRING     16u
#define ALOG_STACK      32u

struct alog_entry {
	uint64_t step, rip, addr;
	uint32_t size;
	uint16_t vcpu;
	uint8_t kind;    /* enum alog_kind */
	uint8_t flags;   /* ALOG_* */
	uint8_t len;     /* instruction length */
};

struct access_log;

/* A log of at most max_entries entries (0: 64 Mi). */
struct access_log *access_log_new(size_t max_entries);
void access_log_free(struct access_log *log);

/* Appends the sample's instruction.  Returns 0, or -1 when the log is
 * full (access_log_full() then says so; nothing more is appended). */
int access_log_step(struct access_log *log, const struct analyze_sample *s);
/* Appends a controller edge (ALOG_PAUSE_* / ALOG_RESUME*). */
int access_log_event(struct access_log *log, unsigned vcpu, uint64_t step,
		     enum alog_kind kind);

const struct alog_entry *access_log_entries(const struct access_log *log,
					    size_t *n);
bool access_log_full(const struct access_log *log);

/* Runs the race detector over the log (see above).  cfg->nr_vcpus must
 * exceed every VCPU in the log.  Returns the detector for hb_races() (the
 * caller frees it), or NULL when out of memory. */
struct hb *access_log_races(const struct access_log *log,
			    const struct hb_config *cfg);

#endif
