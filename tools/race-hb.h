/* Happens-before data race detection over a stream of memory accesses and
 * synchronisation events, with vector clocks in the style of FastTrack and
 * ThreadSanitizer.
 *
 * Threads are the VCPUs 0..nr_vcpus-1 and the controller (thread
 * nr_vcpus).  Two accesses race when they touch a common byte from
 * different threads, at least one writes, not both are atomic, and neither
 * happens before the other.  Happens-before is program order plus:
 *  - atomics, through their location (TSan's model): an atomic load
 *    acquires what every atomic store or read-modify-write to that address
 *    released, and an atomic store or RMW is ordered after the atomic
 *    loads that read the value it replaces (a from-read edge: x86-TSO
 *    executes a load before a later store to the same place, which is what
 *    lets a seqlock reader's plain reads go unreported);
 *  - hypercalls: each acquires and releases the VMM, which serves them one
 *    at a time;
 *  - pauses: a pause request orders the controller before the VCPU taking
 *    it, the pause taken orders the VCPU before the controller's resume,
 *    and the resume orders the controller before the VCPU resuming.
 * Fences need no edge of their own: on x86 every atomic load acquires and
 * every atomic store releases already; which accesses are atomic is the
 * caller's call (analyze-log.h decides it for guest instructions).
 *
 * Shadow state exists only for touched 8-byte granules and atomic
 * locations; all of it is counted and bounded (hb_config.max_bytes).
 * Each race is reported once per pair of source locations.  Not
 * thread-safe: one stream, one caller. */
#ifndef VCPRR_TOOLS_RACE_HB_H
#define VCPRR_TOOLS_RACE_HB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HB_READ  1u
#define HB_WRITE 2u
#define HB_MAX_THREADS 1025          /* VM_MAX_VCPUS and the controller */
#define HB_MAX_ACCESS  4096u         /* bytes checked of one access */

struct hb;

/* Shadow memory works in 8-byte granules: the bytes of granule g (address
 * g * 8) that [addr, addr + size) covers, as a mask. */
static inline uint8_t hb_granule_mask(uint64_t g, uint64_t addr, uint64_t size)
{
	uint64_t lo = g << 3 > addr ? g << 3 : addr;
	uint64_t hi = (g << 3) + 8 < addr + size ? (g << 3) + 8 : addr + size;

	return (uint8_t)(((1u << (hi - lo)) - 1) << (lo & 7));
}

struct hb_access {
	unsigned thread;   /* VCPU id */
	uint64_t step;     /* where in the run (scheduler step), for reports */
	uint64_t rip;      /* the instruction */
	uint64_t addr;
	uint32_t size;     /* bytes */
	uint8_t rw;        /* HB_READ and/or HB_WRITE */
	bool atomic;
};

struct hb_config {
	unsigned nr_vcpus;
	size_t max_bytes;  /* shadow memory allowed; 0: 1 GiB */
	/* The source location of an instruction, so that races are reported
	 * once per pair of locations (e.g. file and line); NULL: the rip. */
	uint64_t (*site)(void *arg, uint64_t rip);
	void *site_arg;
};

/* One side of a race: the access as it was given. */
struct hb_side {
	unsigned thread;
	uint64_t step, rip, addr;
	uint32_t size;
	uint8_t rw;
	bool atomic;
};

struct hb_race {
	uint64_t addr;            /* the first byte both touch */
	struct hb_side first;     /* the earlier access in the stream */
	struct hb_side second;
	uint64_t count;           /* times this pair of sites raced */
};

/* NULL when out of memory or nr_vcpus is 0 or too many. */
struct hb *hb_new(const struct hb_config *cfg);
void hb_free(struct hb *hb);

/* Checks an access and records it.  Returns 0, or -1 once the shadow
 * memory limit is reached (then hb_full() is true and accesses to bytes
 * not seen before go unchecked). */
int hb_access(struct hb *hb, const struct hb_access *a);

void hb_hypercall(struct hb *hb, unsigned vcpu);
void hb_pause_request(struct hb *hb, unsigned vcpu);   /* controller side */
void hb_pause_taken(struct hb *hb, unsigned vcpu);     /* VCPU side */
void hb_resume_request(struct hb *hb, unsigned vcpu);  /* controller side */
void hb_resumed(struct hb *hb, unsigned vcpu);         /* VCPU side */

/* The races found so far, in the order found; valid until the next call
 * that adds one, or hb_free. */
const struct hb_race *hb_races(const struct hb *hb, size_t *n);
bool hb_full(const struct hb *hb);
size_t hb_memory(const struct hb *hb);

#endif
