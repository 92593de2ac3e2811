/* VMM core: booting guests on many VCPUs, exits, faults, stopping. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/helpers/testutil.h"
#include "tools/cli.h"
#include "vmm/vm.h"

struct run {
	struct vm_result res;
	char *console;
	char err[1024];
	int created;
};

/* Boots guest `name` on n VCPUs, runs it to the end (or timeout_ms) and
 * captures the console. */
static struct run *run_guest_captured(const char *name, unsigned n, int timeout_ms)
{
	struct run *r = calloc(1, sizeof(*r));
	int con = memfd_new("console");
	struct vm_config cfg = { .nr_vcpus = n, .console_fd = con };
	struct vm *vm = vm_create(&cfg, guest_path(name), r->err, sizeof(r->err));

	if (vm) {
		r->created = 1;
		assert_int_equal(vm_start(vm), 0);
		if (vm_wait(vm, timeout_ms) == -ETIMEDOUT) {
			vm_stop(vm, TEND_GUEST_FAULT, 1, "test timeout");
			vm_wait(vm, -1);
		}
		r->res = *vm_result(vm);
		vm_destroy(vm);
	}
	r->console = fd_slurp(con);
	close(con);
	return r;
}

static void free_run(struct run *r)
{
	free(r->console);
	free(r);
}

static void check_hello(unsigned n)
{
	struct run *r = run_guest_captured("hello", n, 30000);
	char line[64];

	assert_true(r->created);
	assert_int_equal(r->res.reason, TEND_GUEST_EXIT);
	assert_int_equal(r->res.exit_code, 0);
	for (unsigned i = 0; i < n; i++) {
		if (n > 1)
			snprintf(line, sizeof(line), "[vcpu %u] hello from vcpu %u of %u",
				 i, i, n);
		else
			snprintf(line, sizeof(line), "hello from vcpu 0 of 1");
		assert_int_equal(count_lines(r->console, line), 1);
	}
	/* Nothing else was printed: exactly n lines. */
	int lines = 0;
	for (const char *p = r->console; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, n);
	free_run(r);
}

static void test_hello_1(void **state) { SKIP_WITHOUT_KVM(); check_hello(1); }
static void test_hello_8(void **state) { SKIP_WITHOUT_KVM(); check_hello(8); }
static void test_hello_64(void **state) { SKIP_WITHOUT_KVM(); check_hello(64); }

static void test_exit_code(void **state)
{
	SKIP_WITHOUT_KVM();
	struct run *r = run_guest_captured("exitcode", 4, 10000);

	assert_int_equal(r->res.reason, TEND_GUEST_EXIT);
	assert_int_equal(r->res.exit_code, 42);
	assert_int_equal(cli_exit_status(&r->res), 42);
	free_run(r);
}

static void test_counter_8(void **state)
{
	SKIP_WITHOUT_KVM();
	struct run *r = run_guest_captured("counter", 8, 30000);

	assert_int_equal(r->res.reason, TEND_GUEST_EXIT);
	assert_int_equal(r->res.exit_code, 0);
	assert_int_equal(count_lines(r->console,
				     "[vcpu 0] counter = 800000 (expected 800000)"), 1);
	free_run(r);
}

static void test_triple_fault(void **state)
{
	SKIP_WITHOUT_KVM();
	struct run *r = run_guest_captured("triple", 2, 10000);

	assert_int_equal(r->res.reason, TEND_GUEST_FAULT);
	assert_int_equal(cli_exit_status(&r->res), EXIT_GUEST_FAULT);
	assert_non_null(strstr(r->res.diag, "vcpu 0: triple fault (KVM_EXIT_SHUTDOWN)"));
	assert_non_null(strstr(r->res.diag, "rip="));
	/* The guest put a marker in rax just before faulting. */
	assert_non_null(strstr(r->res.diag, "rax=0000000000007ead"));
	assert_non_null(strstr(r->res.diag, "cr3=0000000000002000"));
	free_run(r);
}

static void test_assertion(void **state)
{
	SKIP_WITHOUT_KVM();
	struct run *r = run_guest_captured("assert", 1, 10000);

	assert_int_equal(r->res.reason, TEND_GUEST_ASSERT);
	assert_int_equal(cli_exit_status(&r->res), EXIT_GUEST_ASSERT);
	assert_non_null(strstr(r->res.diag,
			       "guest assertion failed: two == 2 at tests/guests/assert.c:8"));
	free_run(r);
}

static void test_spin_can_be_stopped(void **state)
{
	SKIP_WITHOUT_KVM();
	char err[512];
	struct vm_config cfg = { .nr_vcpus = 2 };
	struct vm *vm = vm_create(&cfg, guest_path("spin"), err, sizeof(err));

	assert_non_null(vm);
	assert_int_equal(vm_start(vm), 0);
	/* It never exits by itself. */
	assert_int_equal(vm_wait(vm, 200), -ETIMEDOUT);
	vm_stop(vm, TEND_SIGNAL, 2, "stopped by test");
	assert_int_equal(vm_wait(vm, 5000), 0);
	assert_int_equal(vm_result(vm)->reason, TEND_SIGNAL);
	assert_string_equal(vm_result(vm)->diag, "stopped by test");
	vm_destroy(vm);
}

static void test_destroy_while_running(void **state)
{
	SKIP_WITHOUT_KVM();
	char err[512];
	struct vm_config cfg = { .nr_vcpus = 4 };
	struct vm *vm = vm_create(&cfg, guest_path("spin"), err, sizeof(err));

	assert_non_null(vm);
	assert_int_equal(vm_start(vm), 0);
	vm_destroy(vm);  /* must stop and join, not hang or crash */
}

static void expect_create_error(const char *kvm, unsigned vcpus, uint64_t mem,
				const char *guest, const char *needle)
{
	char err[1024] = "";
	struct vm_config cfg = { .nr_vcpus = vcpus, .mem_size = mem, .kvm_path = kvm };
	struct vm *vm = vm_create(&cfg, guest, err, sizeof(err));

	assert_null(vm);
	if (!strstr(err, needle))
		fail_msg("error '%s' does not contain '%s'", err, needle);
}

static void test_kvm_missing(void **state)
{
	expect_create_error("/nonexistent/kvm", 1, 0, guest_path("hello"),
			    "/nonexistent/kvm: no such device: KVM is not available");
}

static void test_kvm_not_a_kvm_device(void **state)
{
	char path[] = "/tmp/vcprr-notkvm-XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	expect_create_error(path, 1, 0, guest_path("hello"), "not a KVM device");
	close(fd);
	unlink(path);
}

static void test_bad_config(void **state)
{
	SKIP_WITHOUT_KVM();
	expect_create_error(NULL, 100000, 0, guest_path("hello"),
			    "--vcpus 100000: this host allows 1 to");
	expect_create_error(NULL, 1, 1 << 20, guest_path("hello"), "--mem 1048576");
	expect_create_error(NULL, 1, 4ull << 30, guest_path("hello"), "between 2 MiB");
	expect_create_error(NULL, 1000, 8 << 20, guest_path("hello"),
			    "too small for 1000 VCPU stacks");
	expect_create_error(NULL, 1, 0, "/nonexistent/guest.elf",
			    "/nonexistent/guest.elf: cannot open");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hello_1),
		cmocka_unit_test(test_hello_8),
		cmocka_unit_test(test_hello_64),
		cmocka_unit_test(test_exit_code),
		cmocka_unit_test(test_counter_8),
		cmocka_unit_test(test_triple_fault),
		cmocka_unit_test(test_assertion),
		cmocka_unit_test(test_spin_can_be_stopped),
		cmocka_unit_test(test_destroy_while_running),
		cmocka_unit_test(test_kvm_missing),
		cmocka_unit_test(test_kvm_not_a_kvm_device),
		cmocka_unit_test(test_bad_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
