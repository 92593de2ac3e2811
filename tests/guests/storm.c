/* storm: a mix of VCPU behaviours for pause stress tests, forever: VCPUs
 * spin without exits, loop on PIO writes, or halt, by id modulo 3. */
#include "vcprr_guest.h"

volatile u64 spins[1024];

int main(int vcpu)
{
	switch (vcpu % 3) {
	case 0:
		for (;;)
			spins[vcpu % 1024]++;
	case 1:
		for (u32 i = 0;; i++)
			outl(VCPRR_PORT_NULL, i);
	default:
		for (;;)
			__asm__ volatile("hlt");
	}
}
