/* empty: every VCPU returns from main at once.  A run of it is nearly all
 * overhead: vcprr bench explore measures what a run costs beyond the
 * guest's own execution with it. */
#include "vcprr_guest.h"

int main(int vcpu)
{
	(void)vcpu;
	return 0;
}
