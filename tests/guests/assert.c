/* assert: a guest assertion that fails, for diagnostics tests. */
#include "vcprr_guest.h"

int main(int vcpu)
{
	int two = 1 + vcpu * 0;

	vcprr_assert(two == 2);
	return 0;
}
