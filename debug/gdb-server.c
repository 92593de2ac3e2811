/* The gdb remote-protocol server: the connection loop, acknowledgements,
 * execution (vCont, c, s, bc, bs), stop replies, registers, memory and
 * breakpoints.  Queries are gdb-query.c's. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "debug/gdb-conn.h"
#include "debug/gdb-regs.h"
#include "debug/gdb-server.h"

#define NO_REVERSE "E.reverse execution needs a replay: vcprr debug TRACE (a step recording)"
#define READ_ONLY "E.vcprr debug is read-only: a write would change the run " \
		  "being replayed"

/* GDB signal numbers of the stop replies. */
#define GDB_SIGINT  2
#define GDB_SIGTRAP 5
#define GDB_SIGABRT 6

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int send_reply(struct gdb_conn *c)
{
	c->sent_len = gdb_packet_frame(c->reply, c->reply_len, c->binary,
				       c->sent, sizeof(c->sent));
	return write_all(c->fd, c->sent, c->sent_len);
}

/* --- stop replies ------------------------------------------------------ */

static const char *watch_name(enum debug_point_type t)
{
	return t == DEBUG_WATCH_READ ? "rwatch" :
	       t == DEBUG_WATCH_ACCESS ? "awatch" : "watch";
}

/* Console output for gdb to print ("O" packet, hex text). */
static void console(struct gdb_conn *c, const char *text)
{
	size_t n = strlen(text);

	if (n > GDB_REPLY_MAX / 2 - 1)
		n = GDB_REPLY_MAX / 2 - 1;
	c->reply[0] = 'O';
	gdb_hex_encode(text, n, c->reply + 1);
	c->reply_len = 1 + 2 * n;
	c->binary = false;
	send_reply(c);
}

static void stop_reply(struct gdb_conn *c, const struct debug_stop *s)
{
	unsigned tid = s->thread + 1;

	switch (s->kind) {
	case DEBUG_STOP_EXITED:
		c->ended = true;
		gdb_conn_reply(c, "W%02x", s->exit_code & 0xff);
		return;
	case DEBUG_STOP_FAULT:
		c->ended = true;
		if (s->why[0]) {
			char line[sizeof(s->why) + 16];

			snprintf(line, sizeof(line), "vcprr: %s\n", s->why);
			console(c, line);
		}
		gdb_conn_reply(c, "X%02x", GDB_SIGABRT);
		return;
	case DEBUG_STOP_INTERRUPT:
		gdb_conn_reply(c, "T%02xthread:%x;", GDB_SIGINT, tid);
		return;
	case DEBUG_STOP_BREAK:
		gdb_conn_reply(c, "T%02xthread:%x;%s:;", GDB_SIGTRAP, tid,
			       s->point_type == DEBUG_HW_BREAK ? "hwbreak" :
			       "swbreak");
		return;
	case DEBUG_STOP_WATCH:
		gdb_conn_reply(c, "T%02xthread:%x;%s:%" PRIx64 ";", GDB_SIGTRAP,
			       tid, watch_name(s->point_type), s->addr);
		return;
	case DEBUG_STOP_TRACE_BEGIN:
	case DEBUG_STOP_TRACE_END:
		gdb_conn_reply(c, "T%02xthread:%x;replaylog:%s;", GDB_SIGTRAP,
			       tid, s->kind == DEBUG_STOP_TRACE_BEGIN ? "begin" :
			       "end");
		return;
	default:
		gdb_conn_reply(c, "T%02xthread:%x;", GDB_SIGTRAP, tid);
	}
}

/* --- execution ------------------------------------------------------------ */

static void resume(struct gdb_conn *c, const struct debug_resume *r,
		   bool reverse)
{
	const struct debug_target_ops *ops = c->target->ops;
	char err[256] = "";
	int ret;

	if (c->ended) {
		gdb_conn_reply(c, "E.the run has ended");
		return;
	}
	if (reverse && !ops->reverse) {
		gdb_conn_reply(c, NO_REVERSE);
		return;
	}
	if (reverse) {
		struct debug_resume back = *r;

		back.interrupt_fd = c->fd;  /* a 0x03 from gdb stops it */
		ret = ops->reverse(c->target->t, &back, err, sizeof(err));
	} else {
		ret = ops->resume(c->target->t, r, err, sizeof(err));
	}
	if (ret < 0) {
		gdb_conn_reply(c, "E.%s", err[0] ? err : strerror(-ret));
		return;
	}
	c->running = true;
	c->reply_len = 0;  /* the stop reply comes when the target stops */
}

static int thread_id(struct gdb_conn *c, const char **s)
{
	uint64_t tid;
	unsigned nr = c->target->ops->nr_threads(c->target->t);

	if (!strncmp(*s, "-1", 2)) {
		*s += 2;
		return -1;
	}
	if (gdb_hex_u64(s, &tid) || tid > nr)
		return -2;
	return (int)tid - 1;  /* 0, "any thread", becomes -1 */
}

/* vCont;ACTION[:TID];... in all-stop: a step action makes the resume a
 * step of its thread; the others run as the schedule has them. */
static void vcont(struct gdb_conn *c, const char *s)
{
	struct debug_resume r = { .kind = DEBUG_CONTINUE, .thread = -1 };

	while (*s == ';') {
		char action = *++s;
		int tid = -1;

		if (action != 'c' && action != 'C' && action != 's' &&
		    action != 'S') {
			gdb_conn_reply(c, "E.vCont action '%c' is not supported",
				       action ? action : ' ');
			return;
		}
		s++;
		if (action == 'C' || action == 'S')  /* signals do not exist */
			s += strspn(s, "0123456789abcdefABCDEF");
		if (*s == ':') {
			s++;
			tid = thread_id(c, &s);
			if (tid < -1) {
				gdb_conn_reply(c, "E.vCont: bad thread");
				return;
			}
		}
		if ((action == 's' || action == 'S') &&
		    r.kind != DEBUG_STEP) {
			r.kind = DEBUG_STEP;
			r.thread = tid;
		}
	}
	if (*s) {
		gdb_conn_reply(c, "E.malformed vCont");
		return;
	}
	resume(c, &r, false);
}

static void set_thread(struct gdb_conn *c, const char *s)
{
	char which = *s++;
	int tid = thread_id(c, &s);

	if (tid < -1 || *s || (which != 'g' && which != 'c')) {
		gdb_conn_reply(c, "E01");
		return;
	}
	if (which == 'g')
		c->g_thread = tid < 0 ? (int)c->last_stop.thread : tid;
	else
		c->c_thread = tid;
	gdb_conn_reply(c, "OK");
}

static void thread_alive(struct gdb_conn *c, const char *s)
{
	int tid = thread_id(c, &s);

	gdb_conn_reply(c, tid >= 0 && !*s ? "OK" : "E01");
}

/* --- data ------------------------------------------------------------------ */

static int current_regs(struct gdb_conn *c, struct debug_regs *r)
{
	return c->target->ops->read_regs(c->target->t, (unsigned)c->g_thread, r);
}

static void read_all_regs(struct gdb_conn *c)
{
	struct debug_regs r;

	if (current_regs(c, &r) < 0) {
		gdb_conn_reply(c, "E01");
		return;
	}
	c->reply_len = gdb_regs_hex(&r, c->reply, sizeof(c->reply));
	c->binary = false;
}

static void read_one_reg(struct gdb_conn *c, const char *s)
{
	struct debug_regs r;
	uint64_t regno;

	if (gdb_hex_u64(&s, &regno) || *s || regno >= GDB_NR_REGS) {
		gdb_conn_reply(c, "E00");
		return;
	}
	if (current_regs(c, &r) < 0) {
		gdb_conn_reply(c, "E01");
		return;
	}
	c->reply_len = gdb_reg_hex(&r, (unsigned)regno, c->reply);
	c->binary = false;
}

static void read_memory(struct gdb_conn *c, const char *s)
{
	uint8_t buf[GDB_REPLY_MAX / 2];
	uint64_t addr, len;
	ssize_t n;

	if (gdb_hex_u64(&s, &addr) || *s++ != ',' || gdb_hex_u64(&s, &len) ||
	    *s) {
		gdb_conn_reply(c, "E01");
		return;
	}
	if (len > sizeof(buf))
		len = sizeof(buf);  /* gdb asks again for the rest */
	n = len ? c->target->ops->read_mem(c->target->t, (unsigned)c->g_thread,
					   addr, buf, len) : 0;
	if (n < 0 || (n == 0 && len)) {
		gdb_conn_reply(c, "E14");  /* EFAULT */
		return;
	}
	gdb_hex_encode(buf, (size_t)n, c->reply);
	c->reply_len = 2 * (size_t)n;
	c->binary = false;
}

/* Z/z TYPE,ADDR,KIND */
static void breakpoint(struct gdb_conn *c, const char *s, bool insert)
{
	uint64_t type, addr, kind;
	int r;

	if (gdb_hex_u64(&s, &type) || *s++ != ',' || gdb_hex_u64(&s, &addr) ||
	    *s++ != ',' || gdb_hex_u64(&s, &kind) || (*s && *s != ';')) {
		gdb_conn_reply(c, "E01");
		return;
	}
	if (type > DEBUG_WATCH_ACCESS) {
		gdb_conn_reply(c, "%s", "");  /* unsupported type */
		return;
	}
	r = insert ? debug_points_add(c->points, type, addr, kind) :
	    debug_points_remove(c->points, type, addr, kind);
	if (r == -ENOSPC)
		gdb_conn_reply(c, "E.no free %s", type >= DEBUG_WATCH_WRITE ?
			       "debug register for this watchpoint" :
			       "breakpoint slot");
	else if (r == -ENOENT && !insert)
		gdb_conn_reply(c, "OK");  /* removing twice is harmless */
	else
		gdb_conn_reply(c, r ? "E01" : "OK");
}

/* --- dispatch ---------------------------------------------------------------- */

static int dispatch(struct gdb_conn *c, const char *p)
{
	struct debug_resume step = { .kind = DEBUG_STEP,
				     .thread = c->c_thread };
	struct debug_resume cont = { .kind = DEBUG_CONTINUE, .thread = -1 };

	gdb_conn_reply(c, "%s", "");
	if (c->running) {  /* all-stop: gdb waits for the stop first */
		gdb_conn_reply(c, "E.the target is running");
		return -1;
	}
	switch (p[0]) {
	case '?':
		stop_reply(c, &c->last_stop);
		break;
	case 'q':
		gdb_query(c, p);
		break;
	case 'Q':
		if (!strcmp(p, "QStartNoAckMode"))
			gdb_conn_reply(c, "OK");
		break;
	case 'H':
		set_thread(c, p + 1);
		break;
	case 'T':
		thread_alive(c, p + 1);
		break;
	case 'g':
		read_all_regs(c);
		break;
	case 'p':
		read_one_reg(c, p + 1);
		break;
	case 'm':
		read_memory(c, p + 1);
		break;
	case 'G': case 'P': case 'M': case 'X':
		gdb_conn_reply(c, READ_ONLY);
		break;
	case 'Z': case 'z':
		breakpoint(c, p + 1, p[0] == 'Z');
		break;
	case 'c': case 'C':  /* an address to resume at would be a write */
		resume(c, &cont, false);
		break;
	case 's': case 'S':
		resume(c, &step, false);
		break;
	case 'b':
		if (!strcmp(p, "bc") || !strcmp(p, "bs"))
			resume(c, p[1] == 's' ? &step : &cont, true);
		break;
	case 'v':
		if (!strcmp(p, "vCont?"))
			gdb_conn_reply(c, "vCont;c;C;s;S");
		else if (!strncmp(p, "vCont;", 6))
			vcont(c, p + 5);
		else if (!strncmp(p, "vKill", 5))
			return GDB_SERVE_KILLED;
		break;
	case 'D':
		gdb_conn_reply(c, "OK");
		return GDB_SERVE_DETACHED;
	case 'k':
		return GDB_SERVE_KILLED;
	}
	return -1;
}

/* --- the loop ------------------------------------------------------------------ */

static int on_packet(struct gdb_conn *c)
{
	const char *p = c->reader.data;
	int end;

	if (!c->no_ack && write_all(c->fd, "+", 1))
		return GDB_SERVE_HUNG_UP;
	end = dispatch(c, p);
	if (end == GDB_SERVE_KILLED) {
		gdb_conn_reply(c, "OK");
		if (p[0] == 'v')
			send_reply(c);
		return end;
	}
	if ((c->reply_len || !c->running) && send_reply(c))
		return GDB_SERVE_HUNG_UP;
	if (!strcmp(p, "QStartNoAckMode"))
		c->no_ack = true;
	return end;
}

static int on_byte(struct gdb_conn *c, uint8_t byte)
{
	switch (gdb_packet_feed(&c->reader, byte)) {
	case GDB_IN_PACKET:
		return on_packet(c);
	case GDB_IN_BAD_CHECKSUM:
		if (!c->no_ack)
			return write_all(c->fd, "-", 1) ? GDB_SERVE_HUNG_UP : -1;
		gdb_conn_reply(c, "E.bad checksum");
		return send_reply(c) ? GDB_SERVE_HUNG_UP : -1;
	case GDB_IN_MALFORMED:
		if (!c->no_ack && write_all(c->fd, "+", 1))
			return GDB_SERVE_HUNG_UP;
		gdb_conn_reply(c, "E.malformed packet: longer than %d bytes, "
			       "or a bad escape or repeat count", GDB_PACKET_MAX);
		return send_reply(c) ? GDB_SERVE_HUNG_UP : -1;
	case GDB_IN_INTERRUPT:
		if (c->running)
			c->target->ops->interrupt(c->target->t);
		return -1;
	case GDB_IN_NACK:
		if (c->sent_len && write_all(c->fd, c->sent, c->sent_len))
			return GDB_SERVE_HUNG_UP;
		return -1;
	default:
		return -1;
	}
}

static int on_stop(struct gdb_conn *c)
{
	struct debug_stop s;

	if (c->target->ops->poll_stop(c->target->t, &s) != 1)
		return -1;
	c->running = false;
	c->last_stop = s;
	if (s.kind != DEBUG_STOP_EXITED && s.kind != DEBUG_STOP_FAULT)
		c->g_thread = (int)s.thread;
	stop_reply(c, &s);
	return send_reply(c) ? GDB_SERVE_HUNG_UP : -1;
}

/* One wait for input, a stop or the quit fd: -1 to go on, or the end. */
static int serve_once(struct gdb_conn *c, int quit_fd)
{
	const struct debug_target *t = c->target;
	struct pollfd pfd[3] = {
		{ .fd = c->fd, .events = POLLIN },
		{ .fd = quit_fd, .events = POLLIN },
		{ .fd = c->running ? t->ops->stop_fd(t->t) : -1, .events = POLLIN },
	};
	uint8_t buf[4096];
	int end = -1;
	ssize_t n;

	if (poll(pfd, 3, -1) < 0)
		return errno == EINTR ? -1 : GDB_SERVE_HUNG_UP;
	if (pfd[1].revents)
		return GDB_SERVE_QUIT;
	if (pfd[2].revents && (end = on_stop(c)) >= 0)
		return end;
	if (!pfd[0].revents)
		return -1;
	n = recv(c->fd, buf, sizeof(buf), 0);
	if (n < 0 && errno == EINTR)
		return -1;
	if (n <= 0)
		return GDB_SERVE_HUNG_UP;
	for (ssize_t i = 0; i < n && end < 0; i++)
		end = on_byte(c, buf[i]);
	return end;
}

enum gdb_serve_end gdb_serve(int fd, const struct debug_target *target,
			     struct debug_points *points, int quit_fd)
{
	struct gdb_conn *c = calloc(1, sizeof(*c));
	int end = -1;

	if (!c)
		return GDB_SERVE_HUNG_UP;
	c->fd = fd;
	c->target = target;
	c->points = points;
	c->c_thread = -1;
	c->last_stop.kind = DEBUG_STOP_STEP;  /* stopped before the start */
	gdb_packet_reader_init(&c->reader);
	while (end < 0)
		end = serve_once(c, quit_fd);
	free(c);
	return end;
}
