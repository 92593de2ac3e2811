/* Breakpoints and watchpoints a debugger set (gdb's Z packets), in one
 * table that the target consults as it runs.
 *
 * The server edits the table only while the target is stopped, and the
 * target reads it only while running: the target's stop/resume handshake
 * orders the two, so the table itself takes no lock.  `gen` changes with
 * every edit, so a target can tell when to reprogram debug registers. */
#ifndef VCPRR_DEBUG_DEBUG_POINTS_H
#define VCPRR_DEBUG_DEBUG_POINTS_H

#include <stdbool.h>
#include <stdint.h>

#define DEBUG_MAX_BREAKS  64
#define DEBUG_MAX_WATCHES 4    /* x86 has four debug address registers */

/* gdb's Z types. */
enum debug_point_type {
	DEBUG_SW_BREAK = 0,
	DEBUG_HW_BREAK = 1,
	DEBUG_WATCH_WRITE = 2,
	DEBUG_WATCH_READ = 3,
	DEBUG_WATCH_ACCESS = 4,
};

struct debug_watch {
	enum debug_point_type type;
	uint64_t addr;
	unsigned len;          /* 1, 2, 4 or 8, aligned */
};

struct debug_points {
	uint64_t gen;
	unsigned nbreaks, nwatches;
	struct {
		enum debug_point_type type;
		uint64_t addr;
	} breaks[DEBUG_MAX_BREAKS];
	struct debug_watch watches[DEBUG_MAX_WATCHES];
};

/* Adds or removes a Z point of @type at [addr, addr + len).  A watched
 * range that is not one aligned 1/2/4/8-byte word takes several debug
 * registers.  0, -ENOSPC when the table or the registers are full, -EINVAL
 * for a type or length the target cannot watch, -ENOENT when removing what
 * is not there. */
int debug_points_add(struct debug_points *p, enum debug_point_type type,
		     uint64_t addr, uint64_t len);
int debug_points_remove(struct debug_points *p, enum debug_point_type type,
			uint64_t addr, uint64_t len);

/* The breakpoint at @rip, if any (its type in *type). */
bool debug_points_break_at(const struct debug_points *p, uint64_t rip,
			   enum debug_point_type *type);

/* The x86 debug registers for the watches: DR0-3 in addr, DR7 returned. */
uint64_t debug_points_dr7(const struct debug_points *p, uint64_t addr[4]);

#endif
