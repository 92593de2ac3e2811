/* triple: faults on purpose.  There is no IDT, so the #UD escalates to a
 * double and then a triple fault (KVM_EXIT_SHUTDOWN). */
#include "vcprr_guest.h"

int main(int vcpu)
{
	if (vcpu != 0)
		return 0;
	printf("about to fault\n");
	__asm__ volatile("mov $0x7ead, %%rax; ud2" ::: "rax");
	return 0;
}
