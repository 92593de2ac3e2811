/* hello: each VCPU prints its id and returns 0. */
#include "vcprr_guest.h"

int main(int vcpu)
{
	printf("hello from vcpu %d of %d\n", vcpu, vcprr_nr_vcpus());
	return 0;
}
