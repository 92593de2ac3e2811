/* args: what the command line passed (vcprr run args.elf --arg N ...
 * --data FILE).  VCPU 0 prints the arguments and the data's length,
 * FNV-1a hash and first line; every VCPU checks that it reads the same.
 *
 * When the first argument is not 0, every VCPU then adds it, one by one,
 * to a shared total with a plain read-modify-write, and VCPU 0 asserts
 * the sum: a lost update that explore (--preempt step) finds, so that a
 * failing trace of a run with --data exists to replay and minimize. */
#include "vcprr_guest.h"

static u64 total;
static u32 finished;

static u64 fnv1a(const u8 *p, size_t n)
{
	u64 h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static void show_input(const u8 *data, size_t len)
{
	size_t line = 0;

	printf("argc %u\n", vcprr_argc());
	for (unsigned i = 0; i < vcprr_argc(); i++)
		printf("argv[%u] %llu\n", i, vcprr_argv(i));
	while (line < len && line < 60 && data[line] >= 0x20 && data[line] < 0x7f)
		line++;
	printf("data %llu bytes, fnv 0x%llx, first line '%.*s'\n",
	       (u64)len, fnv1a(data, len), (int)line, (const char *)data);
}

int main(int vcpu)
{
	u32 n = (u32)vcprr_nr_vcpus();
	size_t len;
	const u8 *data = vcprr_data(&len);
	u64 step = vcprr_arg();

	assert(vcprr_argv(0) == step && vcprr_argv(VCPRR_MAX_ARGS) == 0);
	if (vcpu == 0)
		show_input(data, len);
	for (u64 i = 0; step && i < 20; i++) {
		u64 t = *(volatile u64 *)&total;
		*(volatile u64 *)&total = t + step;
	}
	atomic_add(&finished, 1);
	if (vcpu != 0)
		return 0;
	while (atomic_load(&finished) != n)
		vcprr_yield();
	assert(atomic_load(&total) == (u64)n * 20 * step);
	return 0;
}
