/* staggered: VCPU i spins i * vcprr_arg() iterations (default 10 million)
 * and returns, so VCPUs finish one after another (VCPU 0 at once). */
#include "vcprr_guest.h"

int main(int vcpu)
{
	u64 n = (vcprr_arg() ? vcprr_arg() : 10000000) * (u64)vcpu;

	for (volatile u64 i = 0; i < n; i++)
		cpu_relax();
	return 0;
}
