/* Choosing the execution mode, and the parallel one (see mode.h). */
#include "vmm/handshake.h"
#include "vmm/land.h"
#include "vmm/mode.h"
#include "vmm/sched-internal.h"

static const struct vm_mode parallel_mode = {
	.name = "parallel",
	.request = handshake_request_now,
	.resume = handshake_resume,
};

const struct vm_mode *vm_mode_of(const struct vm *vm)
{
	if (vm->sched)
		return &serial_mode;
	if (vm->replay)
		return &landing_mode;
	return &parallel_mode;
}
