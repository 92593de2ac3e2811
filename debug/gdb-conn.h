/* One gdb connection's state, shared by the server's files: gdb-server.c
 * (the loop, execution and data packets) and gdb-query.c (q packets and
 * monitor commands, which only read).  Internal to debug/. */
#ifndef VCPRR_DEBUG_GDB_CONN_H
#define VCPRR_DEBUG_GDB_CONN_H

#include <stdbool.h>

#include "debug/debug-target.h"
#include "debug/gdb-packet.h"

/* Enough for the largest reply, a full 'g' or qXfer chunk. */
#define GDB_REPLY_MAX GDB_PACKET_MAX

struct gdb_conn {
	int fd;
	const struct debug_target *target;
	struct debug_points *points;
	struct gdb_packet_reader reader;
	bool no_ack;
	bool running;            /* resumed; the stop reply is owed */
	bool ended;              /* the run ended (W or X was sent) */
	int g_thread;            /* Hg: registers and memory of this VCPU */
	int c_thread;            /* Hc: legacy s/c step this VCPU (-1: any) */
	unsigned next_thread;    /* qsThreadInfo's cursor */
	struct debug_stop last_stop;
	bool binary;             /* the reply holds binary data (qXfer) */
	size_t reply_len;
	char reply[GDB_REPLY_MAX + 1];
	size_t sent_len;         /* the last framed packet, for a '-' */
	char sent[2 * GDB_REPLY_MAX + 8];
};

/* Formats the reply to send (truncated to GDB_REPLY_MAX). */
void gdb_conn_reply(struct gdb_conn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Answers a 'q' packet into c->reply; an empty reply means unsupported. */
void gdb_query(struct gdb_conn *c, const char *pkt);

#endif
