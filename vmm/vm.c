/* The VM: KVM VM fd, guest memory, VCPUs, devices, and how a run ends. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/devices.h"
#include "vmm/elf.h"
#include "vmm/end.h"
#include "vmm/kick.h"
#include "vmm/kvm.h"
#include "vmm/memory.h"
#include "vmm/mode.h"
#include "vmm/raw.h"
#include "vmm/sched-internal.h"
#include "vmm/snapshot.h"
#include "vmm/step-observer.h"
#include "vmm/vcpu.h"


unsigned vm_nr_vcpus(const struct vm *vm) { return vm->nr_vcpus; }
int vm_end_fd(const struct vm *vm) { return vm->end_fd; }
const struct vm_result *vm_result(const struct vm *vm) { return &vm->result; }

static int check_config(struct vm *vm, char *err, size_t errlen)
{
	uint64_t stacks;
	int max = kvm_max_vcpus(vm->kvm_fd);

	if (max > VM_MAX_VCPUS)
		max = VM_MAX_VCPUS;
	if (vm->nr_vcpus < 1 || vm->nr_vcpus > (unsigned)max) {
		snprintf(err, errlen, "%u VCPUs: this host allows 1 to %d VCPUs "
			 "per VM (KVM_CAP_MAX_VCPUS)", vm->nr_vcpus, max);
		return -1;
	}
	if (!vm->cfg.raw && (vm->mem_size < VM_MIN_MEM ||
	    vm->mem_size > VM_MAX_MEM || vm->mem_size % 4096)) {
		snprintf(err, errlen, "guest memory of %llu bytes: it must be a "
			 "multiple of 4 KiB between %llu MiB and %llu MiB",
			 (unsigned long long)vm->mem_size, VM_MIN_MEM >> 20,
			 VM_MAX_MEM >> 20);
		return -1;
	}
	vm->kick_mode = vm->cfg.kick_mode;
	if (vm->kick_mode == VM_KICK_AUTO)
		vm->kick_mode = kvm_cap(vm->kvm_fd, KVM_CAP_IMMEDIATE_EXIT) ?
				VM_KICK_IMMEDIATE_EXIT : VM_KICK_SIGNAL_MASK;
	if (vm->kick_mode == VM_KICK_IMMEDIATE_EXIT &&
	    !kvm_cap(vm->kvm_fd, KVM_CAP_IMMEDIATE_EXIT)) {
		snprintf(err, errlen, "missing capability KVM_CAP_IMMEDIATE_EXIT "
			 "(use the signal-mask kick mode)");
		return -1;
	}
	/* Each vcpu ioctl costs microseconds (more under nested virtualisation);
	 * with sync regs KVM fills the registers into kvm_run on every return. */
	vm->sync_regs = kvm_cap(vm->kvm_fd, KVM_CAP_SYNC_REGS) & KVM_SYNC_X86_REGS;
	stacks = (uint64_t)vm->nr_vcpus * VCPRR_STACK_SIZE;
	if (!vm->cfg.raw && stacks + VCPRR_IMAGE_MIN + (1 << 20) > vm->mem_size) {
		snprintf(err, errlen, "guest memory of %llu MiB is too small for "
			 "%u VCPU stacks of %llu KiB and a guest image",
			 (unsigned long long)vm->mem_size >> 20, vm->nr_vcpus,
			 VCPRR_STACK_SIZE >> 10);
		return -1;
	}
	return 0;
}

static int create_vcpus(struct vm *vm, char *err, size_t errlen)
{
	int sz = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);

	if (sz <= 0) {
		snprintf(err, errlen, "KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
		return -1;
	}
	vm->run_mmap_size = sz;
	vm->threads = calloc(vm->nr_vcpus, sizeof(*vm->threads));
	vm->vcpus = vm->threads ? calloc(vm->nr_vcpus, sizeof(*vm->vcpus)) : NULL;
	if (!vm->vcpus) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vm->vcpus[i].fd = -1;
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		if (vcpu_init(vm, &vm->vcpus[i], i, err, errlen))
			return -1;
	return 0;
}

struct vm *vm_create(const struct vm_config *cfg, const char *guest_path,
		     char *err, size_t errlen)
{
	struct vm *vm = calloc(1, sizeof(*vm));

	if (!vm) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	vm->cfg = *cfg;
	vm->cfg.console_fd = cfg->console_fd ? cfg->console_fd : STDOUT_FILENO;
	vm->cfg.log_fd = cfg->log_fd ? cfg->log_fd : STDERR_FILENO;
	vm->nr_vcpus = cfg->nr_vcpus ? cfg->nr_vcpus : 1;
	vm->mem_size = cfg->mem_size || cfg->raw ? cfg->mem_size : VM_DEFAULT_MEM;
	vm->vm_fd = vm->end_fd = -1;
	vm->pio.kind = "PIO";
	vm->mmio.kind = "MMIO";
	pthread_mutex_init(&vm->end_lock, NULL);
	pthread_mutex_init(&vm->scratch_lock, NULL);
	pthread_mutex_init(&vm->console_lock, NULL);
	pthread_mutex_init(&vm->region_lock, NULL);
	pthread_mutex_init(&vm->pool_lock, NULL);
	pthread_cond_init(&vm->pool_go, NULL);
	pthread_cond_init(&vm->pool_idle, NULL);
	vm->kvm_fd = kvm_open(cfg->kvm_path, err, errlen);
	if (vm->kvm_fd < 0)
		goto fail;
	if (check_config(vm, err, errlen))
		goto fail;
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		snprintf(err, errlen, "KVM_CREATE_VM: %s", strerror(errno));
		goto fail;
	}
	vm->end_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->end_fd < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		goto fail;
	}
	if (vm->cfg.raw) {
		if (raw_setup(vm, err, errlen) || create_vcpus(vm, err, errlen))
			goto fail;
	} else {
		if (memory_setup(vm, err, errlen) ||
		    memory_load_guest(vm, guest_path, err, errlen) ||
		    create_vcpus(vm, err, errlen))
			goto fail;
		devices_register(vm);
	}
	if (vtrace_init(vm, err, errlen) ||
	    sched_create(vm, &vm->cfg.sched, err, errlen))
		goto fail;
	vm->mode = vm_mode_of(vm);
	return vm;
fail:
	vm_destroy(vm);
	return NULL;
}

static bool started(const struct vm *vm)
{
	return vm->vcpus && vm->vcpus[0].thread_started;
}

int vm_replay_attach(struct vm *vm, const struct vm_replay_hooks *hooks,
		     const struct sched_source *source)
{
	if (started(vm) || (source && !vm->sched) || !hooks)
		return -EINVAL;
	vm->replay = hooks;
	vm->sched_source = source;
	vm->mode = vm_mode_of(vm);
	return 0;
}

void vm_set_test_hook(struct vm *vm, vm_test_hook_fn fn, void *arg)
{
	vm->test_hook = fn;
	vm->test_hook_arg = arg;
}

int vm_test_vcpu_fd(struct vm *vm, unsigned id, int *fd, struct kvm_run **run)
{
	if (id >= vm->nr_vcpus || vm->vcpus[id].fd < 0)
		return -EINVAL;
	if (started(vm))
		return -EBUSY;
	*fd = vm->vcpus[id].fd;
	*run = vm->vcpus[id].run;
	return 0;
}

void vm_test_sched_handoff(struct vm *vm)
{
	if (vm->sched)
		vm->sched->handoff = true;
}

/* Raw mode: the KVM VCPUs are made at start, after the VM-wide setup. */
static int raw_create_vcpus(struct vm *vm)
{
	char err[256];

	if (!vm->cfg.raw || vm->vcpus_created)
		return 0;
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		if (vcpu_create_kvm(vm, &vm->vcpus[i], err, sizeof(err))) {
			vm_stop(vm, TEND_VMM_ERROR, 1, err);
			return -EIO;
		}
	}
	vm->vcpus_created = true;
	return 0;
}

int vm_start(struct vm *vm)
{
	int r = raw_create_vcpus(vm);
	unsigned started = 0;
	char why[128];

	if (r)
		return r;
	kick_install_handler();
	vtrace_ctl_emit(vm, TRACE_VCPU_NONE, TEV_VM_START, vm->nr_vcpus,
			vm->mem_size, vm->cfg.sched.mode, 0, NULL, 0);
	if (vm->cfg.raw)
		raw_trace_memory(vm);
	vm_stop_pending(vm, NULL);  /* the trace could not take them */
	atomic_store(&vm->live_vcpus, vm->nr_vcpus);
	r = sched_start(vm);
	if (!r && !(r = vcpu_threads_start(vm, &started)))
		return 0;
	/* The threads that never started count as finished. */
	snprintf(why, sizeof(why), "cannot start VCPU threads: %s", strerror(-r));
	vm_stop(vm, TEND_VMM_ERROR, 1, why);
	for (unsigned j = started; j < vm->nr_vcpus; j++)
		vm_vcpu_finished(vm);
	return r;
}

int vm_wait(struct vm *vm, int timeout_ms)
{
	struct pollfd pfd = { .fd = vm->end_fd, .events = POLLIN };

	if (!vm->joined) {
		int r;
		do
			r = poll(&pfd, 1, timeout_ms);
		while (r < 0 && errno == EINTR);
		if (r == 0)
			return -ETIMEDOUT;
		vcpu_threads_wait_parked(vm);
		sched_watchdog_disarm(vm);
		vm->joined = true;
	}
	return 0;
}

/* The recording of the run before: its producers went with its writer. */
static void forget_trace(struct vm *vm)
{
	if (vm->ctl_producer)
		pthread_mutex_destroy(&vm->ctl_trace_lock);
	vm->ctl_producer = NULL;
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vm->vcpus[i].producer = NULL;
	vm->cfg.trace = NULL;
}

int vm_set_run(struct vm *vm, const struct sched_config *sched,
	       struct trace_writer *trace, char *err, size_t errlen)
{
	if (vm->cfg.raw || started(vm)) {
		snprintf(err, errlen, "vm_set_run: the VM %s",
			 vm->cfg.raw ? "is a raw-mode VM" : "has started");
		return -1;
	}
	sched_destroy(vm);
	vm->cfg.sched = *sched;
	forget_trace(vm);
	vm->cfg.trace = trace;
	if (sched_create(vm, &vm->cfg.sched, err, errlen) ||
	    vtrace_init(vm, err, errlen))
		return -1;
	vm->mode = vm_mode_of(vm);
	return 0;
}

void vm_destroy(struct vm *vm)
{
	if (!vm)
		return;
	if (started(vm) && !vm->joined) {
		vm_stop(vm, TEND_VMM_ERROR, 1, "VM destroyed while running");
		vm_wait(vm, -1);
	}
	vcpu_threads_end(vm);
	for (unsigned i = 0; vm->vcpus && i < vm->nr_vcpus; i++)
		vcpu_free(&vm->vcpus[i]);
	sched_destroy(vm);
	sched_watchdog_free(vm);
	vm_snapshots_free(vm);
	step_observer_free(vm);
	free(vm->vcpus);
	free(vm->threads);
	if (vm->mem)
		munmap(vm->mem, vm->mem_size);
	if (vm->end_fd >= 0)
		close(vm->end_fd);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	pthread_mutex_destroy(&vm->end_lock);
	pthread_mutex_destroy(&vm->scratch_lock);
	pthread_mutex_destroy(&vm->console_lock);
	pthread_mutex_destroy(&vm->region_lock);
	pthread_mutex_destroy(&vm->pool_lock);
	pthread_cond_destroy(&vm->pool_go);
	pthread_cond_destroy(&vm->pool_idle);
	if (vm->ctl_producer)
		pthread_mutex_destroy(&vm->ctl_trace_lock);
	free(vm);
}
