/* The live debug target in this process: a step-mode VM, the gdb server on
 * one thread, VCPU threads stopping in the VMM's debug stop point, and this
 * thread as the client (so ThreadSanitizer sees every handshake): steps
 * stay in their thread and move its rip, a write watch stops the writer
 * after the store with the new value in memory, an interrupt stops a
 * running VM, and a kill ends it all. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "debug/gdb-packet.h"
#include "debug/gdb-server.h"
#include "debug/live-target.h"
#include "tests/helpers/gdb-client.h"
#include "tests/helpers/testutil.h"
#include "vmm/vm.h"

struct session {
	struct vm *vm;
	struct live_target *lt;
	struct debug_points points;
	struct debug_target target;
	int fd;
	enum gdb_serve_end end;
};

static void *serve_thread(void *arg)
{
	struct session *s = arg;

	s->end = gdb_serve(s->fd, &s->target, &s->points, -1);
	return NULL;
}

static const char *ask(int fd, const char *pkt)
{
	return gdb_client_ask(fd, pkt);
}

static uint64_t symbol(const char *name)
{
	char cmd[512], line[256];
	unsigned long long a = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "nm %s", guest_path("lost-update"));
	p = popen(cmd, "r");
	while (p && fgets(line, sizeof(line), p)) {
		char sym[128], t;

		if (sscanf(line, "%llx %c %127s", &a, &t, sym) == 3 &&
		    !strcmp(sym, name))
			break;
		a = 0;
	}
	if (p)
		pclose(p);
	assert_true(a != 0);
	return a;
}

static uint64_t rip_of(int fd, int tid)
{
	char h[8];
	uint64_t rip = 0;

	snprintf(h, sizeof(h), "Hg%x", tid);
	assert_string_equal(ask(fd, h), "OK");
	assert_int_equal(gdb_hex_decode(ask(fd, "p10"), &rip, 8), 8);
	return rip;
}

static void test_live(void **state)
{
	struct vm_config cfg = { .nr_vcpus = 2,
				 .sched = { .mode = VM_SCHED_STEP } };
	struct session *s = calloc(1, sizeof(*s));
	uint64_t total = symbol("total"), rip, before;
	char err[256], pkt[64], reply[64], *end;
	pthread_t server;
	int sv[2];

	SKIP_WITHOUT_KVM();
	cfg.console_fd = open("/dev/null", O_WRONLY);
	s->vm = vm_create(&cfg, guest_path("lost-update"), err, sizeof(err));
	assert_non_null(s->vm);
	s->lt = live_target_create(s->vm, &s->points, err, sizeof(err));
	assert_non_null(s->lt);
	s->target = live_target_of(s->lt);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	s->fd = sv[1];
	assert_int_equal(pthread_create(&server, NULL, serve_thread, s), 0);

	/* Steps of thread 2 stop in thread 2 and move its rip. */
	before = rip_of(sv[0], 2);
	for (int i = 0; i < 5; i++) {
		assert_string_equal(ask(sv[0], "vCont;s:2;c"), "T05thread:2;");
		rip = rip_of(sv[0], 2);
		assert_true(rip != before);
		before = rip;
	}
	/* A write watch on total: the writer stops after its store. */
	snprintf(pkt, sizeof(pkt), "Z2,%llx,8", (unsigned long long)total);
	assert_string_equal(ask(sv[0], pkt), "OK");
	snprintf(pkt, sizeof(pkt), "watch:%llx;", (unsigned long long)total);
	end = strstr(ask(sv[0], "vCont;c"), pkt);
	assert_non_null(end);
	snprintf(pkt, sizeof(pkt), "m%llx,8", (unsigned long long)total);
	assert_string_equal(ask(sv[0], pkt), "0100000000000000");
	snprintf(pkt, sizeof(pkt), "z2,%llx,8", (unsigned long long)total);
	assert_string_equal(ask(sv[0], pkt), "OK");
	/* Running on, interrupted. */
	assert_int_equal(write(sv[0], "$vCont;c#a8\x03", 12), 12);
	gdb_client_read(sv[0], reply, sizeof(reply), true);
	assert_memory_equal(reply, "T02thread:", 10);
	assert_int_equal(write(sv[0], "$k#6b", 5), 5);
	pthread_join(server, NULL);
	assert_int_equal(s->end, GDB_SERVE_KILLED);
	live_target_release(s->lt);
	vm_stop(s->vm, TEND_SIGNAL, 2, "killed by the debugger");
	vm_wait(s->vm, -1);
	vm_destroy(s->vm);
	live_target_destroy(s->lt);
	close(sv[0]);
	close(sv[1]);
	close(cfg.console_fd);
	free(s);
}

/* Only the step scheduler has a stop point between instructions. */
static void test_needs_step(void **state)
{
	struct vm_config cfg = { .nr_vcpus = 1,
				 .sched = { .mode = VM_SCHED_SERIAL } };
	struct debug_points points = { 0 };
	char err[256];
	struct vm *vm;

	SKIP_WITHOUT_KVM();
	vm = vm_create(&cfg, guest_path("hello"), err, sizeof(err));
	assert_non_null(vm);
	assert_null(live_target_create(vm, &points, err, sizeof(err)));
	assert_non_null(strstr(err, "needs the step scheduler"));
	vm_destroy(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_live),
		cmocka_unit_test(test_needs_step),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
