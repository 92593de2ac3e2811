/* spinall: every VCPU spins forever without exits (kick benchmarks). */
#include "vcprr_guest.h"

volatile u64 spin_counts[1024];

int main(int vcpu)
{
	for (;;)
		spin_counts[vcpu % 1024]++;
}
