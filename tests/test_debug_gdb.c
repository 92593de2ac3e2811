/* vcprr debug end to end: a real gdb in batch mode on the lost-update
 * guest in a real VM (break, continue, info threads, stepi, x, watch), the
 * refusals (writes, reverse execution), the listener's errors, and a raw
 * socket client sending malformed packets to a live server. */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "debug/gdb-packet.h"
#include "tests/helpers/gdb-client.h"
#include "tests/helpers/testutil.h"

/* vcprr debug GUEST -n 2, gdb in batch mode running @cmds (each -ex). */
static int debug_batch(char **out, const char *guest, const char *cmds)
{
	return vcprr_sh(out, "timeout 120 $V debug -n 2 %s -- -batch "
			"-nx %s", guest_path(guest), cmds);
}

static void expect(const char *out, const char *what)
{
	if (!strstr(out, what))
		fail_msg("expected '%s' in:\n%s", what, out);
}

static void test_break_and_threads(void **state)
{
	char *out;

	SKIP_WITHOUT_GDB();
	assert_int_equal(debug_batch(&out, "lost-update",
				     "-ex 'break main' -ex continue "
				     "-ex 'info threads' -ex continue"), 0);
	expect(out, "Thread 1 hit Breakpoint 1, main (vcpu=0)");
	expect(out, "Thread 1 (vcpu 0, running) main (vcpu=0)");
	expect(out, "Thread 2 (vcpu 1, running)");
	/* The other VCPU reaches main next. */
	expect(out, "Thread 2 hit Breakpoint 1, main (vcpu=1)");
	assert_null(strstr(out, "Remote failure"));
	free(out);
}

/* stepi moves the stepped thread by one instruction each time, in it. */
static void test_stepi(void **state)
{
	char *out, *p;
	unsigned long pcs[6];
	int n = 0;

	SKIP_WITHOUT_GDB();
	assert_int_equal(debug_batch(&out, "lost-update",
		"-ex 'break main' -ex continue -ex 'delete' "
		"-ex 'printf \"pc=%lx\\n\", $pc' "
		"-ex stepi -ex 'printf \"pc=%lx\\n\", $pc' "
		"-ex stepi -ex 'printf \"pc=%lx\\n\", $pc' "
		"-ex stepi -ex 'printf \"pc=%lx\\n\", $pc' "
		"-ex stepi -ex 'printf \"pc=%lx\\n\", $pc' "
		"-ex stepi -ex 'printf \"pc=%lx\\n\", $pc' "
		"-ex 'printf \"thread=%d\\n\", $_thread'"), 0);
	for (p = out; n < 6 && (p = strstr(p, "pc=")); p += 3)
		pcs[n++] = strtoul(p + 3, NULL, 16);
	assert_int_equal(n, 6);
	for (int i = 1; i < 6; i++)
		if (pcs[i] == pcs[i - 1])
			fail_msg("stepi %d did not move pc %lx:\n%s", i, pcs[i], out);
	expect(out, "thread=1");
	assert_null(strstr(out, "Switching to Thread 2"));
	free(out);
}

/* x/ reads the guest's memory: the code of main as the ELF has it, and
 * the shared total before anyone added to it. */
static void test_memory(void **state)
{
	char *live, *file;

	SKIP_WITHOUT_GDB();
	assert_int_equal(debug_batch(&live, "lost-update",
				     "-ex 'printf \"code:\\n\"' -ex 'x/16xb main' "
				     "-ex 'x/1gx &total'"), 0);
	assert_int_equal(vcprr_sh(&file, "gdb -batch -nx %s -ex 'printf "
				  "\"code:\\n\"' -ex 'x/16xb main'",
				  guest_path("lost-update")), 0);
	expect(live, strstr(file, "code:"));
	expect(live, "<total>:\t0x0000000000000000");
	free(live);
	free(file);
}

/* watch total stops right after the store, in the VCPU that made it. */
static void test_watch(void **state)
{
	char *out;

	SKIP_WITHOUT_GDB();
	assert_int_equal(debug_batch(&out, "lost-update",
		"-ex 'break main' -ex continue -ex delete -ex 'watch total' "
		"-ex continue -ex bt -ex continue -ex 'p total'"), 0);
	expect(out, "Thread 1 hit Hardware watchpoint 2: total");
	expect(out, "Old value = 0\nNew value = 1\nadd_updates ()");
	expect(out, "main (vcpu=0)");  /* the backtrace of that thread */
	expect(out, "Old value = 1\nNew value = 2");
	expect(out, "$1 = 2");
	free(out);
}

/* A guest assertion: its function can be broken on; going on ends the
 * run as SIGABRT with the guest's message, and vcprr's status is 124. */
static void test_assertion(void **state)
{
	char *out;

	SKIP_WITHOUT_GDB();
	assert_int_equal(vcprr_sh(&out, "timeout 120 $V debug %s -- -batch -nx "
		"-ex 'break vcprr_assert_fail' -ex continue -ex bt -ex continue",
		guest_path("assert")), 124);
	expect(out, "Breakpoint 1, vcprr_assert_fail");
	expect(out, "in main (vcpu=");
	expect(out, "vcprr: vcpu 0: guest assertion failed: two == 2");
	expect(out, "Program terminated with signal SIGABRT");
	free(out);
}

/* What a live run cannot do is said, not pretended. */
static void test_refusals(void **state)
{
	char *out;

	SKIP_WITHOUT_GDB();
	assert_int_equal(debug_batch(&out, "lost-update",
		"-ex 'break main' -ex continue -ex 'reverse-stepi' "
		"-ex 'reverse-continue' -ex 'set $rax = 1' "
		"-ex 'monitor where' -ex 'monitor goto 5' "
		"-ex 'monitor checkpoints' -ex 'monitor frob'"), 0);
	expect(out, "reverse execution needs a replay: vcprr debug TRACE");
	expect(out, "Could not write register \"rax\"");
	expect(out, "read-only: a write would change the run");
	expect(out, "a live run (no trace): scheduler step");
	expect(out, "goto: a live run has no trace events");
	expect(out, "checkpoints: reverse execution needs a replay");
	expect(out, "unknown monitor command 'frob'");
	free(out);
}

static void test_bad_use(void **state)
{
	char *out;
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int fd;

	SKIP_WITHOUT_KVM();
	assert_int_equal(vcprr_sh(&out, "$V debug --gdb-path /nonexistent/gdb "
				  "%s", guest_path("lost-update")), 126);
	expect(out, "cannot start gdb '/nonexistent/gdb'");
	free(out);
	assert_int_equal(vcprr_sh(&out, "GDB=no-such-gdb $V debug %s",
				  guest_path("lost-update")), 126);
	expect(out, "cannot start gdb 'no-such-gdb'");
	free(out);
	assert_int_equal(vcprr_sh(&out, "$V debug --sched serial %s",
				  guest_path("lost-update")), 2);
	expect(out, "--sched serial: vcprr debug runs the guest under --sched step");
	free(out);
	assert_int_equal(vcprr_sh(&out, "$V debug --gdb-server 70000 %s",
				  guest_path("lost-update")), 2);
	expect(out, "'70000': expected [HOST:]PORT");
	free(out);
	assert_int_equal(vcprr_sh(&out, "$V debug --gdb-server unix:/ %s",
				  guest_path("lost-update")), 2);
	expect(out, "unix:/: the path exists");
	free(out);
	assert_int_equal(vcprr_sh(&out, "$V debug --gdb-server 1 /nonexistent.elf"), 126);
	expect(out, "/nonexistent.elf");
	free(out);
	/* A port in use. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	assert_int_equal(vcprr_sh(&out, "$V debug --gdb-server 127.0.0.1:%u %s",
				  ntohs(a.sin_port), guest_path("lost-update")), 2);
	expect(out, "Address already in use (another program listens there");
	free(out);
	close(fd);
}

/* --- a raw client on a live server ------------------------------------------------ */

static int connect_unix(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%.100s", path);
	for (int i = 0; i < 500; i++) {
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
			return fd;
		usleep(10000);
	}
	fail_msg("cannot connect to %s: %s", path, strerror(errno));
	return -1;
}

static void reply(int fd, char *out, size_t cap)
{
	gdb_client_read(fd, out, cap, true);
}

static void say(int fd, const char *pkt, char *out, size_t cap)
{
	snprintf(out, cap, "%s", gdb_client_ask(fd, pkt));
}

static void test_raw_client(void **state)
{
	char dir[64], sock[100], r[GDB_PACKET_MAX + 1];
	const char *args[8];
	pid_t pid;
	int fd, st;

	SKIP_WITHOUT_KVM();
	assert_int_equal(scratch_dir(dir, sizeof(dir), "debug"), 0);
	snprintf(sock, sizeof(sock), "unix:%s/gdb.sock", dir);
	args[0] = "debug";
	args[1] = "--gdb-server";
	args[2] = sock;
	args[3] = guest_path("lost-update");
	args[4] = "-n";
	args[5] = "2";
	args[6] = NULL;
	pid = vcprr_spawn(args);
	fd = connect_unix(sock + 5);
	/* Garbage, a bad checksum, a bad repeat, a huge packet, nonsense. */
	assert_int_equal(write(fd, "xx\x01$g#00", 8), 8);
	assert_int_equal(read(fd, r, 1), 1);
	assert_int_equal(r[0], '-');  /* send it again, please */
	assert_int_equal(write(fd, "$a*\x01#8c", 7), 7);
	reply(fd, r, sizeof(r));
	expect(r, "E.malformed packet");
	say(fd, "m100aa0,zz", r, sizeof(r));
	assert_string_equal(r, "E01");
	say(fd, "Z0,100aa0", r, sizeof(r));
	assert_string_equal(r, "E01");
	say(fd, "vCont;q", r, sizeof(r));
	expect(r, "E.vCont action 'q'");
	say(fd, "Hg99", r, sizeof(r));
	assert_string_equal(r, "E01");
	say(fd, "mf0000000,100", r, sizeof(r));
	assert_string_equal(r, "E14");   /* no RAM at 3.75 GiB */
	say(fd, "qThreadExtraInfo,0", r, sizeof(r));
	assert_string_equal(r, "E01");
	/* Still serving: continue, interrupted at once by 0x03. */
	assert_int_equal(write(fd, "$vCont;c#a8\x03", 12), 12);
	reply(fd, r, sizeof(r));
	if (strncmp(r, "T02thread:", 10))
		fail_msg("expected an interrupt stop, got '%s'", r);
	say(fd, "g", r, sizeof(r));
	assert_int_equal(strlen(r), 2 * 552);
	assert_int_equal(write(fd, "$k#6b", 5), 5);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	close(fd);
	/* The socket file is gone with the server. */
	assert_int_equal(access(sock + 5, F_OK), -1);
	scratch_dir_remove(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_break_and_threads),
		cmocka_unit_test(test_stepi),
		cmocka_unit_test(test_memory),
		cmocka_unit_test(test_watch),
		cmocka_unit_test(test_assertion),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_bad_use),
		cmocka_unit_test(test_raw_client),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
