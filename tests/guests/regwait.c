/* regwait: VCPU 0 spins until a controller sets rbx (while the VCPU is
 * paused), then exits with that value. */
#include "vcprr_guest.h"

int main(int vcpu)
{
	u64 v;

	if (vcpu != 0)
		return 0;
	__asm__ volatile("xor %%ebx, %%ebx\n"
			 "1: test %%rbx, %%rbx\n"
			 "jz 1b\n"
			 "mov %%rbx, %0" : "=r"(v) :: "rbx");
	vcprr_exit((int)v);
}
