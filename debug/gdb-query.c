/* gdb's q packets: features, the target description, threads and their
 * states, and `monitor` commands (qRcmd).  Replies only; nothing runs. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "debug/gdb-conn.h"
#include "debug/gdb-regs.h"

#define NO_REVERSE "reverse execution needs a replay: vcprr debug TRACE (a step recording)"

void gdb_conn_reply(struct gdb_conn *c, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(c->reply, sizeof(c->reply), fmt, ap);
	va_end(ap);
	c->reply_len = n < 0 ? 0 : (size_t)n < sizeof(c->reply) ?
		       (size_t)n : sizeof(c->reply) - 1;
	c->binary = false;
}

/* Output text for the user, hex-encoded (qRcmd, qThreadExtraInfo). */
static void reply_text(struct gdb_conn *c, const char *text)
{
	size_t n = strlen(text);

	if (n > GDB_REPLY_MAX / 2)
		n = GDB_REPLY_MAX / 2;
	gdb_hex_encode(text, n, c->reply);
	c->reply_len = 2 * n;
	c->binary = false;
}

static void supported(struct gdb_conn *c)
{
	gdb_conn_reply(c, "PacketSize=%x;qXfer:features:read+;QStartNoAckMode+;"
		       "swbreak+;hwbreak+;ReverseStep+;ReverseContinue+;"
		       "vContSupported+", GDB_PACKET_MAX);
}

/* qXfer:features:read:ANNEX:OFFSET,LENGTH */
static void xfer_features(struct gdb_conn *c, const char *args)
{
	size_t total = strlen(gdb_target_xml);
	uint64_t off, len;

	if (strncmp(args, "target.xml:", 11)) {
		gdb_conn_reply(c, "E00");  /* no such annex */
		return;
	}
	args += 11;
	if (gdb_hex_u64(&args, &off) || *args++ != ',' ||
	    gdb_hex_u64(&args, &len) || *args) {
		gdb_conn_reply(c, "E01");
		return;
	}
	if (off >= total) {
		gdb_conn_reply(c, "l");
		return;
	}
	if (len > GDB_REPLY_MAX - 1)
		len = GDB_REPLY_MAX - 1;
	if (len > total - off)
		len = total - off;
	c->reply[0] = off + len < total ? 'm' : 'l';
	memcpy(c->reply + 1, gdb_target_xml + off, len);
	c->reply_len = 1 + len;
	c->binary = true;
}

static int parse_thread(const char *s, unsigned nr)
{
	uint64_t tid;

	if (gdb_hex_u64(&s, &tid) || *s || tid == 0 || tid > nr)
		return -1;
	return (int)tid - 1;
}

static void thread_list(struct gdb_conn *c, bool first)
{
	unsigned nr = c->target->ops->nr_threads(c->target->t);
	size_t n = 0;

	if (first)
		c->next_thread = 0;
	if (c->next_thread >= nr) {
		gdb_conn_reply(c, "l");
		return;
	}
	c->reply[n++] = 'm';
	for (; c->next_thread < nr && n + 20 < GDB_REPLY_MAX; c->next_thread++)
		n += (size_t)snprintf(c->reply + n, sizeof(c->reply) - n, "%s%x",
				      n > 1 ? "," : "", c->next_thread + 1);
	c->reply_len = n;
	c->binary = false;
}

static void thread_extra(struct gdb_conn *c, const char *arg)
{
	const struct debug_target *t = c->target;
	int id = parse_thread(arg, t->ops->nr_threads(t->t));
	struct debug_thread st;
	char text[160];

	if (id < 0 || t->ops->thread_state(t->t, (unsigned)id, &st)) {
		gdb_conn_reply(c, "E01");
		return;
	}
	switch (st.run) {
	case DEBUG_THREAD_PAUSED:
		snprintf(text, sizeof(text), "vcpu %d, paused by request %" PRIu64
			 " with data %#" PRIx64, id, st.pause_seq, st.pause_data);
		break;
	case DEBUG_THREAD_HALTED:
		snprintf(text, sizeof(text), "vcpu %d, halted", id);
		break;
	case DEBUG_THREAD_EXITED:
		snprintf(text, sizeof(text), "vcpu %d, exited with %d", id,
			 st.exit_code);
		break;
	default:
		snprintf(text, sizeof(text), "vcpu %d, running", id);
	}
	reply_text(c, text);
}

static const char monitor_help[] =
	"vcprr monitor commands:\n"
	"  where            the current position\n"
	"  goto EVENT       go to trace event EVENT (as `vcprr inspect dump` "
	"numbers them)\n"
	"  checkpoints      list the checkpoints\n"
	"  checkpoint       take one here\n"
	"  help             this list\n";

static void monitor(struct gdb_conn *c, const char *hex)
{
	const struct debug_target *t = c->target;
	char cmd[256], out[2048] = "";
	long n = gdb_hex_decode(hex, cmd, sizeof(cmd) - 1);
	const char *arg;
	uint64_t event;
	char *end;

	if (n < 0 || strlen(hex) > 2 * (sizeof(cmd) - 1)) {
		gdb_conn_reply(c, "E01");
		return;
	}
	cmd[n] = '\0';
	if (!strcmp(cmd, "help") || !cmd[0]) {
		snprintf(out, sizeof(out), "%s", monitor_help);
	} else if (!strcmp(cmd, "where")) {
		if (!t->ops->where || t->ops->where(t->t, out, sizeof(out)) < 0)
			snprintf(out, sizeof(out), "where: no position\n");
	} else if (!strcmp(cmd, "checkpoints")) {
		if (!t->ops->list_checkpoints)
			snprintf(out, sizeof(out), "checkpoints: %s\n", NO_REVERSE);
		else
			t->ops->list_checkpoints(t->t, out, sizeof(out));
	} else if (!strcmp(cmd, "checkpoint")) {
		if (!t->ops->checkpoint)
			snprintf(out, sizeof(out), "checkpoint: %s\n", NO_REVERSE);
		else
			t->ops->checkpoint(t->t, out, sizeof(out));
	} else if (!strncmp(cmd, "goto", 4) && (cmd[4] == ' ' || !cmd[4])) {
		arg = cmd + 4 + strspn(cmd + 4, " ");
		event = strtoull(arg, &end, 0);
		if (!*arg || *end)
			snprintf(out, sizeof(out), "goto: expected an event "
				 "number, not '%s'\n", arg);
		else if (!t->ops->goto_event)
			snprintf(out, sizeof(out), "goto: a live run has no "
				 "trace events; %s\n", NO_REVERSE);
		else
			t->ops->goto_event(t->t, event, out, sizeof(out));
	} else {
		snprintf(out, sizeof(out), "unknown monitor command '%s'; "
			 "'monitor help' lists them\n", cmd);
	}
	reply_text(c, out);
}

void gdb_query(struct gdb_conn *c, const char *pkt)
{
	gdb_conn_reply(c, "%s", "");
	if (!strncmp(pkt, "qSupported", 10))
		supported(c);
	else if (!strncmp(pkt, "qXfer:features:read:", 20))
		xfer_features(c, pkt + 20);
	else if (!strcmp(pkt, "qfThreadInfo"))
		thread_list(c, true);
	else if (!strcmp(pkt, "qsThreadInfo"))
		thread_list(c, false);
	else if (!strncmp(pkt, "qThreadExtraInfo,", 17))
		thread_extra(c, pkt + 17);
	else if (!strcmp(pkt, "qC"))
		gdb_conn_reply(c, "QC%x", c->last_stop.thread + 1);
	else if (!strncmp(pkt, "qAttached", 9))
		gdb_conn_reply(c, "0");  /* gdb's quit then kills the run */
	else if (!strcmp(pkt, "qSymbol::"))
		gdb_conn_reply(c, "OK");
	else if (!strncmp(pkt, "qRcmd,", 6))
		monitor(c, pkt + 6);
}
