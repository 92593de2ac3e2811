/* Where a gdb server listens: "[HOST:]PORT" (TCP; HOST defaults to
 * 127.0.0.1, PORT 0 picks a free one) or "unix:PATH" (a unix socket that
 * must not exist yet, removed by gdb_listen_close). */
#ifndef VCPRR_DEBUG_GDB_LISTEN_H
#define VCPRR_DEBUG_GDB_LISTEN_H

#include <stddef.h>

struct gdb_listener {
	int fd;
	char unix_path[108];  /* set for unix sockets */
	char gdb_target[160]; /* what to give gdb's `target remote` */
};

/* Binds and listens.  0, or -1 with a message naming @spec in err (a port
 * in use, a bad host, a path that exists). */
int gdb_listen(struct gdb_listener *l, const char *spec, char *err,
	       size_t errlen);

/* Waits for one connection, or until @quit_fd (-1: none) is readable
 * (then returns -1 with errno EINTR).  The connected fd, or -1. */
int gdb_accept(struct gdb_listener *l, int quit_fd);

/* Closes the socket and removes a unix socket's file. */
void gdb_listen_close(struct gdb_listener *l);

#endif
