/* The gdb remote protocol without a VM: the packet reader and framing on
 * good and hostile bytes, the breakpoint table and its debug registers,
 * the register layout, and the server over a socket pair driving a small
 * in-memory target (what each packet answers, what it refuses). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "debug/debug-points.h"
#include "debug/gdb-packet.h"
#include "debug/gdb-regs.h"
#include "debug/gdb-server.h"
#include "tests/helpers/gdb-client.h"
#include "tests/helpers/testutil.h"

/* Feeds a string; returns the last non-NONE result (and counts them). */
static enum gdb_input feed(struct gdb_packet_reader *r, const char *s,
			   size_t len, int *results)
{
	enum gdb_input last = GDB_IN_NONE;

	for (size_t i = 0; i < len; i++) {
		enum gdb_input in = gdb_packet_feed(r, (uint8_t)s[i]);

		if (in != GDB_IN_NONE) {
			last = in;
			if (results)
				(*results)++;
		}
	}
	return last;
}

static void test_framing(void **state)
{
	struct gdb_packet_reader *r = malloc(sizeof(*r));
	char out[64];
	size_t n;

	gdb_packet_reader_init(r);
	assert_int_equal(feed(r, "$g#67", 5, NULL), GDB_IN_PACKET);
	assert_string_equal(r->data, "g");
	assert_int_equal(feed(r, "$g#68", 5, NULL), GDB_IN_BAD_CHECKSUM);
	assert_int_equal(feed(r, "+", 1, NULL), GDB_IN_ACK);
	assert_int_equal(feed(r, "-", 1, NULL), GDB_IN_NACK);
	assert_int_equal(feed(r, "\x03", 1, NULL), GDB_IN_INTERRUPT);
	/* Escapes: "}]" is ']' ^ 0x20 = '}' ... and the checksum covers the
	 * bytes as sent. */
	n = gdb_packet_frame("a}b#c$d*e", 9, true, out, sizeof(out));
	assert_true(n > 0);
	assert_null(memchr(out + 1, '$', n - 1));
	assert_int_equal(feed(r, out, n, NULL), GDB_IN_PACKET);
	assert_string_equal(r->data, "a}b#c$d*e");
	/* Run-length: "0* " is '0' and 32 - 29 = 3 more. */
	n = gdb_packet_frame("m0* ", 4, false, out, sizeof(out));
	assert_int_equal(feed(r, out, n, NULL), GDB_IN_PACKET);
	assert_string_equal(r->data, "m0000");
	/* A repeat with nothing before it, or a count out of range. */
	n = gdb_packet_frame("*#", 2, false, out, sizeof(out));
	assert_int_equal(feed(r, "$* #4a", 6, NULL), GDB_IN_MALFORMED);
	assert_int_equal(feed(r, "$a*\x01#8c", 7, NULL), GDB_IN_MALFORMED);
	/* A bad checksum digit. */
	assert_int_equal(feed(r, "$g#zz", 5, NULL), GDB_IN_MALFORMED);
	/* Noise between packets is ignored; a '$' inside restarts. */
	assert_int_equal(feed(r, "xyz$ab$g#67", 11, NULL), GDB_IN_PACKET);
	assert_string_equal(r->data, "g");
	/* Too small an output buffer frames nothing. */
	assert_int_equal(gdb_packet_frame("abcdef", 6, false, out, 8), 0);
	free(r);
}

static void test_bounded(void **state)
{
	struct gdb_packet_reader *r = malloc(sizeof(*r));
	size_t big = GDB_PACKET_MAX + 100;
	char *s = malloc(big + 8);
	int results = 0;

	gdb_packet_reader_init(r);
	s[0] = '$';
	memset(s + 1, 'A', big);
	memcpy(s + 1 + big, "#00", 3);
	assert_int_equal(feed(r, s, big + 4, &results), GDB_IN_MALFORMED);
	assert_int_equal(results, 1);
	assert_true(r->len <= GDB_PACKET_MAX);
	/* Run-length that would expand past the buffer. */
	s[0] = '$';
	for (size_t i = 1; i + 2 < big; i += 2)
		memcpy(s + i, "A~", 2);
	assert_int_equal(feed(r, s, big - 1, NULL), GDB_IN_NONE);
	assert_int_equal(feed(r, "#00", 3, NULL), GDB_IN_MALFORMED);
	/* The reader recovers. */
	assert_int_equal(feed(r, "$?#3f", 5, NULL), GDB_IN_PACKET);
	free(s);
	free(r);
}

static void test_hex(void **state)
{
	const char *s = "1f,zz";
	uint8_t b[4];
	uint64_t v;
	char out[9];

	assert_int_equal(gdb_hex_u64(&s, &v), 0);
	assert_int_equal(v, 0x1f);
	assert_string_equal(s, ",zz");
	s++;
	assert_int_equal(gdb_hex_u64(&s, &v), -1);
	s = "11111111111111111";  /* 17 digits: overflows */
	assert_int_equal(gdb_hex_u64(&s, &v), -1);
	assert_int_equal(gdb_hex_decode("0aFf", b, 4), 2);
	assert_int_equal(b[1], 0xff);
	assert_int_equal(gdb_hex_decode("0g", b, 4), -1);
	gdb_hex_encode("\x01\xab", 2, out);
	assert_string_equal(out, "01ab");
}

static void test_points(void **state)
{
	struct debug_points p = { 0 };
	enum debug_point_type t;
	uint64_t addr[4], dr7;

	assert_int_equal(debug_points_add(&p, DEBUG_SW_BREAK, 0x1000, 1), 0);
	assert_true(debug_points_break_at(&p, 0x1000, &t));
	assert_int_equal(t, DEBUG_SW_BREAK);
	assert_false(debug_points_break_at(&p, 0x1001, &t));
	assert_int_equal(debug_points_remove(&p, DEBUG_SW_BREAK, 0x1000, 1), 0);
	assert_int_equal(debug_points_remove(&p, DEBUG_SW_BREAK, 0x1000, 1),
			 -ENOENT);
	/* 8 aligned bytes: one register, R/W 01, LEN 10. */
	assert_int_equal(debug_points_add(&p, DEBUG_WATCH_WRITE, 0x2008, 8), 0);
	dr7 = debug_points_dr7(&p, addr);
	assert_int_equal(addr[0], 0x2008);
	assert_int_equal(dr7, 0x90201);
	/* 6 unaligned bytes at 0x3001: 1 + 2 + 2 + 1, three registers left. */
	assert_int_equal(debug_points_add(&p, DEBUG_WATCH_ACCESS, 0x3001, 6),
			 -ENOSPC);
	assert_int_equal(debug_points_add(&p, DEBUG_WATCH_ACCESS, 0x3002, 6), 0);
	assert_int_equal(p.nwatches, 3);  /* 2 at 0x3002, 4 at 0x3004 */
	assert_int_equal(debug_points_add(&p, DEBUG_WATCH_READ, 0x4000, 1), 0);
	assert_int_equal(debug_points_add(&p, DEBUG_WATCH_READ, 0x5000, 1),
			 -ENOSPC);
	assert_int_equal(debug_points_add(&p, DEBUG_WATCH_READ, 0x5000, 0),
			 -EINVAL);
	assert_int_equal(debug_points_remove(&p, DEBUG_WATCH_ACCESS, 0x3002, 6), 0);
	assert_int_equal(p.nwatches, 2);
	assert_int_equal(debug_points_add(&p, 7, 0, 1), -EINVAL);
}

static void test_registers(void **state)
{
	struct debug_regs r = { 0 };
	char hex[2048];

	r.regs.rax = 0x1122334455667788;
	r.regs.rip = 0x100aa0;
	r.regs.rflags = 0x202;
	r.sregs.cs.selector = 8;
	r.sregs.fs.base = 0xabc;
	r.fpu.mxcsr = 0x1f80;
	r.fpu.ftwx = 0x01;  /* st0 valid, the rest empty */
	assert_int_equal(gdb_reg_hex(&r, 0, hex), 16);
	assert_string_equal(hex, "8877665544332211");
	gdb_reg_hex(&r, 16, hex);
	assert_string_equal(hex, "a00a100000000000");
	gdb_reg_hex(&r, 17, hex);
	assert_string_equal(hex, "02020000");
	gdb_reg_hex(&r, 18, hex);
	assert_string_equal(hex, "08000000");
	assert_int_equal(gdb_reg_hex(&r, 24, hex), 20);  /* st0: 80 bits */
	gdb_reg_hex(&r, 34, hex);
	assert_string_equal(hex, "fcff0000");  /* ftag: 11 for st1-7 */
	gdb_reg_hex(&r, 56, hex);
	assert_string_equal(hex, "801f0000");
	gdb_reg_hex(&r, 57, hex);
	assert_string_equal(hex, "bc0a000000000000");
	assert_int_equal(gdb_reg_hex(&r, GDB_NR_REGS, hex), 0);
	/* 16*8 + 8 + 4 + 6*4 + 8*10 + 8*4 + 16*16 + 4 + 2*8 bytes. */
	assert_int_equal(gdb_regs_hex(&r, hex, sizeof(hex)), 2 * 552);
	assert_int_equal(gdb_regs_hex(&r, hex, 100), 0);
	assert_non_null(strstr(gdb_target_xml, "i386:x86-64"));
	assert_non_null(strstr(gdb_target_xml, "org.gnu.gdb.i386.sse"));
	assert_non_null(strstr(gdb_target_xml, "\"gs_base\""));
}

/* --- the server over a small target -------------------------------------------- */

struct fake {
	int evfd;
	bool running;
	struct debug_resume last;
	struct debug_points *points;
	uint8_t mem[256];            /* at 0x1000 */
};

static unsigned fake_nr(void *t) { (void)t; return 2; }

static int fake_state(void *t, unsigned th, struct debug_thread *st)
{
	memset(st, 0, sizeof(*st));
	st->run = th == 0 ? DEBUG_THREAD_PAUSED : DEBUG_THREAD_HALTED;
	st->pause_seq = 7;
	st->pause_data = 0xbeef;
	return th < 2 ? 0 : -EINVAL;
}

static int fake_regs(void *t, unsigned th, struct debug_regs *r)
{
	memset(r, 0, sizeof(*r));
	r->regs.rip = 0x1000 + th;
	return 0;
}

static ssize_t fake_mem(void *t, unsigned th, uint64_t addr, void *buf,
			size_t len)
{
	struct fake *f = t;

	if (addr < 0x1000 || addr >= 0x1100)
		return -EFAULT;
	if (len > 0x1100 - addr)
		len = 0x1100 - addr;
	memcpy(buf, f->mem + (addr - 0x1000), len);
	return (ssize_t)len;
}

static int fake_resume(void *t, const struct debug_resume *r, char *err,
		       size_t errlen)
{
	struct fake *f = t;
	uint64_t one = 1;

	f->last = *r;
	f->running = true;
	return write(f->evfd, &one, 8) == 8 ? 0 : -EIO;
}

static int fake_stop_fd(void *t) { return ((struct fake *)t)->evfd; }

static int fake_poll(void *t, struct debug_stop *s)
{
	struct fake *f = t;
	uint64_t n;

	if (read(f->evfd, &n, 8) != 8)
		return 0;
	memset(s, 0, sizeof(*s));
	s->thread = f->last.thread < 0 ? 0 : (unsigned)f->last.thread;
	if (f->points->nwatches) {
		s->kind = DEBUG_STOP_WATCH;
		s->addr = f->points->watches[0].addr;
		s->point_type = f->points->watches[0].type;
	} else {
		s->kind = f->last.kind == DEBUG_STEP ? DEBUG_STOP_STEP :
			  DEBUG_STOP_EXITED;
		s->exit_code = 3;
	}
	return 1;
}

static void fake_interrupt(void *t) { (void)t; }

static const struct debug_target_ops fake_ops = {
	.nr_threads = fake_nr, .thread_state = fake_state,
	.read_regs = fake_regs, .read_mem = fake_mem, .resume = fake_resume,
	.stop_fd = fake_stop_fd, .poll_stop = fake_poll,
	.interrupt = fake_interrupt,
};

struct served {
	int fd;
	struct debug_target target;
	struct debug_points points;
	struct fake fake;
	enum gdb_serve_end end;
	pthread_t thread;
};

static void *serve_thread(void *arg)
{
	struct served *s = arg;

	s->end = gdb_serve(s->fd, &s->target, &s->points, -1);
	return NULL;
}

static int start_server(struct served *s)
{
	int sv[2];

	memset(s, 0, sizeof(*s));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	s->fd = sv[1];
	s->fake.evfd = eventfd(0, EFD_NONBLOCK);
	s->fake.points = &s->points;
	for (int i = 0; i < 256; i++)
		s->fake.mem[i] = (uint8_t)i;
	s->target = (struct debug_target){ &fake_ops, &s->fake };
	assert_int_equal(pthread_create(&s->thread, NULL, serve_thread, s), 0);
	return sv[0];
}

static void stop_server(struct served *s, int fd)
{
	close(fd);
	pthread_join(s->thread, NULL);
	close(s->fd);
	close(s->fake.evfd);
}

static bool no_acks;  /* QStartNoAckMode was sent: a '+' is a bug */

static void read_reply(int fd, char *out, size_t cap)
{
	gdb_client_read(fd, out, cap, !no_acks);
}

static const char *ask(int fd, const char *pkt)
{
	return gdb_client_ask(fd, pkt);
}

static void send_raw(int fd, const char *raw)
{
	assert_int_equal(write(fd, raw, strlen(raw)), (ssize_t)strlen(raw));
}

static void test_server_answers(void **state)
{
	struct served *s = malloc(sizeof(*s));
	int fd = start_server(s);
	const char *r;
	char text[256];

	r = ask(fd, "qSupported:multiprocess+;swbreak+");
	assert_non_null(strstr(r, "qXfer:features:read+"));
	assert_non_null(strstr(r, "ReverseContinue+"));
	assert_non_null(strstr(r, "ReverseStep+"));
	r = ask(fd, "qXfer:features:read:target.xml:0,20");
	assert_int_equal(r[0], 'm');
	assert_memory_equal(r + 1, gdb_target_xml, 19);
	assert_string_equal(ask(fd, "qXfer:features:read:other.xml:0,20"), "E00");
	assert_string_equal(ask(fd, "qfThreadInfo"), "m1,2");
	assert_string_equal(ask(fd, "qsThreadInfo"), "l");
	r = ask(fd, "qThreadExtraInfo,1");
	gdb_hex_decode(r, text, sizeof(text));
	text[strlen(r) / 2] = '\0';
	assert_string_equal(text, "vcpu 0, paused by request 7 with data 0xbeef");
	r = ask(fd, "qThreadExtraInfo,2");
	assert_non_null(r);
	assert_string_equal(ask(fd, "qThreadExtraInfo,3"), "E01");
	assert_string_equal(ask(fd, "Hg2"), "OK");
	r = ask(fd, "p10");  /* rip of thread 2 */
	assert_string_equal(r, "0110000000000000");
	assert_string_equal(ask(fd, "m1000,4"), "00010203");
	assert_string_equal(ask(fd, "m10fe,10"), "feff");   /* partial */
	assert_string_equal(ask(fd, "m0,4"), "E14");
	assert_string_equal(ask(fd, "T2"), "OK");
	assert_string_equal(ask(fd, "T9"), "E01");
	/* Writes are refused, with the reason. */
	assert_non_null(strstr(ask(fd, "M1000,1:ff"), "read-only"));
	assert_non_null(strstr(ask(fd, "P0=0000000000000000"), "read-only"));
	assert_non_null(strstr(ask(fd, "G00"), "read-only"));
	/* Reverse execution says what it needs. */
	assert_string_equal(ask(fd, "bc"), "E.reverse execution needs "
			    "a replay: vcprr debug TRACE (a step recording)");
	assert_non_null(strstr(ask(fd, "bs"), "needs a replay"));
	/* monitor where / goto / checkpoints / bogus */
	r = ask(fd, "qRcmd,676f746f2035");  /* "goto 5" */
	gdb_hex_decode(r, text, sizeof(text));
	text[strlen(r) / 2] = '\0';
	assert_non_null(strstr(text, "needs a replay"));
	r = ask(fd, "qRcmd,7a7a");  /* "zz" */
	gdb_hex_decode(r, text, sizeof(text));
	text[strlen(r) / 2] = '\0';
	assert_non_null(strstr(text, "unknown monitor command 'zz'"));
	assert_string_equal(ask(fd, "vMustReplyEmpty"), "");
	stop_server(s, fd);
	assert_int_equal(s->end, GDB_SERVE_HUNG_UP);
	free(s);
}

static void test_server_runs(void **state)
{
	struct served *s = malloc(sizeof(*s));
	int fd = start_server(s);

	assert_string_equal(ask(fd, "vCont;s:2;c"), "T05thread:2;");
	assert_int_equal(s->fake.last.kind, DEBUG_STEP);
	assert_int_equal(s->fake.last.thread, 1);
	assert_string_equal(ask(fd, "Z2,2008,8"), "OK");
	assert_string_equal(ask(fd, "vCont;c"), "T05thread:1;watch:2008;");
	assert_string_equal(ask(fd, "z2,2008,8"), "OK");
	assert_string_equal(ask(fd, "Z0,1000,1"), "OK");
	assert_string_equal(ask(fd, "Z9,1000,1"), "");
	assert_string_equal(ask(fd, "Z0,1000"), "E01");
	assert_string_equal(ask(fd, "vCont;x"), "E.vCont action 'x' is not "
			    "supported");
	assert_string_equal(ask(fd, "vCont;s:99"), "E.vCont: bad thread");
	assert_string_equal(ask(fd, "c"), "W03");
	assert_string_equal(ask(fd, "c"), "E.the run has ended");
	assert_string_equal(ask(fd, "?"), "W03");
	/* k ends the session. */
	send_raw(fd, "$k#6b");
	pthread_join(s->thread, NULL);
	assert_int_equal(s->end, GDB_SERVE_KILLED);
	close(fd);
	close(s->fd);
	close(s->fake.evfd);
	free(s);
}

/* Hostile bytes get error replies, and the server goes on answering. */
static void test_server_hostile(void **state)
{
	struct served *s = malloc(sizeof(*s));
	int fd = start_server(s);
	char reply[256], c;
	size_t big = GDB_PACKET_MAX * 3;
	char *flood = malloc(big + 8);

	send_raw(fd, "$g#00");  /* bad checksum: '-' */
	assert_int_equal(read(fd, &c, 1), 1);
	assert_int_equal(c, '-');
	send_raw(fd, "$a*\x01#8c");
	read_reply(fd, reply, sizeof(reply));
	assert_non_null(strstr(reply, "E.malformed packet"));
	flood[0] = '$';
	memset(flood + 1, 'q', big);
	memcpy(flood + 1 + big, "#00", 4);
	send_raw(fd, flood);
	read_reply(fd, reply, sizeof(reply));
	assert_non_null(strstr(reply, "E.malformed packet"));
	send_raw(fd, "\x03garbage+++");
	assert_string_equal(ask(fd, "m1000,2"), "0001");
	send_raw(fd, "-");  /* gdb did not get it: the same again */
	read_reply(fd, reply, sizeof(reply));
	assert_string_equal(reply, "0001");
	assert_string_equal(ask(fd, "mzz"), "E01");
	assert_string_equal(ask(fd, "m1000,ffffffffffffffff"), ask(fd, "m1000,100"));
	assert_string_equal(ask(fd, "p"), "E00");
	assert_string_equal(ask(fd, "pffffffffffffffffff"), "E00");
	assert_string_equal(ask(fd, "H"), "E01");
	assert_string_equal(ask(fd, "qRcmd,zz"), "E01");
	assert_string_equal(ask(fd, "qXfer:features:read:target.xml:ffffffff,10"),
			    "l");
	/* No-ack mode: no more '+'. */
	assert_string_equal(ask(fd, "QStartNoAckMode"), "OK");
	no_acks = true;
	send_raw(fd, "$?#3f");
	read_reply(fd, reply, sizeof(reply));
	assert_string_equal(reply, "T05thread:1;");
	no_acks = false;
	free(flood);
	stop_server(s, fd);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_framing),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_points),
		cmocka_unit_test(test_registers),
		cmocka_unit_test(test_server_answers),
		cmocka_unit_test(test_server_runs),
		cmocka_unit_test(test_server_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
