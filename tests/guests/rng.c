/* rng: reads the random port (host randomness: a replay input) and MMIO
 * scratch registers, prints what it read and exits with a value derived
 * from it, so a replay that fed different inputs would be noticed. */
#include "vcprr_guest.h"

int main(int vcpu)
{
	volatile u64 *scratch = (volatile u64 *)VCPRR_MMIO_BASE;
	u32 sum = 0;

	if (vcpu != 0)
		return 0;
	for (int i = 0; i < 8; i++) {
		u32 r = inl(VCPRR_PORT_RANDOM);
		scratch[i % 8] = r;
		sum += (u32)scratch[i % 8];
		printf("random %d: %x\n", i, r);
	}
	return (int)(sum % 100) + 1;
}
