/* sse: ordinary C built with the x87/SSE/AVX registers available (as
 * pkg-config's vcprr-guest flags give): floating point, a loop the
 * compiler vectorises at -O2, <stdatomic.h> on _Atomic objects, and AVX
 * through the compiler's target attribute when CPUID says the guest has
 * it.  Every VCPU computes the same sums; the last one to finish checks
 * that every VCPU added its own to an _Atomic total. */
#include "vcprr_guest.h"

#define N 256

static _Atomic unsigned long long total;
static atomic_int finished;

__attribute__((target("avx"))) static float avx_dot(const float *a, int n)
{
	float s = 0;

	for (int i = 0; i < n; i++)
		s += a[i] * a[i];
	return s;
}

static bool has_avx(void)
{
	unsigned a, b, c, d;

	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
	return (c >> 28) & 1;  /* with OSXSAVE: the VMM enabled YMM */
}

int main(int vcpu)
{
	double sum = 0;
	float local[N];

	for (int i = 0; i < N; i++)
		local[i] = (float)i * 0.5f;
	for (int i = 0; i < N; i++)
		sum += local[i] * (double)local[i];
	assert(sum == 1392320.0);  /* sum of (i/2)^2 for i < 256, exact */
	if (has_avx())
		assert(avx_dot(local, N) == 1392320.0f);
	atomic_fetch_add(&total, (unsigned long long)sum);
	if (atomic_fetch_add(&finished, 1) + 1 == vcprr_nr_vcpus())
		assert(atomic_load(&total) ==
		       1392320ull * (unsigned long long)vcprr_nr_vcpus());
	printf("vcpu %d: sum %llu avx %d\n", vcpu, (unsigned long long)sum,
	       has_avx());
	return 0;
}
