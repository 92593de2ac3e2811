/* exitcode: the last VCPU exits the VM with code 42; others spin until. */
#include "vcprr_guest.h"

int main(int vcpu)
{
	if (vcpu == vcprr_nr_vcpus() - 1)
		vcprr_exit(42);
	for (;;)
		cpu_relax();
}
