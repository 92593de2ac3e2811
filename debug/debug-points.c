/* The breakpoint and watchpoint table (see debug-points.h). */
#include <errno.h>
#include <string.h>

#include "debug/debug-points.h"

static bool is_watch(enum debug_point_type t)
{
	return t >= DEBUG_WATCH_WRITE && t <= DEBUG_WATCH_ACCESS;
}

/* The largest aligned 1/2/4/8-byte word at addr within len bytes. */
static unsigned word_at(uint64_t addr, uint64_t len)
{
	unsigned w = 8;

	while (w > 1 && ((addr & (w - 1)) || w > len))
		w /= 2;
	return w;
}

static unsigned words_needed(uint64_t addr, uint64_t len)
{
	unsigned n = 0;

	while (len) {
		unsigned w = word_at(addr, len);

		addr += w;
		len -= w;
		if (++n > DEBUG_MAX_WATCHES)
			break;
	}
	return n;
}

static int add_watch(struct debug_points *p, enum debug_point_type type,
		     uint64_t addr, uint64_t len)
{
	if (len == 0 || len > 32)
		return -EINVAL;
	if (p->nwatches + words_needed(addr, len) > DEBUG_MAX_WATCHES)
		return -ENOSPC;
	while (len) {
		unsigned w = word_at(addr, len);

		p->watches[p->nwatches++] = (struct debug_watch){ type, addr, w };
		addr += w;
		len -= w;
	}
	return 0;
}

static int remove_watch(struct debug_points *p, enum debug_point_type type,
			uint64_t addr, uint64_t len)
{
	unsigned removed = 0;

	for (unsigned i = 0; i < p->nwatches;) {
		struct debug_watch *w = &p->watches[i];

		if (w->type == type && w->addr >= addr && w->addr - addr < len) {
			*w = p->watches[--p->nwatches];
			removed++;
			continue;
		}
		i++;
	}
	return removed ? 0 : -ENOENT;
}

int debug_points_add(struct debug_points *p, enum debug_point_type type,
		     uint64_t addr, uint64_t len)
{
	int r;

	if (is_watch(type)) {
		r = add_watch(p, type, addr, len);
	} else if (type == DEBUG_SW_BREAK || type == DEBUG_HW_BREAK) {
		r = -ENOSPC;
		if (p->nbreaks < DEBUG_MAX_BREAKS) {
			p->breaks[p->nbreaks].type = type;
			p->breaks[p->nbreaks++].addr = addr;
			r = 0;
		}
	} else {
		r = -EINVAL;
	}
	if (!r)
		p->gen++;
	return r;
}

int debug_points_remove(struct debug_points *p, enum debug_point_type type,
			uint64_t addr, uint64_t len)
{
	int r = -ENOENT;

	if (is_watch(type)) {
		r = remove_watch(p, type, addr, len);
	} else {
		for (unsigned i = 0; i < p->nbreaks; i++) {
			if (p->breaks[i].type != type || p->breaks[i].addr != addr)
				continue;
			p->breaks[i] = p->breaks[--p->nbreaks];
			r = 0;
			break;
		}
	}
	if (!r)
		p->gen++;
	return r;
}

bool debug_points_break_at(const struct debug_points *p, uint64_t rip,
			   enum debug_point_type *type)
{
	for (unsigned i = 0; i < p->nbreaks; i++) {
		if (p->breaks[i].addr == rip) {
			*type = p->breaks[i].type;
			return true;
		}
	}
	return false;
}

uint64_t debug_points_dr7(const struct debug_points *p, uint64_t addr[4])
{
	/* DR7: L0-L3 enable bits, then per register R/W (01 write, 11 read
	 * or write: x86 has no read-only watch) and LEN (00 1, 01 2, 11 4,
	 * 10 8 bytes).  GE (bit 9) asks for exact reporting. */
	static const unsigned len_bits[9] = { [1] = 0, [2] = 1, [4] = 3, [8] = 2 };
	uint64_t dr7 = 0;

	memset(addr, 0, 4 * sizeof(addr[0]));
	for (unsigned i = 0; i < p->nwatches; i++) {
		const struct debug_watch *w = &p->watches[i];
		unsigned rw = w->type == DEBUG_WATCH_WRITE ? 1 : 3;

		addr[i] = w->addr;
		dr7 |= 1ull << (i * 2);
		dr7 |= (uint64_t)(rw | len_bits[w->len] << 2) << (16 + i * 4);
	}
	return dr7 ? dr7 | 1ull << 9 : 0;
}
