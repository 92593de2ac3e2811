/* A gdb remote-protocol server (all-stop, one inferior whose threads are
 * the target's VCPUs) over a debug target (debug-target.h).
 *
 * Read-only on purpose: register and memory writes (G, P, M, X) are
 * refused, since they would make the run differ from what it replays.
 * Breakpoints and watchpoints go to the table the target consults; the
 * target never patches guest memory. */
#ifndef VCPRR_DEBUG_GDB_SERVER_H
#define VCPRR_DEBUG_GDB_SERVER_H

#include "debug/debug-target.h"

enum gdb_serve_end {
	GDB_SERVE_DETACHED = 0,  /* D: gdb let the run go on */
	GDB_SERVE_KILLED,        /* k or vKill */
	GDB_SERVE_HUNG_UP,       /* the connection closed */
	GDB_SERVE_QUIT,          /* quit_fd became readable */
};

/* Serves the connected socket @fd until gdb detaches, kills or hangs up,
 * or @quit_fd (-1: none) becomes readable.  @points is the table the
 * target was created with.  Never closes @fd. */
enum gdb_serve_end gdb_serve(int fd, const struct debug_target *target,
			     struct debug_points *points, int quit_fd);

#endif
