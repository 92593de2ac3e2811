/* The guest SDK's runtime and real libraries inside guests: the runtime's
 * string functions, allocator and locks never fail under explore; guests
 * built on Concurrency Kit (libck-dev) never fail when they use it right
 * (the misuses are in test_explore's scenario table); a guest built with
 * the FPU registers computes with SSE/AVX and replays the same. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/helpers/testutil.h"
#include "vmm/longmode.h"

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

/* The FPU instructions some hosts cannot run in guests are told apart
 * from the others vcprr's message must not blame. */
static void test_fpu_instructions_recognised(void **state)
{
	static const struct { uint8_t b[4]; unsigned len; bool fpu; } c[] = {
		{ { 0x66, 0x0f, 0xef, 0xc0 }, 4, true },   /* pxor */
		{ { 0x0f, 0x29, 0x04, 0x24 }, 4, true },   /* movaps */
		{ { 0xd9, 0xe8 }, 2, true },               /* fld1 */
		{ { 0xc5, 0xfc, 0x58, 0xc1 }, 4, true },   /* vaddps (VEX) */
		{ { 0xf3, 0x0f, 0x10, 0x00 }, 4, true },   /* movss */
		{ { 0x48, 0x89, 0xe0 }, 3, false },        /* mov %rsp,%rax */
		{ { 0x0f, 0xa2 }, 2, false },              /* cpuid */
		{ { 0x0f, 0x30 }, 2, false },              /* wrmsr */
		{ { 0xef }, 1, false },                    /* out %eax,(%dx) */
		{ { 0x66 }, 1, false },                    /* a prefix alone */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		if (longmode_insn_uses_fpu(c[i].b, c[i].len) != c[i].fpu)
			fail_msg("case %zu: expected %d", i, c[i].fpu);
}

/* A host with XSAVE, AVX and AVX-512: the guest gets x87|SSE|AVX, leaf 0xd
 * lists those states only and sizes the area for them, AVX-512 is hidden.
 * Without XSAVE: XCR0 0 and no AVX advertised. */
static void test_cpuid_trimmed_to_xcr0(void **state)
{
	struct kvm_cpuid_entry2 e[6] = {
		{ .function = 1, .ecx = (1u << 26) | (1u << 28) | (1u << 12) },
		{ .function = 7, .ebx = (1u << 5) | (1u << 16) },
		{ .function = 0xd, .index = 0, .eax = 0xe7, .ecx = 2696 },
		{ .function = 0xd, .index = 1, .ecx = 0x100 },
		{ .function = 0xd, .index = 2, .eax = 256, .ebx = 576 },
		{ .function = 0xd, .index = 5, .eax = 64, .ebx = 1088 },
	};
	uint32_t n = 6;

	(void)state;
	assert_int_equal(longmode_setup_cpuid(e, &n), 0x7);
	assert_int_equal(n, 5);  /* subleaf 5 (opmask) dropped */
	assert_int_equal(e[2].eax, 0x7);
	assert_int_equal(e[2].ecx, 576 + 256);
	assert_int_equal(e[3].ecx, 0);  /* no supervisor states */
	assert_int_equal(e[1].ebx, 1u << 5);  /* AVX2 kept, AVX-512F hidden */
	assert_true(e[0].ecx & (1u << 28));

	e[0].ecx = 1u << 28;  /* AVX without XSAVE: not usable */
	n = 5;
	assert_int_equal(longmode_setup_cpuid(e, &n), 0);
	assert_false(e[0].ecx & (1u << 28));
	assert_int_equal(e[1].ebx, 0);  /* AVX2 hidden too */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fpu_instructions_recognised),
		cmocka_unit_test(test_cpuid_trimmed_to_xcr0),
		cmocka_unit_test(test_runtime_under_explore),
		cmocka_unit_test(test_ck_spinlocks_under_explore),
		cmocka_unit_test(test_sse_guest_replays),
		cmocka_unit_test(test_thread_local_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
