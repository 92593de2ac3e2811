/* exitcode: the last VCPU exits the VM with code 42, or with the code
 * given by --arg (as an int: 0xffffffff is -1); others spin until. */
#include "vcprr_guest.h"

int main(int vcpu)
{
	if (vcpu == vcprr_nr_vcpus() - 1)
		vcprr_exit(vcprr_arg() ? (int)vcprr_arg() : 42);
	for (;;)
		cpu_relax();
}
