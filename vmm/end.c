/* How a run ends (see end.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vmm/controller.h"
#include "vmm/end.h"
#include "vmm/handshake.h"
#include "vmm/kick.h"
#include "vmm/mode.h"

bool vm_stopping(const struct vm *vm) { return atomic_load(&vm->stopping); }

void vm_stop(struct vm *vm, int reason, int exit_code, const char *why)
{
	pthread_mutex_lock(&vm->end_lock);
	if (vm->stop_claimed || vm->ended) {
		pthread_mutex_unlock(&vm->end_lock);
		return;
	}
	vm->stop_claimed = true;
	vm->result.reason = reason;
	vm->result.exit_code = exit_code;
	snprintf(vm->result.diag, sizeof(vm->result.diag), "%s", why ? why : "");
	pthread_mutex_unlock(&vm->end_lock);
	/* Logged before any VCPU can see the stop, so that what VCPUs log
	 * after the marker is their way out.  (A sink that fails now has
	 * nothing left to stop.) */
	vtrace_ctl_emit(vm, TRACE_VCPU_NONE, TEV_VM_STOP, reason,
			(uint64_t)(int64_t)exit_code, 0, 0, NULL, 0);
	atomic_store(&vm->stopping, true);
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		vcpu_kick(&vm->vcpus[i]);
		handshake_wake(&vm->vcpus[i]);  /* stopped VCPUs and waiters */
	}
	if (vm->mode && vm->mode->wake)
		vm->mode->wake(vm);  /* VCPUs waiting for their turn */
}

void vm_stop_pending(struct vm *vm, struct vcpu *self)
{
	struct vm_pending_stop p;

	if (!atomic_load(&vm->has_pending))
		return;
	pthread_mutex_lock(&vm->end_lock);
	p = vm->pending;
	vm->pending.set = false;
	atomic_store(&vm->has_pending, false);
	pthread_mutex_unlock(&vm->end_lock);
	if (!p.set)
		return;
	if (self && p.fault_vcpu == (int)self->id) {
		vcpu_fault(self, "%s", p.why);
		return;
	}
	vm_stop(vm, p.reason, p.exit_code, p.why);
}

void vcpu_event(struct vcpu *v, uint32_t type, uint64_t a0, uint64_t a1,
		uint64_t a2, uint64_t a3, const void *payload, uint32_t len)
{
	if (vtrace_vcpu_emit(v, type, a0, a1, a2, a3, payload, len))
		vm_stop_pending(v->vm, v);
}

/* Serial and step runs end where the schedule says: their VCPU_EXIT
 * carries the RIP as any event does.  A parallel run's stop catches each
 * VCPU wherever it is, so its whole position is logged: the registers
 * KVM last reported, else (it never entered the guest) asked for. */
void vcpu_log_exit(struct vcpu *v)
{
	struct vcpu_position pos = { .exit_seq = v->exit_seq };
	struct kvm_regs regs;

	if (!vtrace_on(v->vm))
		return;
	if (v->vm->sched || v->vm->cfg.raw) {
		VCPU_EVENT(v, TEV_VCPU_EXIT, (uint64_t)(int64_t)v->exit_code, 0, 0);
		return;
	}
	if (v->regs_synced)
		regs = v->run->s.regs.regs;
	else if (ioctl(v->fd, KVM_GET_REGS, &regs) < 0)
		memset(&regs, 0, sizeof(regs));  /* (a digest nobody matches) */
	pos.rip = regs.rip;
	pos.digest = regs_digest(&regs);
	if (vtrace_vcpu_emit_at(v, TEV_VCPU_EXIT, &pos,
				(uint64_t)(int64_t)v->exit_code))
		vm_stop_pending(v->vm, v);
}

static int append(char *buf, size_t cap, int n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int append(char *buf, size_t cap, int n, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (n < 0 || (size_t)n >= cap)
		return n;
	va_start(ap, fmt);
	r = vsnprintf(buf + n, cap - n, fmt, ap);
	va_end(ap);
	return r < 0 ? n : n + r;
}

static int dump_registers(struct vcpu *v, char *buf, size_t cap, int n)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0)
		return append(buf, cap, n, "\n  (registers unavailable: %s)",
			      strerror(errno));
	n = append(buf, cap, n,
		   " at rip=%#llx\n"
		   "  rax=%016llx rbx=%016llx rcx=%016llx rdx=%016llx\n"
		   "  rsi=%016llx rdi=%016llx rbp=%016llx rsp=%016llx\n"
		   "  r8 =%016llx r9 =%016llx r10=%016llx r11=%016llx\n"
		   "  r12=%016llx r13=%016llx r14=%016llx r15=%016llx\n"
		   "  rip=%016llx rflags=%08llx",
		   r.rip, r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp, r.rsp,
		   r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15, r.rip,
		   r.rflags);
	if (ioctl(v->fd, KVM_GET_SREGS, &s) == 0)
		n = append(buf, cap, n,
			   "\n  cr0=%08llx cr2=%016llx cr3=%016llx cr4=%08llx efer=%llx",
			   s.cr0, s.cr2, s.cr3, s.cr4, s.efer);
	return n;
}

void vcpu_fault(struct vcpu *v, const char *fmt, ...)
{
	char msg[VM_DIAG_SIZE];
	va_list ap;
	int n = snprintf(msg, sizeof(msg), "vcpu %u: ", v->id);

	va_start(ap, fmt);
	n += vsnprintf(msg + n, sizeof(msg) - n, fmt, ap);
	va_end(ap);
	n = dump_registers(v, msg, sizeof(msg), n);
	/* (Its own failure changes nothing: this stops the run anyway.) */
	if (vtrace_on(v->vm))
		vtrace_vcpu_emit(v, TEV_VCPU_ERROR, v->run->exit_reason, 0, 0, 0,
				 msg, n < (int)sizeof(msg) ? (uint32_t)n :
				 sizeof(msg) - 1);
	vm_stop(v->vm, TEND_GUEST_FAULT, 1, msg);
	v->done = true;
}

static void signal_end(struct vm *vm)
{
	uint64_t one = 1;

	if (write(vm->end_fd, &one, sizeof(one)) < 0)
		return;  /* the counter cannot overflow with one write */
}

/* Which VCPU finds the others halted is a race in a parallel run, so the
 * fault is the VM's, logged with no VCPU: no VCPU's own events depend on
 * who got there last. */
void vm_stop_all_halted(struct vm *vm)
{
	static const char why[] = "every VCPU is halted (HLT) and nothing can "
				  "wake them";

	if (vm_stopping(vm))
		return;
	vtrace_ctl_emit(vm, TRACE_VCPU_NONE, TEV_VCPU_ERROR, KVM_EXIT_HLT, 0, 0,
			0, why, sizeof(why) - 1);
	vm_stop(vm, TEND_GUEST_FAULT, 1, why);
}

void vm_vcpu_finished(struct vm *vm)
{
	unsigned left = atomic_fetch_sub(&vm->live_vcpus, 1) - 1;

	if (left && left == atomic_load(&vm->halted_vcpus) && !vm->cfg.controlled)
		vm_stop_all_halted(vm);
	if (left)
		return;
	pthread_mutex_lock(&vm->end_lock);
	if (!vm->ended) {
		vm->ended = true;
		if (!vm->stop_claimed) {
			vm->result.reason = TEND_GUEST_EXIT;
			vm->result.exit_code = atomic_load(&vm->first_nonzero);
		}
	}
	pthread_mutex_unlock(&vm->end_lock);
	signal_end(vm);
}
