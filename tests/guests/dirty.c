/* dirty: writes pages for vcprr bench snapshot.  --arg N: the low 16 bits
 * are how many pages, the next 16 the stride between them in pages (0 or
 * 1: contiguous), from 16 MiB up.  Each page gets a value from the random
 * port, so that every run writes new content. */
#include "vcprr_guest.h"

#define BASE (16ull << 20)

int main(int vcpu)
{
	u64 arg = vcprr_arg(), pages = arg & 0xffff, stride = (arg >> 16) & 0xffff;
	u64 salt = inl(VCPRR_PORT_RANDOM);

	if (vcpu != 0)
		return 0;
	if (!stride)
		stride = 1;
	for (u64 i = 0; i < pages; i++)
		*(volatile u64 *)(BASE + i * stride * 4096) = salt + i;
	return 0;
}
