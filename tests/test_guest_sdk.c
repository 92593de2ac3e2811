/* The guest SDK's runtime and real libraries inside guests: the runtime's
 * string functions, allocator and locks never fail under explore; guests
 * built on Concurrency Kit (libck-dev) never fail when they use it right
 * (the misuses are in test_explore's scenario table); a guest built with
 * the FPU registers computes with SSE/AVX and replays the same. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/helpers/testutil.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	return scratch_dir(dir, sizeof(dir), "guest-sdk");
}

static int teardown(void **state)
{
	(void)state;
	return scratch_dir_remove(dir);
}

/* explore GUEST OPTS exits 0: no failure in any run. */
static void explore_never_fails(const char *guest, const char *sub,
				const char *opts)
{
	char *out = NULL;
	int st = vcprr_sh(&out, "$V explore %s -o %s/%s --force %s 2>&1",
			  guest_path(guest), dir, sub, opts);

	if (st != 0 || !strstr(out, " 0 failed"))
		fail_msg("%s %s: status %d: %s", guest, opts, st, out);
	free(out);
}

static void test_runtime_under_explore(void **state)
{
	(void)state;
	SKIP_WITHOUT_KVM();
	explore_never_fails("runtime", "rt-exit", "--runs 40 --seed 1 -j 2 "
			    "--vcpus 3 --preempt exit --pauses 0.05");
	explore_never_fails("runtime", "rt-step", "--runs 6 --seed 1 -j 2 "
			    "--vcpus 3 --preempt step");
}

static void test_ck_spinlocks_under_explore(void **state)
{
	(void)state;
	SKIP_WITHOUT_KVM();
	explore_never_fails("ck-spinlock", "ck-step",
			    "--runs 40 --seed 1 -j 2 --vcpus 3");
	explore_never_fails("ck-spinlock", "ck-exit", "--runs 40 --seed 2 -j 2 "
			    "--vcpus 2 --preempt exit --pauses 0.05");
}

/* Recorded on 2 VCPUs, the SSE guest exits 0 and replays "same".  A host
 * whose KVM cannot run FPU code in guests is told apart by vcprr's own
 * message, and skips. */
static void test_sse_guest_replays(void **state)
{
	char *out = NULL;
	int st;

	(void)state;
	SKIP_WITHOUT_KVM();
	st = vcprr_sh(&out, "$V record -f -o %s/sse.trace %s --vcpus 2 "
		      "--sched serial 2>&1", dir, guest_path("sse"));
	if (st == 125 && strstr(out, "cannot run x87/SSE/AVX")) {
		printf("skipped: %s", out);
		free(out);
		skip();
	}
	if (st != 0 || !strstr(out, "sum 1392320"))
		fail_msg("sse: status %d: %s", st, out);
	free(out);
	st = vcprr_sh(&out, "$V replay %s/sse.trace 2>&1", dir);
	if (st != 0 || !strstr(out, "same"))
		fail_msg("replay of sse: status %d: %s", st, out);
	free(out);
}

/* A guest that declares _Thread_local does not link: the SDK says what
 * to use instead (the runtime sets up no thread pointer). */
static void test_thread_local_refused(void **state)
{
	char *out = NULL;
	int st;

	(void)state;
	st = vcprr_sh(&out, "printf '_Thread_local int x; int main(int v) "
		      "{ return x + v; }\\n' >%s/tls.c && build=${VCPRR_BUILD:-build} "
		      "&& gcc -ffreestanding -mno-red-zone -fno-pie -I vmm/guest "
		      "-isystem vmm/guest/libc -o %s/tls.elf %s/tls.c "
		      "-specs=$build/guest-sdk/vcprr-guest.specs -static -no-pie "
		      "-L$build/guest-sdk -Wl,-T,$build/guest-sdk/guest.ld 2>&1",
		      dir, dir, dir);
	if (st == 0 || !strstr(out, "use VCPRR_PER_VCPU"))
		fail_msg("status %d: %s", st, out);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_runtime_under_explore),
		cmocka_unit_test(test_ck_spinlocks_under_explore),
		cmocka_unit_test(test_sse_guest_replays),
		cmocka_unit_test(test_thread_local_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
