/* idle: every VCPU halts forever.  With a controller attached, a pause wakes
 * a halted VCPU (like an interrupt) and it halts again after the resume;
 * without one, vcprr reports that nothing can wake them. */
#include "vcprr_guest.h"

int main(int vcpu)
{
	(void)vcpu;
	for (;;)
		__asm__ volatile("hlt");
}
