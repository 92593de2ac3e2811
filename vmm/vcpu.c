/* VCPU threads: the KVM_RUN loop, exit dispatch, creation.  The loop asks
 * the execution mode (mode.h) whether to enter, where to land, what a
 * scheduling point does; kicks are kick.c's, stops vcpu-stop.c's, faults
 * and the end of the run end.c's.
 *
 * exit_seq counts guest-caused exits only (KVM_RUN returning 0): EINTR
 * returns depend on when signals land, which a replay cannot reproduce. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/console.h"
#include "vmm/end.h"
#include "vmm/handshake.h"
#include "vmm/kick.h"
#include "vmm/longmode.h"
#include "vmm/mode.h"
#include "vmm/raw.h"
#include "vmm/step-observer.h"
#include "vmm/vcpu-stop.h"
#include "vmm/vcpu.h"

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
					  tev_access(run->io.size, false), d,
					  run->io.size);
		/* Reads are replay inputs: the value given to the guest. */
		if (vtrace_on(v->vm)) {
			memcpy(&val, d, run->io.size);
			vcpu_event(v, TEV_EXIT_PIO, run->io.port,
				   tev_access(run->io.size, out), val, 0,
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
		vtrace_read_input(v, TEV_EXIT_MMIO, gpa,
				  tev_access(run->mmio.len, false),
				  run->mmio.data, run->mmio.len);
	if (vtrace_on(v->vm)) {
		uint64_t val = 0;
		memcpy(&val, run->mmio.data, run->mmio.len <= 8 ? run->mmio.len : 8);
		vcpu_event(v, TEV_EXIT_MMIO, gpa,
			   tev_access(run->mmio.len, run->mmio.is_write),
			   val, 0, NULL, 0);
	}
}

/* An emulation failure on an FPU instruction: the host cannot run them. */
static bool fpu_unsupported(const struct kvm_run *run)
{
	return run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION &&
	       (run->emulation_failure.flags &
		KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES) &&
	       longmode_insn_uses_fpu(run->emulation_failure.insn_bytes,
				      run->emulation_failure.insn_size);
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
			VCPU_EVENT(v, TEV_EXIT_DEBUG, run->debug.arch.dr6,
				   run->debug.arch.exception, 0);
		break;
	case KVM_EXIT_HLT:
		VCPU_EVENT(v, TEV_EXIT_HLT, 0, 0, 0);
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
		if (fpu_unsupported(run)) {
			vcpu_fault(v, "this host's KVM cannot run x87/SSE/AVX "
				   "instructions in a guest (emulation failure): "
				   "build the guest with -mgeneral-regs-only "
				   "(pkg-config --variable=nofpu_cflags vcprr-guest)");
			break;
		}
		vcpu_fault(v, "KVM internal error (KVM_EXIT_INTERNAL_ERROR, "
			   "suberror %u)", run->internal.suberror);
		break;
	default:
		vcpu_fault(v, "unexpected exit %u (%s)", run->exit_reason,
			   exit_reason_name(run->exit_reason));
	}
}


/* After HLT there are no interrupts to wake the VCPU: it sleeps until a
 * pause request or the end of the run. */
static bool halt_over(struct vcpu *v)
{
	uint64_t seq, data;

	return pause_pending(&v->pause, v->last_taken, &seq, &data) ||
	       atomic_load(&v->vm->stopping);
}

static void halt_wait(struct vcpu *v)
{
	struct vm *vm = v->vm;

	if (atomic_fetch_add(&vm->halted_vcpus, 1) + 1 == atomic_load(&vm->live_vcpus) &&
	    !vm->cfg.controlled) {
		atomic_fetch_sub(&vm->halted_vcpus, 1);
		vm_stop_all_halted(vm);
		return;
	}
	kick_sleep_until(v, halt_over);
	atomic_fetch_sub(&vm->halted_vcpus, 1);
}

/* One KVM_RUN.  True when the guest made an exit of its own. */
static bool run_once(struct vcpu *v)
{
	const struct vm_mode *m = v->vm->mode;
	int r;

	/* Outside in_guest: a debugger's stop is no hang for the watchdog.
	 * Both watchers are tested here, not in their files: no call per
	 * KVM_RUN when none is set. */
	if (__builtin_expect(v->vm->debug_stop != NULL, 0))
		debug_stop_before_run(v);
	if (m->in_guest)
		m->in_guest(v, true);
	vcpu_hook(v, VCPU_HOOK_BEFORE_RUN);
	if (__builtin_expect(v->vm->step_watch != NULL, 0))
		step_observe(v);
	r = ioctl(v->fd, KVM_RUN, 0);
	kick_clear(v);
	v->io_pending = false;
	v->regs_synced = v->vm->sync_regs;
	if (m->in_guest)
		m->in_guest(v, false);
	vcpu_hook(v, VCPU_HOOK_AFTER_RUN);
	if (r < 0 && (errno == EINTR || errno == EAGAIN)) {
		kick_eat(v);
		atomic_fetch_add(&v->stats.eintr, 1);
		VCPU_EVENT(v, TEV_KICK, 0, 0, 0);
		return false;
	}
	if (r < 0) {
		vcpu_fault(v, "KVM_RUN failed: %s", strerror(errno));
		return false;
	}
	return !(m->own_exit && m->own_exit(v));
}

/* The thread's loop; returns the VCPU it ends with (serial and step: the
 * VCPU can change at a scheduling point, see vm-state.h). */
static struct vcpu *run_loop(struct vcpu_thread *self)
{
	struct vcpu *v = thread_vcpu(self);
	struct vm *vm = v->vm;
	const struct vm_mode *m = vm->mode;

	while (!v->done && !atomic_load(&vm->stopping)) {
		bool enter, yielded;

		vm_stop_pending(vm, v);  /* one a controller left behind */
		if (m->land)
			m->land(v);
		/* After a pause, check again: another may be due right here. */
		if (vcpu_pause_check(v))
			continue;
		if (v->done || atomic_load(&vm->stopping))
			break;
		if (v->halted) {
			halt_wait(v);
			continue;
		}
		enter = !m->may_enter || m->may_enter(v);
		v = thread_vcpu(self);  /* its turn may have traded VCPUs */
		if (!enter)
			continue;  /* woken for a pause, or stopping */
		if (!run_once(v))
			continue;
		v->exit_seq++;
		if (v->landing)
			m->land(v);  /* passed the pause's exit: say why first */
		handle_exit(v);
		if (m->point) {
			yielded = v->yielded;
			v->yielded = false;
			m->point(v, yielded);
			vcpu_hook(v, VCPU_HOOK_POINT_DONE);
			v = thread_vcpu(self);
		}
	}
	if (m->take_pause_on_leaving && !v->done)
		vcpu_pause_check(v);
	if (m->leave)
		m->leave(v);  /* done or stopping: pass the token on */
	return v;
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

/* The end of a run, whichever way it started. */
static void run_end(struct vcpu *v)
{
	struct vm *vm = v->vm;

	console_flush(v);
	vcpu_log_exit(v);
	/* A VM kept for another run (snapshots) must not carry a PIO/MMIO
	 * that KVM finishes on the next KVM_RUN: no ioctl shows or undoes it. */
	if (vm->snapshots && v->io_pending)
		complete_pending_io(v);
	kick_thread_exit(v);
	atomic_store(&v->finished, true);
	handshake_wake(v);
	vm_vcpu_finished(vm);
	vcpu_hook(v, VCPU_HOOK_RUN_OVER);
}

/* One run of the VCPU the thread holds, from its start to its end. */
static void run_vcpu(struct vcpu_thread *self)
{
	struct vcpu *v = thread_vcpu(self);
	struct vm *vm = v->vm;

	pause_rcu_thread_init();
	if (kick_thread_init(self) < 0) {
		vcpu_fault(v, "KVM_SET_SIGNAL_MASK: %s", strerror(errno));
	} else if (setup_single_step(v) < 0) {
		vcpu_fault(v, "KVM_SET_GUEST_DEBUG (single-step): %s", strerror(errno));
	} else {
		VCPU_EVENT(v, TEV_VCPU_START, 0, 0, 0);
		if (vm->cfg.init_event) {
			struct vcpu_event ev = { .kind = VCPU_EVENT_INIT };
			vcpu_stop(v, &ev);
		}
		v = run_loop(self);
	}
	run_end(v);
}

/* A run going on from a snapshot taken mid-run (snapshot.h): its VCPU
 * started long ago (no start event), and one that had finished then
 * stays so. */
static void run_vcpu_resumed(struct vcpu_thread *self)
{
	struct vcpu *v = thread_vcpu(self);

	if (atomic_load(&v->finished))
		return;
	pause_rcu_thread_init();
	if (kick_thread_init(self) < 0)
		vcpu_fault(v, "KVM_SET_SIGNAL_MASK: %s", strerror(errno));
	else if (setup_single_step(v) < 0)
		vcpu_fault(v, "KVM_SET_GUEST_DEBUG (single-step): %s", strerror(errno));
	else
		v = run_loop(self);
	run_end(v);
}

/* --- threads kept from run to run ------------------------------------------ */

/* A VCPU thread runs one run per vm_start() (or vm_snapshot_resume()) and
 * parks in between, until vm_destroy(): a VM reset from a snapshot for its
 * next run (explore) costs no thread creation, exit and join per run.
 * After its run's vm_vcpu_finished() the thread touches nothing of the
 * run: it only parks, under pool_lock, which orders its writes before the
 * reset. */
static void *vcpu_thread(void *arg)
{
	struct vcpu_thread *self = arg;
	struct vm *vm = thread_vcpu(self)->vm;

	pthread_mutex_lock(&vm->pool_lock);
	for (;;) {
		bool resumed;

		while (!self->go && !vm->pool_quit)
			pthread_cond_wait(&vm->pool_go, &vm->pool_lock);
		if (!self->go)
			break;
		self->go = false;
		resumed = self->resumed;
		pthread_mutex_unlock(&vm->pool_lock);
		if (resumed)
			run_vcpu_resumed(self);
		else
			run_vcpu(self);
		pthread_mutex_lock(&vm->pool_lock);
		if (!--vm->pool_busy)
			pthread_cond_broadcast(&vm->pool_idle);
	}
	pthread_mutex_unlock(&vm->pool_lock);
	return NULL;
}

/* A VCPU thread needs little stack (a few KiB of messages); the default
 * 8 MiB of address space each would make many VCPUs fail under a ulimit. */
#define VCPU_STACK_SIZE (1u << 20)

/* Starts a run on every VCPU thread (creating the threads missing). */
static int threads_go(struct vm *vm, unsigned *started, bool resumed)
{
	int r = 0;

	pthread_mutex_lock(&vm->pool_lock);
	for (*started = 0; *started < vm->nr_vcpus; (*started)++) {
		struct vcpu_thread *t = &vm->threads[*started];
		char name[16];

		snprintf(name, sizeof(name), "vcprr-vcpu%hu", (unsigned short)*started);
		t->go = true;
		t->resumed = resumed;
		if (!t->alive &&
		    (r = kick_thread_create(&t->handle, name, VCPU_STACK_SIZE,
					    vcpu_thread, t, true))) {
			t->go = false;
			break;
		}
		t->alive = true;
		vm->pool_busy++;
		vm->vcpus[*started].thread_started = true;
	}
	pthread_cond_broadcast(&vm->pool_go);
	pthread_mutex_unlock(&vm->pool_lock);
	return r;
}

void vcpu_threads_wait_parked(struct vm *vm)
{
	pthread_mutex_lock(&vm->pool_lock);
	while (vm->pool_busy)
		pthread_cond_wait(&vm->pool_idle, &vm->pool_lock);
	pthread_mutex_unlock(&vm->pool_lock);
}

void vcpu_threads_end(struct vm *vm)
{
	if (!vm->threads)
		return;
	vcpu_threads_wait_parked(vm);
	pthread_mutex_lock(&vm->pool_lock);
	vm->pool_quit = true;
	pthread_cond_broadcast(&vm->pool_go);
	pthread_mutex_unlock(&vm->pool_lock);
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		if (vm->threads[i].alive)
			pthread_join(vm->threads[i].handle, NULL);
}

int vcpu_threads_start(struct vm *vm, unsigned *started)
{
	return threads_go(vm, started, false);
}

int vcpu_threads_resume(struct vm *vm, unsigned *started)
{
	return threads_go(vm, started, true);
}

/* The host's CPUID, trimmed to what the guest has (longmode.c); *xcr0
 * gets the extended states to enable. */
static int set_cpuid(struct vcpu *v, uint64_t *xcr0, char *err, size_t errlen)
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
	*xcr0 = longmode_setup_cpuid(c->entries, &c->nent);
	if (ioctl(v->fd, KVM_SET_CPUID2, c) < 0) {
		snprintf(err, errlen, "KVM_SET_CPUID2: %s", strerror(errno));
		goto out;
	}
	r = 0;
out:
	free(c);
	return r;
}

/* x87, SSE and AVX on, as an OS does with XSETBV, so that guests built
 * without -mgeneral-regs-only run. */
static int set_xcr0(struct vcpu *v, uint64_t xcr0, char *err, size_t errlen)
{
	struct kvm_xcrs x = { .nr_xcrs = 1, .xcrs = { { .xcr = 0, .value = xcr0 } } };

	if (!xcr0 || ioctl(v->fd, KVM_SET_XCRS, &x) == 0)
		return 0;
	snprintf(err, errlen, "vcpu %u: KVM_SET_XCRS (XCR0 %#llx): %s", v->id,
		 (unsigned long long)xcr0, strerror(errno));
	return -1;
}

static int set_initial_registers(struct vcpu *v, bool xsave, char *err,
				 size_t errlen)
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
	longmode_setup_sregs(&sregs, xsave);
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
	uint64_t xcr0;

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
	if (set_cpuid(v, &xcr0, err, errlen) ||
	    set_initial_registers(v, xcr0 != 0, err, errlen))
		return -1;
	return set_xcr0(v, xcr0, err, errlen);
}

int vcpu_init(struct vm *vm, struct vcpu *v, unsigned id, char *err, size_t errlen)
{
	v->vm = vm;
	v->id = id;
	vm->threads[id].idx = id;
	vm->threads[id].vcpu = v;
	v->thread = &vm->threads[id];
	handshake_init(v);
	if (vm->cfg.raw)
		return 0;  /* the KVM VCPU comes at vm_start */
	return vcpu_create_kvm(vm, v, err, errlen);
}

void vcpu_free(struct vcpu *v)
{
	if (v->vm)
		handshake_destroy(v);
	if (v->run)
		munmap(v->run, v->vm->run_mmap_size);
	if (v->fd >= 0)
		close(v->fd);
}
