/* exit-spin: VCPU 0 makes one PIO write, then spins forever without an
 * exit; the others return.  (Serial: the switch at that write can hand
 * VCPU 0 to another thread for the spin, for kick tests.) */
#include "vcprr_guest.h"

volatile u64 spin_count;

int main(int vcpu)
{
	if (vcpu != 0)
		return 0;
	outl(VCPRR_PORT_NULL, 0);
	for (;;)
		spin_count++;
}
