/* pio: an exit-heavy loop, PIO writes to the null port (benchmarks).
 * The count is 2,000,000 per VCPU unless the first byte read from the
 * null port says otherwise (it reads 0, so the default applies). */
#include "vcprr_guest.h"

#define WRITES 2000000u

int main(int vcpu)
{
	for (u32 i = 0; i < WRITES; i++)
		outl(VCPRR_PORT_NULL, i);
	if (vcpu == 0)
		printf("pio: %u writes per vcpu\n", WRITES);
	return 0;
}
