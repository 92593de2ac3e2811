/* The floors of vcprr bench: KVM_RUN driven by hand on the caller's
 * thread, with nothing of the run loop, the threads or the trace. */
#include <linux/kvm.h>
#include <stdio.h>
#include <sys/ioctl.h>

#include "tools/bench-floor.h"
#include "tools/bench-util.h"
#include "vmm/test-hooks.h"
#include "vmm/vm.h"

static struct vm *create(const char *guest, uint64_t arg)
{
	struct vm_config cfg = { .nr_vcpus = 1, .input = VM_INPUT_ARG(arg) };
	char err[1024];
	struct vm *vm = vm_create(&cfg, bench_guest_path(guest), err, sizeof(err));

	if (!vm)
		fprintf(stderr, "vcprr bench: %s\n", err);
	return vm;
}

/* One KVM_RUN; false, with a message, when it failed or the guest did
 * something a bare loop cannot go on from. */
static bool bare_run_once(int fd, struct kvm_run *run)
{
	if (ioctl(fd, KVM_RUN, 0) < 0) {
		perror("vcprr bench: KVM_RUN");
		return false;
	}
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
	case KVM_EXIT_MMIO:
	case KVM_EXIT_DEBUG:
	case KVM_EXIT_HLT:
		return true;
	}
	fprintf(stderr, "vcprr bench: the bare loop stopped (exit %u)\n",
		run->exit_reason);
	return false;
}

int bench_bare_exits(const char *guest, uint64_t arg, bool step,
		     unsigned exits, struct bench_sample *us)
{
	struct kvm_guest_debug dbg = {
		.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP,
	};
	struct vm *vm = create(guest, arg);
	struct kvm_run *run;
	uint64_t t0, c0;
	int fd, r = -1;

	if (!vm)
		return -1;
	if (vm_test_vcpu_fd(vm, 0, &fd, &run) ||
	    (step && ioctl(fd, KVM_SET_GUEST_DEBUG, &dbg) < 0))
		goto out;
	for (int i = 0; i < 100; i++)  /* past the guest's start */
		if (!bare_run_once(fd, run))
			goto out;
	t0 = bench_now_ns();
	c0 = bench_process_cpu_ns();
	for (unsigned i = 0; i < exits; i++)
		if (!bare_run_once(fd, run) || run->exit_reason == KVM_EXIT_HLT)
			goto out;
	us->cpu = (bench_process_cpu_ns() - c0) / 1e3 / exits;
	us->wall = (bench_now_ns() - t0) / 1e3 / exits;
	r = 0;
out:
	vm_destroy(vm);
	return r;
}

int bench_bare_run(const char *guest, struct bench_sample *us)
{
	uint64_t t0 = bench_now_ns(), c0 = bench_process_cpu_ns();
	struct vm *vm = create(guest, 0);
	struct kvm_run *run;
	int fd, r = -1;

	if (!vm || vm_test_vcpu_fd(vm, 0, &fd, &run))
		goto out;
	do
		if (!bare_run_once(fd, run))
			goto out;
	while (run->exit_reason != KVM_EXIT_HLT);
	r = 0;
out:
	vm_destroy(vm);
	us->cpu = (bench_process_cpu_ns() - c0) / 1e3;
	us->wall = (bench_now_ns() - t0) / 1e3;
	return r;
}
