/* args: what the command line passed (vcprr run args.elf --arg N ...
 * --data FILE).  VCPU 0 prints the arguments and the data's length,
 * FNV-1a hash and first line; every VCPU checks that it reads the same.
 *
 * When the first argument is not 0, every VCPU then adds it, one by one,
 * to a shared total with a plain read-modify-write, and VCPU 0 asserts
 * the sum: a lost update that explore finds (--policy random switches
 * VCPUs at any instruction), so that a failing trace of a run with --data
 * exists to replay and minimize. */
#include "vcprr_guest.h"

#define ADDS 40

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
	char line[61];
	size_t n = 0;

	printf("argc %u\n", vcprr_argc());
	for (unsigned i = 0; i < vcprr_argc(); i++)
		printf("argv[%u] %llu\n", i, vcprr_argv(i));
	for (; n < len && n < sizeof(line) - 1 && data[n] >= 0x20 &&
	       data[n] < 0x7f; n++)
		line[n] = (char)data[n];
	line[n] = 0;
	printf("data %llu bytes, fnv 0x%llx, first line '%s'\n", (u64)len,
	       fnv1a(data, len), line);
}

int main(int vcpu)
{
	u32 n = (u32)vcprr_nr_vcpus();
	size_t len;
	const u8 *data = vcprr_data(&len);
	u64 step = vcprr_arg();

	assert(vcprr_argv(0) == step && vcprr_argv(VCPRR_MAX_ARGS) == 0);
	for (u64 i = 0; step && i < ADDS; i++) {
		u64 t = *(volatile u64 *)&total;
		*(volatile u64 *)&total = t + step;
	}
	atomic_add(&finished, 1);
	if (vcpu != 0)
		return 0;
	while (atomic_load(&finished) != n)
		vcprr_yield();
	show_input(data, len);
	assert(atomic_load(&total) == (u64)n * ADDS * step);
	return 0;
}
