/* VCPU threads: create, run loop, exit dispatch, fault diagnostics, kicks.
 *
 * Kicks: another thread sets a flag, then sends SIGRTMIN to the VCPU thread.
 * The handler sets kvm_run->immediate_exit, so a signal that lands after the
 * VCPU checked its flags but before it entered KVM_RUN makes KVM_RUN return
 * EINTR at once instead of being lost.  The VCPU clears immediate_exit after
 * every return from KVM_RUN and only then re-reads its flags.
 *
 * With VM_KICK_SIGNAL_MASK (hosts without KVM_CAP_IMMEDIATE_EXIT) the signal
 * stays blocked in the VCPU thread and KVM_SET_SIGNAL_MASK unblocks it only
 * inside KVM_RUN: a kick sent outside KVM_RUN stays pending and makes the
 * next KVM_RUN return EINTR on entry.  When KVM_RUN returns, the signal is
 * blocked again and still pending, so the VCPU dequeues it with
 * sigtimedwait() or every later KVM_RUN would return EINTR at once.
 *
 * exit_seq counts guest-caused exits only (KVM_RUN returning 0): EINTR
 * returns depend on when signals land, which a replay cannot reproduce. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "vmm/longmode.h"
#include "vmm/vtrace.h"

static __thread struct vcpu *tls_vcpu __attribute__((tls_model("initial-exec")));

static void kick_handler(int sig)
{
	struct vcpu *v = tls_vcpu;

	(void)sig;
	if (v)
		__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
}

static void install_handler_once(void)
{
	struct sigaction sa = { .sa_handler = kick_handler };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGRTMIN, &sa, NULL);  /* no SA_RESTART: KVM_RUN gets EINTR */
}

void vcpu_kick_install_handler(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, install_handler_once);
}

static void block_kick_signal(sigset_t *old)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN);
	pthread_sigmask(SIG_BLOCK, &set, old);
}

/* Kickers store their flag (stopping, a request) before reading kickable;
 * the VCPU stores kickable before reading the flags.  Both seq_cst: either
 * the kick is sent or the VCPU sees the flag. */
void vcpu_kick(struct vcpu *v)
{
	if (atomic_load(&v->kickable))
		pthread_kill(v->thread, SIGRTMIN);
}

static const char *exit_reason_name(uint32_t r)
{
	static const char *const names[] = {
		[KVM_EXIT_UNKNOWN] = "KVM_EXIT_UNKNOWN",
		[KVM_EXIT_EXCEPTION] = "KVM_EXIT_EXCEPTION",
		[KVM_EXIT_IO] = "KVM_EXIT_IO",
		[KVM_EXIT_HYPERCALL] = "KVM_EXIT_HYPERCALL",
		[KVM_EXIT_DEBUG] = "KVM_EXIT_DEBUG",
		[KVM_EXIT_HLT] = "KVM_EXIT_HLT",
		[KVM_EXIT_MMIO] = "KVM_EXIT_MMIO",
		[KVM_EXIT_IRQ_WINDOW_OPEN] = "KVM_EXIT_IRQ_WINDOW_OPEN",
		[KVM_EXIT_SHUTDOWN] = "KVM_EXIT_SHUTDOWN",
		[KVM_EXIT_FAIL_ENTRY] = "KVM_EXIT_FAIL_ENTRY",
		[KVM_EXIT_INTR] = "KVM_EXIT_INTR",
		[KVM_EXIT_SET_TPR] = "KVM_EXIT_SET_TPR",
		[KVM_EXIT_TPR_ACCESS] = "KVM_EXIT_TPR_ACCESS",
		[KVM_EXIT_NMI] = "KVM_EXIT_NMI",
		[KVM_EXIT_INTERNAL_ERROR] = "KVM_EXIT_INTERNAL_ERROR",
		[KVM_EXIT_SYSTEM_EVENT] = "KVM_EXIT_SYSTEM_EVENT",
	};

	if (r < sizeof(names) / sizeof(names[0]) && names[r])
		return names[r];
	return "unknown exit reason";
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
	if (vtrace_on(v->vm))
		vtrace_vcpu_emit(v, TEV_VCPU_ERROR, v->run->exit_reason, 0, 0, 0,
				 msg, n < (int)sizeof(msg) ? (uint32_t)n : sizeof(msg) - 1);
	vm_stop(v->vm, TEND_GUEST_FAULT, 1, msg);
	v->done = true;
}

static void handle_io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	bool out = run->io.direction == KVM_EXIT_IO_OUT;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	struct bus_device *dev = bus_find(&v->vm->pio, run->io.port, run->io.size);

	if (v->vm->cfg.raw) {
		for (uint32_t i = 0; i < run->io.count && !v->done; i++)
			raw_io(v, VM_SPACE_PIO, run->io.port,
			       data + i * run->io.size, run->io.size, out);
		return;
	}
	if (!dev) {
		vcpu_fault(v, "PIO %s of size %u to unmapped port %#x",
			   out ? "write" : "read", run->io.size, run->io.port);
		return;
	}
	for (uint32_t i = 0; i < run->io.count && !v->done; i++) {
		uint8_t *d = data + i * run->io.size;
		uint64_t val = 0;

		if (dev->access(dev, v, run->io.port - dev->base, d, run->io.size,
				out))
			return;
		if (!out)
			vtrace_read_input(v, TEV_EXIT_PIO, run->io.port,
					  run->io.size, d, run->io.size);
		/* Reads are replay inputs: the value given to the guest. */
		if (vtrace_on(v->vm)) {
			memcpy(&val, d, run->io.size);
			vtrace_vcpu_emit(v, TEV_EXIT_PIO, run->io.port,
					 run->io.size | (uint64_t)out << 8, val, 0,
					 NULL, 0);
		}
	}
}

static void handle_mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint64_t gpa = run->mmio.phys_addr;
	struct bus_device *dev = bus_find(&v->vm->mmio, gpa, run->mmio.len);

	if (v->vm->cfg.raw)
		return raw_io(v, VM_SPACE_MMIO, gpa, run->mmio.data,
			      run->mmio.len, run->mmio.is_write);
	if (!dev) {
		vcpu_fault(v, "MMIO %s of size %u to unmapped address %#llx",
			   run->mmio.is_write ? "write" : "read", run->mmio.len,
			   (unsigned long long)gpa);
		return;
	}
	if (dev->access(dev, v, gpa - dev->base, run->mmio.data, run->mmio.len,
			run->mmio.is_write))
		return;
	if (!run->mmio.is_write)
		vtrace_read_input(v, TEV_EXIT_MMIO, gpa, run->mmio.len,
				  run->mmio.data, run->mmio.len);
	if (vtrace_on(v->vm)) {
		uint64_t val = 0;
		memcpy(&val, run->mmio.data, run->mmio.len <= 8 ? run->mmio.len : 8);
		vtrace_vcpu_emit(v, TEV_EXIT_MMIO, gpa,
				 run->mmio.len | (uint64_t)run->mmio.is_write << 8,
				 val, 0, NULL, 0);
	}
}

static void handle_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		v->io_pending = true;
		vcpu_hook(v, VCPU_HOOK_IN_PIO);
		handle_io(v);
		break;
	case KVM_EXIT_MMIO:
		v->io_pending = true;
		handle_mmio(v);
		break;
	case KVM_EXIT_INTR:
		break;
	case KVM_EXIT_DEBUG:
		/* Single steps of --sched step are scheduling points, not events. */
		if (v->vm->cfg.sched.mode != VM_SCHED_STEP)
			VTRACE_VCPU(v, TEV_EXIT_DEBUG, run->debug.arch.dr6,
				    run->debug.arch.exception, 0);
		break;
	case KVM_EXIT_HLT:
		VTRACE_VCPU(v, TEV_EXIT_HLT, 0, 0, 0);
		v->halted = true;
		break;
	case KVM_EXIT_SHUTDOWN:
		vcpu_fault(v, "triple fault (KVM_EXIT_SHUTDOWN)");
		break;
	case KVM_EXIT_FAIL_ENTRY:
		vcpu_fault(v, "VM entry failed (KVM_EXIT_FAIL_ENTRY, hardware "
			   "reason %#llx)", (unsigned long long)
			   run->fail_entry.hardware_entry_failure_reason);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		vcpu_fault(v, "KVM internal error (KVM_EXIT_INTERNAL_ERROR, "
			   "suberror %u)", run->internal.suberror);
		break;
	default:
		vcpu_fault(v, "unexpected exit %u (%s)", run->exit_reason,
			   exit_reason_name(run->exit_reason));
	}
}

/* Signal-mask mode: consume pending kicks (see the comment at the top). */
static void eat_kick_signals(struct vcpu *v)
{
	static const struct timespec zero;
	sigset_t set;

	if (v->vm->kick_mode != VM_KICK_SIGNAL_MASK)
		return;
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN);
	while (sigtimedwait(&set, NULL, &zero) > 0)
		;
}

/* Re-enters KVM_RUN so that it finishes the pending PIO/MMIO instruction and
 * returns at once without running the guest (KVM API: immediate_exit or a
 * pending unmasked signal). */
static void complete_pending_io(struct vcpu *v)
{
	if (v->vm->kick_mode == VM_KICK_SIGNAL_MASK)
		pthread_kill(pthread_self(), SIGRTMIN);  /* blocked: stays pending */
	else
		__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	ioctl(v->fd, KVM_RUN, 0);
	__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
	eat_kick_signals(v);
	v->io_pending = false;
}

/* Takes the latest pause request if there is one newer than the last taken:
 * reports PAUSED and blocks until resumed.  True when it paused. */
static bool pause_check(struct vcpu *v)
{
	struct vcpu_event ev = { .kind = VCPU_EVENT_PAUSED };

	if (!pause_pending(&v->pause, v->last_taken, &ev.req_seq, &ev.data))
		return false;
	if (v->io_pending)
		complete_pending_io(v);
	atomic_fetch_add(&v->stats.coalesced, ev.req_seq - v->last_taken - 1);
	atomic_fetch_add(&v->stats.taken, 1);
	if (vtrace_on(v->vm))
		for (uint64_t s = v->last_taken + 1; s < ev.req_seq; s++)
			vtrace_vcpu_emit(v, TEV_PAUSE_COALESCED, s, ev.req_seq, 0, 0,
					 NULL, 0);
	v->last_taken = ev.req_seq;
	v->halted = false;  /* a pause wakes a halted VCPU, like an interrupt */
	vcpu_stop_with_event(v, &ev);
	return true;
}

/* After HLT there are no interrupts to wake the VCPU: it sleeps until a
 * pause request or the end of the run.  The kick signal is blocked while
 * checking and sigsuspend() unblocks it atomically, so no kick is lost. */
static void halt_wait(struct vcpu *v)
{
	struct vm *vm = v->vm;
	uint64_t seq, data;
	sigset_t old, wait;

	if (atomic_fetch_add(&vm->halted_vcpus, 1) + 1 == atomic_load(&vm->live_vcpus) &&
	    !vm->cfg.controlled) {
		atomic_fetch_sub(&vm->halted_vcpus, 1);
		vm_stop_all_halted(vm);
		return;
	}
	block_kick_signal(&old);
	wait = old;
	sigdelset(&wait, SIGRTMIN);
	while (!pause_pending(&v->pause, v->last_taken, &seq, &data) &&
	       !atomic_load(&vm->stopping))
		sigsuspend(&wait);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	atomic_fetch_sub(&vm->halted_vcpus, 1);
}

static int setup_kick_mode(struct vcpu *v)
{
	struct {
		struct kvm_signal_mask hdr;
		uint8_t set[8];
	} km;
	sigset_t cur;

	if (v->vm->kick_mode != VM_KICK_SIGNAL_MASK)
		return 0;
	block_kick_signal(&cur);
	pthread_sigmask(SIG_SETMASK, NULL, &cur);
	sigdelset(&cur, SIGRTMIN);
	km.hdr.len = 8;  /* the kernel's sigset size on x86-64 */
	memcpy(km.set, &cur, 8);
	return ioctl(v->fd, KVM_SET_SIGNAL_MASK, &km);
}

/* --- parallel replay: landing recorded pauses ------------------------------ */

#define LAND_MAX_HITS 200000  /* breakpoint hits before giving up */

static int set_debug(struct vcpu *v, uint32_t control, uint64_t bp)
{
	struct kvm_guest_debug dbg = { .control = control };

	dbg.arch.debugreg[0] = bp;
	dbg.arch.debugreg[7] = bp ? 0x1 : 0;  /* L0: execute breakpoint */
	return ioctl(v->fd, KVM_SET_GUEST_DEBUG, &dbg);
}

static void land_stop(struct vcpu *v)
{
	if (v->landing)
		set_debug(v, 0, 0);
	v->landing = v->land_stepping = false;
}

static void land_diverged(struct vcpu *v, const char *fmt, uint64_t a, uint64_t b)
{
	char why[512];

	snprintf(why, sizeof(why), fmt, (unsigned long long)a, (unsigned long long)b);
	land_stop(v);
	v->replay_diverged = true;  /* its own report, not the checker's */
	vcpu_fault(v, "replay diverged: %s", why);
}

/* Runs the VCPU to its next recorded pause: to the recorded exit count, then
 * (a hardware breakpoint on the recorded RIP) to the instruction where the
 * registers match, stepping over other hits; then publishes the recorded
 * requests so that pause_check() takes the pause here. */
static void replay_land(struct vcpu *v)
{
	const struct vm_replay_hooks *h = v->vm->cfg.replay;
	const struct vm_replay_pause *p;
	struct kvm_regs regs;

	if (!h || v->vm->sched || !(p = h->next_pause(h->arg, v->id)))
		return;
	if (p->exit_seq < v->exit_seq && v->land_hits)
		return land_diverged(v, "the recorded pause at rip %#llx was never "
				     "reached with the recorded registers (%llu visits "
				     "before the next exit). In a parallel trace a value "
				     "read from memory that other VCPUs write, or flags "
				     "set by an atomic on it, does this: a cross-VCPU "
				     "race; --sched serial or step records such runs "
				     "exactly", p->rip, v->land_hits);
	if (p->exit_seq < v->exit_seq)
		return land_diverged(v, "the recorded pause at exit %llu was not "
				     "reached: the VCPU is already at exit %llu",
				     p->exit_seq, v->exit_seq);
	if (p->exit_seq > v->exit_seq)
		return;
	if (!v->land_start_ns) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		v->land_start_ns = ts.tv_sec * 1000000000ull + ts.tv_nsec;
	}
	if (v->io_pending)
		complete_pending_io(v);
	if (v->regs_synced)
		regs = v->run->s.regs.regs;
	else if (ioctl(v->fd, KVM_GET_REGS, &regs) < 0)
		return;
	if (regs.rip == p->rip && regs_digest(&regs) == p->digest) {
		struct timespec ts;
		land_stop(v);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		if (h->landed)
			h->landed(h->arg, v->id, ts.tv_sec * 1000000000ull +
				  ts.tv_nsec - v->land_start_ns);
		v->land_start_ns = 0;
		for (unsigned i = 0; i < p->nreq; i++)
			ctl_request_now(v->vm, v->id, p->data[i]);
		return;
	}
	if (!v->landing) {
		v->landing = true;
		v->land_hits = 0;
		set_debug(v, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP, p->rip);
		return;
	}
	if (regs.rip != p->rip)
		return;  /* just stepped over the breakpoint: run on to it */
	if (++v->land_hits > LAND_MAX_HITS)
		return land_diverged(v, "the recorded pause at rip %#llx was hit "
				     "%llu times without the recorded registers",
				     p->rip, v->land_hits);
	/* Step over this instance, then re-arm.  (Setting RFLAGS.RF through
	 * sync regs does not suppress the breakpoint on every host.) */
	v->land_stepping = true;
	set_debug(v, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP, 0);
}

/* A debug exit that belongs to landing: not a guest exit.  True if so. */
static bool landing_exit(struct vcpu *v)
{
	const struct vm_replay_pause *p;

	if (!v->landing || v->run->exit_reason != KVM_EXIT_DEBUG)
		return false;
	if (v->land_stepping) {
		v->land_stepping = false;
		p = v->vm->cfg.replay->next_pause(v->vm->cfg.replay->arg, v->id);
		set_debug(v, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP,
			  p ? p->rip : 0);
	}
	return true;
}

static void run_loop(struct vcpu *v)
{
	struct vm *vm = v->vm;

	while (!v->done && !atomic_load(&vm->stopping)) {
		int r;

		replay_land(v);
		/* After a pause, check again: another may be due right here. */
		if (pause_check(v))
			continue;
		if (v->done || atomic_load(&vm->stopping))
			break;
		if (v->halted) {
			halt_wait(v);
			continue;
		}
		if (vm->sched) {
			if (!sched_wait_turn(v))
				continue;  /* woken for a pause, or stopping */
			sched_enter_guest(v, true);
		}
		vcpu_hook(v, VCPU_HOOK_BEFORE_RUN);
		r = ioctl(v->fd, KVM_RUN, 0);
		__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
		v->io_pending = false;
		v->regs_synced = vm->sync_regs;
		if (vm->sched)
			sched_enter_guest(v, false);
		vcpu_hook(v, VCPU_HOOK_AFTER_RUN);
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				eat_kick_signals(v);
				atomic_fetch_add(&v->stats.eintr, 1);
				VTRACE_VCPU(v, TEV_KICK, 0, 0, 0);
				continue;
			}
			vcpu_fault(v, "KVM_RUN failed: %s", strerror(errno));
			break;
		}
		if (landing_exit(v))
			continue;
		v->exit_seq++;
		if (v->landing)
			replay_land(v);  /* passed the pause's exit: say why first */
		handle_exit(v);
		if (vm->sched) {
			sched_point(v, v->yielded);
			v->yielded = false;
			vcpu_hook(v, VCPU_HOOK_POINT_DONE);
		}
	}
	/* Serial: a pause applied at a scheduling point is taken even if the
	 * run ended meanwhile; whether this thread got to it before the end
	 * would be a race, and a replay would differ. */
	if (vm->sched && !v->done)
		pause_check(v);
	if (vm->sched)
		sched_block(v);  /* done or stopping: pass the token on */
}

/* --sched step: every instruction exits (KVM_GUESTDBG_SINGLESTEP). */
static int setup_single_step(struct vcpu *v)
{
	struct kvm_guest_debug dbg = {
		.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP,
	};

	if (v->vm->cfg.sched.mode != VM_SCHED_STEP)
		return 0;
	return ioctl(v->fd, KVM_SET_GUEST_DEBUG, &dbg);
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->vm;

	pause_rcu_thread_init();
	tls_vcpu = v;
	v->thread = pthread_self();
	atomic_store(&v->kickable, true);
	if (setup_kick_mode(v) < 0) {
		vcpu_fault(v, "KVM_SET_SIGNAL_MASK: %s", strerror(errno));
	} else if (setup_single_step(v) < 0) {
		vcpu_fault(v, "KVM_SET_GUEST_DEBUG (single-step): %s", strerror(errno));
	} else {
		VTRACE_VCPU(v, TEV_VCPU_START, 0, 0, 0);
		if (vm->cfg.init_event) {
			struct vcpu_event ev = { .kind = VCPU_EVENT_INIT };
			vcpu_stop_with_event(v, &ev);
		}
		run_loop(v);
	}
	console_flush(v);
	VTRACE_VCPU(v, TEV_VCPU_EXIT, (uint64_t)(int64_t)v->exit_code, 0, 0);
	atomic_store(&v->kickable, false);  /* no signals once it may be joined */
	tls_vcpu = NULL;
	atomic_store(&v->finished, true);
	vcpu_ctl_wake_all(v);
	vm_vcpu_finished(vm);
	return NULL;
}

/* A VCPU thread needs little stack (a few KiB of messages); the default
 * 8 MiB of address space each would make many VCPUs fail under a ulimit. */
#define VCPU_STACK_SIZE (1u << 20)

int vcpu_spawn(struct vcpu *v)
{
	pthread_attr_t attr;
	sigset_t set;
	int r;

	/* The thread inherits our mask: make sure the kick is not blocked. */
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, VCPU_STACK_SIZE);
	r = pthread_create(&v->join_handle, &attr, vcpu_thread, v);
	pthread_attr_destroy(&attr);
	if (r)
		return -r;
	v->thread_started = true;
	return 0;
}

static int set_cpuid(struct vcpu *v, char *err, size_t errlen)
{
	int nent = 256;
	struct kvm_cpuid2 *c = NULL;
	int r = -1;

	for (;;) {
		free(c);
		c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));
		if (!c)
			goto out;
		c->nent = nent;
		if (ioctl(v->vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
			break;
		if (errno != E2BIG || nent > 4096) {
			snprintf(err, errlen, "KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
			goto out;
		}
		nent *= 2;
	}
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == 1)  /* initial APIC id = VCPU id */
			c->entries[i].ebx = (c->entries[i].ebx & 0x00ffffff) |
					    (v->id << 24);
	if (ioctl(v->fd, KVM_SET_CPUID2, c) < 0) {
		snprintf(err, errlen, "KVM_SET_CPUID2: %s", strerror(errno));
		goto out;
	}
	r = 0;
out:
	free(c);
	return r;
}

static int set_initial_registers(struct vcpu *v, char *err, size_t errlen)
{
	struct vm *vm = v->vm;
	struct kvm_sregs sregs;
	struct kvm_regs regs = {
		.rip = vm->entry,
		.rsp = vm->mem_size - (uint64_t)v->id * VCPRR_STACK_SIZE,
		.rdi = v->id,
		.rsi = vm->nr_vcpus,
		.rflags = 0x2,
	};

	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0)
		goto fail;
	longmode_setup_sregs(&sregs);
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0 ||
	    ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "vcpu %u: setting initial registers: %s", v->id,
		 strerror(errno));
	return -1;
}

int vcpu_create_kvm(struct vm *vm, struct vcpu *v, char *err, size_t errlen)
{
	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)v->id);
	if (v->fd < 0) {
		snprintf(err, errlen, "KVM_CREATE_VCPU %u: %s", v->id, strerror(errno));
		return -1;
	}
	v->run = mmap(NULL, vm->run_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      v->fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		snprintf(err, errlen, "vcpu %u: mmap kvm_run: %s", v->id, strerror(errno));
		return -1;
	}
	if (vm->sync_regs)
		v->run->kvm_valid_regs = KVM_SYNC_X86_REGS;
	/* Raw mode: KVM's reset state and CPUID, as crosvm gave plugins. */
	if (vm->cfg.raw)
		return 0;
	if (set_cpuid(v, err, errlen))
		return -1;
	return set_initial_registers(v, err, errlen);
}

int vcpu_init(struct vm *vm, struct vcpu *v, unsigned id, char *err, size_t errlen)
{
	v->vm = vm;
	v->id = id;
	vcpu_ctl_init(v);
	if (vm->cfg.raw)
		return 0;  /* the KVM VCPU comes at vm_start */
	return vcpu_create_kvm(vm, v, err, errlen);
}

void vcpu_free(struct vcpu *v)
{
	if (v->vm)
		vcpu_ctl_destroy(v);
	if (v->run)
		munmap(v->run, v->vm->run_mmap_size);
	if (v->fd >= 0)
		close(v->fd);
}
