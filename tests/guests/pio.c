/* pio: an exit-heavy loop, PIO writes to the null port (benchmarks):
 * `--arg N` writes per VCPU, 2,000,000 by default. */
#include "vcprr_guest.h"

#define WRITES 2000000u

int main(int vcpu)
{
	u32 writes = vcprr_arg() ? (u32)vcprr_arg() : WRITES;

	for (u32 i = 0; i < writes; i++)
		outl(VCPRR_PORT_NULL, i);
	if (vcpu == 0)
		printf("pio: %u writes per vcpu\n", writes);
	return 0;
}
