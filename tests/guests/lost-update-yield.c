/* lost-update with a yield at the top of main, as a guest that polls with
 * vcprr_yield() has: a yield must not blind PCT to the race. */
#define main lost_update_main
#include "lost-update.c"
#undef main

int main(int vcpu)
{
	vcprr_yield();
	return lost_update_main(vcpu);
}
