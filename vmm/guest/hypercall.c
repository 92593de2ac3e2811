/* Hypercalls: a struct vcprr_hc on the stack, its address written to the
 * hypercall port; the VMM reads the arguments and writes ret. */
#include "vcprr_guest.h"

unsigned long long vcprr_hypercall(unsigned long long nr, unsigned long long a0,
				   unsigned long long a1, unsigned long long a2)
{
	volatile struct vcprr_hc hc = { .nr = nr, .arg = { a0, a1, a2 } };

	/* The stack is identity-mapped and below 4 GiB, so its address fits. */
	outl(VCPRR_PORT_HYPERCALL, (u32)(unsigned long)&hc);
	return hc.ret;
}

void vcprr_exit(int code)
{
	vcprr_hypercall(VCPRR_HC_EXIT, (unsigned)code, 0, 0);
	for (;;)
		__asm__ volatile("hlt");
}

void exit(int code)
{
	vcprr_exit(code);
}

void vcprr_assert_fail(const char *expr, const char *file, int line)
{
	vcprr_hypercall(VCPRR_HC_ASSERT, (unsigned long)expr, (unsigned long)file,
			(unsigned)line);
	for (;;)
		__asm__ volatile("hlt");
}

void abort(void)
{
	vcprr_assert_fail("abort()", "", 0);
}

void vcprr_log(const char *msg)
{
	vcprr_hypercall(VCPRR_HC_LOG, (unsigned long)msg, strlen(msg), 0);
}

void vcprr_yield(void) { vcprr_hypercall(VCPRR_HC_YIELD, 0, 0, 0); }
int vcprr_vcpu_id(void) { return (int)vcprr_hypercall(VCPRR_HC_VCPU_ID, 0, 0, 0); }
int vcprr_nr_vcpus(void) { return (int)vcprr_hypercall(VCPRR_HC_NR_VCPUS, 0, 0, 0); }
