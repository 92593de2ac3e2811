/* spin: VCPU 0 spins forever without a single exit (for kick tests);
 * other VCPUs return at once. */
#include "vcprr_guest.h"

volatile u64 spin_count;

int main(int vcpu)
{
	if (vcpu != 0)
		return 0;
	for (;;)
		spin_count++;
}
