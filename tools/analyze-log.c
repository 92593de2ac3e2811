/* The memory-access log and its race check (see analyze-log.h). */
#include <stdlib.h>

#include "tools/analyze-log.h"
#include "tools/u64-map.h"
#include "vmm/guest/abi.h"

#define DEFAULT_MAX_ENTRIES (64u << 20)

struct access_log {
	struct alog_entry *e;
	size_t n, cap, max;
	bool full;
};

struct access_log *access_log_new(size_t max_entries)
{
	struct access_log *log = calloc(1, sizeof(*log));

	if (log)
		log->max = max_entries ? max_entries : DEFAULT_MAX_ENTRIES;
	return log;
}

void access_log_free(struct access_log *log)
{
	if (!log)
		return;
	free(log->e);
	free(log);
}

static struct alog_entry *append(struct access_log *log)
{
	if (log->full)
		return NULL;
	if (log->n == log->cap) {
		size_t cap = log->cap ? log->cap * 2 : 1024;
		struct alog_entry *e;

		if (cap > log->max)
			cap = log->max;
		if (log->n == cap || !(e = realloc(log->e, cap * sizeof(*e)))) {
			log->full = true;
			return NULL;
		}
		log->e = e;
		log->cap = cap;
	}
	return &log->e[log->n++];
}

static int add(struct access_log *log, const struct analyze_sample *s,
	       const struct x86_insn *in, uint8_t kind, uint64_t addr,
	       uint32_t size, uint8_t flags)
{
	struct alog_entry *e = append(log);

	if (!e)
		return -1;
	*e = (struct alog_entry){ s->step, s->cpu.regs.rip, addr, size,
				  (uint16_t)s->vcpu, kind, flags,
				  in ? in->length : 0 };
	return 0;
}

/* What an atomic load or store compiles to: a plain mov-like access of
 * 1, 2, 4 or 8 bytes at an address aligned to its size. */
static bool maybe_atomic(const struct x86_access *a)
{
	return !(a->flags & (X86_ACC_STRING | X86_ACC_STACK)) &&
	       a->rw != (X86_READ | X86_WRITE) &&
	       (a->size == 1 || a->size == 2 || a->size == 4 || a->size == 8) &&
	       !(a->addr & (a->size - 1));
}

int access_log_step(struct access_log *log, const struct analyze_sample *s)
{
	struct x86_insn in;
	int rc = 0;

	if (x86_decode(s->bytes, s->nbytes, &s->cpu, &in))
		return add(log, s, NULL, ALOG_UNDECODABLE, 0, 0, 0);
	for (unsigned i = 0; i < in.naccess; i++) {
		const struct x86_access *a = &in.acc[i];
		uint8_t f = (a->rw & X86_READ ? ALOG_READ : 0) |
			    (a->rw & X86_WRITE ? ALOG_WRITE : 0) |
			    (a->flags & X86_ACC_LOCKED ? ALOG_LOCKED : 0) |
			    (a->flags & X86_ACC_STRING ? ALOG_STRING : 0) |
			    (a->flags & X86_ACC_STACK ? ALOG_STACK : 0) |
			    (maybe_atomic(a) ? ALOG_MAYBE_ATOMIC : 0);

		rc |= add(log, s, &in, ALOG_ACCESS, a->addr, a->size, f);
	}
	if (in.unknown_access)
		rc |= add(log, s, &in, ALOG_UNKNOWN_ACCESS, 0, 0, 0);
	if (in.cls == X86_INSN_FENCE)
		rc |= add(log, s, &in, ALOG_FENCE, 0, 0, in.fence);
	if (in.cls == X86_INSN_IO && in.io_out &&
	    in.io_port == VCPRR_PORT_HYPERCALL)
		rc |= add(log, s, &in, ALOG_HYPERCALL, 0, 0, 0);
	return rc ? -1 : 0;
}

int access_log_event(struct access_log *log, unsigned vcpu, uint64_t step,
		     enum alog_kind kind)
{
	struct analyze_sample s = { .vcpu = vcpu, .step = step };

	return add(log, &s, NULL, (uint8_t)kind, 0, 0, 0);
}

const struct alog_entry *access_log_entries(const struct access_log *log,
					    size_t *n)
{
	*n = log->n;
	return log->e;
}

bool access_log_full(const struct access_log *log)
{
	return log->full;
}

/* --- which locations synchronise ------------------------------------------ */

/* Bytes of synchronisation variables: 8-byte granule -> byte mask. */
struct sync_set {
	struct u64_map bytes;
	bool oom;
};

static void mark(struct sync_set *ss, const struct alog_entry *e)
{
	uint32_t size = e->size < HB_MAX_ACCESS ? e->size : HB_MAX_ACCESS;

	for (uint64_t g = e->addr >> 3; g <= (e->addr + size - 1) >> 3; g++) {
		uint64_t *m = u64_map_slot(&ss->bytes, g, true);

		if (!m) {
			ss->oom = true;
			return;
		}
		*m |= hb_granule_mask(g, e->addr, size);
	}
}

/* Every byte of the access belongs to a synchronisation variable (a
 * maybe-atomic access spans at most one granule). */
static bool all_marked(struct sync_set *ss, const struct alog_entry *e)
{
	uint64_t g = e->addr >> 3;
	uint8_t want = hb_granule_mask(g, e->addr, e->size);
	uint64_t *m = u64_map_slot(&ss->bytes, g, false);

	return m && (*m & want) == want;
}

static uint64_t vcpu_key(uint16_t vcpu, uint64_t x)
{
	return x * 0x9e3779b97f4a7c15ull ^ vcpu;
}

/* The first pass: locked accesses, stores a full fence follows, polls. */
static void find_sync(const struct access_log *log, struct sync_set *ss,
		      unsigned nr_vcpus)
{
	struct u64_map last_load = { 0 }, last_store = { 0 };
	size_t *pending = calloc(nr_vcpus, sizeof(*pending));  /* store + 1 */

	if (!pending) {
		ss->oom = true;
		return;
	}
	for (size_t i = 0; i < log->n; i++) {
		const struct alog_entry *e = &log->e[i];
		const struct alog_entry *st;
		uint64_t *slot;

		if (e->vcpu >= nr_vcpus)
			continue;
		/* a store, then a full fence as the very next instruction */
		st = pending[e->vcpu] ? &log->e[pending[e->vcpu] - 1] : NULL;
		if (st && e->rip == st->rip + st->len &&
		    ((e->kind == ALOG_FENCE && e->flags == X86_FENCE_FULL) ||
		     (e->kind == ALOG_ACCESS && (e->flags & ALOG_LOCKED))))
			mark(ss, st);
		if (st && e->rip != st->rip)
			pending[e->vcpu] = 0;
		if (e->kind != ALOG_ACCESS)
			continue;
		if (e->flags & ALOG_LOCKED)
			mark(ss, e);
		if (e->flags & ALOG_WRITE) {
			slot = u64_map_slot(&last_store,
					    vcpu_key(e->vcpu, e->addr >> 3), true);
			if (slot)
				*slot = i + 1;
			if ((e->flags & ALOG_MAYBE_ATOMIC) && !(e->flags & ALOG_LOCKED))
				pending[e->vcpu] = i + 1;
			continue;
		}
		if (!(e->flags & ALOG_MAYBE_ATOMIC))
			continue;
		/* a poll: this instruction loaded this address last time too,
		 * and the VCPU has not stored to it since */
		slot = u64_map_slot(&last_load, vcpu_key(e->vcpu, e->rip), true);
		if (!slot) {
			ss->oom = true;
			break;
		}
		if (*slot && log->e[*slot - 1].addr == e->addr) {
			uint64_t *w = u64_map_slot(&last_store,
						   vcpu_key(e->vcpu, e->addr >> 3),
						   false);
			if (!w || *w < *slot)
				mark(ss, e);
		}
		*slot = i + 1;
	}
	free(pending);
	u64_map_free(&last_load);
	u64_map_free(&last_store);
}

/* --- the race check --------------------------------------------------------- */

static void feed(struct hb *hb, struct sync_set *ss, const struct alog_entry *e)
{
	struct hb_access a;

	switch (e->kind) {
	case ALOG_ACCESS:
		a = (struct hb_access){
			e->vcpu, e->step, e->rip, e->addr, e->size,
			(uint8_t)((e->flags & ALOG_READ ? HB_READ : 0) |
				  (e->flags & ALOG_WRITE ? HB_WRITE : 0)),
			(e->flags & ALOG_LOCKED) ||
			((e->flags & ALOG_MAYBE_ATOMIC) && all_marked(ss, e)),
		};
		hb_access(hb, &a);
		break;
	case ALOG_HYPERCALL:
		hb_hypercall(hb, e->vcpu);
		break;
	case ALOG_PAUSE_REQUEST:
		hb_pause_request(hb, e->vcpu);
		break;
	case ALOG_PAUSE_TAKEN:
		hb_pause_taken(hb, e->vcpu);
		break;
	case ALOG_RESUME_REQUEST:
		hb_resume_request(hb, e->vcpu);
		break;
	case ALOG_RESUMED:
		hb_resumed(hb, e->vcpu);
		break;
	default:
		break;
	}
}

struct hb *access_log_races(const struct access_log *log,
			    const struct hb_config *cfg)
{
	struct sync_set ss = { { 0 }, false };
	struct hb *hb = hb_new(cfg);

	if (!hb)
		return NULL;
	find_sync(log, &ss, cfg->nr_vcpus);
	if (ss.oom) {
		hb_free(hb);
		hb = NULL;
		goto out;
	}
	for (size_t i = 0; i < log->n; i++)
		feed(hb, &ss, &log->e[i]);
out:
	u64_map_free(&ss.bytes);
	return hb;
}
