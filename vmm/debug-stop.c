/* A debugger's stop point in step mode and its view of a still VM (see
 * debug-stop.h).  Nothing here runs unless a debugger installed itself. */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/debug-stop.h"
#include "vmm/vm-state.h"

int vm_set_debug_stop(struct vm *vm, vm_debug_stop_fn fn, void *arg)
{
	if (vm->cfg.sched.mode != VM_SCHED_STEP || vm->cfg.raw)
		return -EINVAL;
	vm->debug_stop = fn;
	vm->debug_stop_arg = arg;
	return 0;
}

void debug_stop_before_run(struct vcpu *v)
{
	struct vm *vm = v->vm;

	vm->debug_stop(vm, v->id, vm->debug_stop_arg);
}

static struct vcpu *vcpu_of(struct vm *vm, unsigned id)
{
	return id < vm->nr_vcpus && vm->vcpus[id].fd >= 0 ? &vm->vcpus[id] : NULL;
}

int vm_debug_vcpu_state(struct vm *vm, unsigned id, struct vm_debug_vcpu *st)
{
	struct vcpu *v = vcpu_of(vm, id);

	if (!v)
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	st->finished = atomic_load(&v->finished) || v->done;
	st->halted = v->halted;
	if (atomic_load(&v->stopped) && v->event.kind == VCPU_EVENT_PAUSED) {
		st->paused = true;
		st->pause_seq = v->event.req_seq;
		st->pause_data = v->event.data;
	}
	st->exit_code = v->exit_code;
	st->exit_seq = v->exit_seq;
	return 0;
}

uint64_t vm_debug_vcpu_kicked_runs(struct vm *vm, unsigned id)
{
	struct vcpu *v = vcpu_of(vm, id);

	return v ? atomic_load(&v->stats.eintr) : 0;
}

int vm_debug_get_regs(struct vm *vm, unsigned id, struct kvm_regs *regs,
		      struct kvm_sregs *sregs, struct kvm_fpu *fpu)
{
	struct vcpu *v = vcpu_of(vm, id);

	if (!v)
		return -EINVAL;
	/* Registers staged in kvm_run for the next entry are the ones the
	 * guest will see. */
	if (regs && vm->sync_regs && v->run &&
	    (v->run->kvm_dirty_regs & KVM_SYNC_X86_REGS))
		*regs = v->run->s.regs.regs;
	else if (regs && ioctl(v->fd, KVM_GET_REGS, regs) < 0)
		return -errno;
	if (sregs && ioctl(v->fd, KVM_GET_SREGS, sregs) < 0)
		return -errno;
	if (fpu && ioctl(v->fd, KVM_GET_FPU, fpu) < 0)
		return -errno;
	return 0;
}

int vm_debug_translate(struct vm *vm, unsigned id, uint64_t gva, uint64_t *gpa)
{
	struct vcpu *v = vcpu_of(vm, id);
	struct kvm_translation tr = { .linear_address = gva };

	if (!v)
		return -EINVAL;
	if (ioctl(v->fd, KVM_TRANSLATE, &tr) < 0)
		return -errno;
	if (!tr.valid)
		return -EFAULT;
	*gpa = tr.physical_address;
	return 0;
}

bool vm_debug_last_dr6(struct vm *vm, unsigned id, uint64_t *dr6)
{
	struct vcpu *v = vcpu_of(vm, id);

	if (!v || !v->run || v->run->exit_reason != KVM_EXIT_DEBUG)
		return false;
	*dr6 = v->run->debug.arch.dr6;
	return true;
}

int vm_debug_set_watch(struct vm *vm, unsigned id, const uint64_t addr[4],
		       uint64_t dr7)
{
	struct vcpu *v = vcpu_of(vm, id);
	struct kvm_guest_debug dbg = {
		.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP,
	};

	if (!v)
		return -EINVAL;
	if (dr7) {
		dbg.control |= KVM_GUESTDBG_USE_HW_BP;
		memcpy(dbg.arch.debugreg, addr, 4 * sizeof(addr[0]));
		dbg.arch.debugreg[7] = dr7;
	}
	return ioctl(v->fd, KVM_SET_GUEST_DEBUG, &dbg) < 0 ? -errno : 0;
}
