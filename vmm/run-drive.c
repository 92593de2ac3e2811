/* The run-to-end driver. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "traces/clock.h"
#include "vmm/recording.h"
#include "vmm/run-drive.h"
#include "vmm/vm.h"

static void stop_timed_out(struct vm *vm, uint64_t timeout_ns)
{
	char why[96];

	snprintf(why, sizeof(why), "timed out after %llu ms (--timeout)",
		 (unsigned long long)timeout_ns / 1000000);
	vm_stop(vm, TEND_GUEST_FAULT, 1, why);
}

static void stop_signalled(struct vm *vm, int fd)
{
	struct signalfd_siginfo si;
	char why[64];

	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	snprintf(why, sizeof(why), "stopped by %s", strsignal(si.ssi_signo));
	vm_stop(vm, TEND_SIGNAL, (int)si.ssi_signo, why);
}

/* Waits for the end, stopping the run at the deadline or on a signal. */
static void wait_for_end(struct vm *vm, const struct run_drive *d)
{
	uint64_t deadline = d->timeout_ns ? mono_ns() + d->timeout_ns : 0;
	struct pollfd pfd[2] = {
		{ .fd = vm_end_fd(vm), .events = POLLIN },
		{ .fd = d->signal_fd, .events = POLLIN },
	};

	for (;;) {
		int ms = -1;

		if (deadline) {
			uint64_t t = mono_ns();

			if (t >= deadline) {
				stop_timed_out(vm, d->timeout_ns);
				deadline = 0;
				continue;
			}
			ms = (int)((deadline - t + 999999) / 1000000);
		}
		if (poll(pfd, d->signal_fd >= 0 ? 2 : 1, ms) < 0 &&
		    errno != EINTR)
			break;
		if (pfd[0].revents & POLLIN)
			break;
		if (pfd[1].revents & POLLIN)
			stop_signalled(vm, d->signal_fd);
	}
	vm_wait(vm, -1);
}

int run_drive(struct vm *vm, const struct run_drive *d)
{
	int ret = vm_start(vm);

	if (ret)
		return ret;
	/* (A writer that failed says so at close.) */
	recording_started(d->trace);
	if (d->started)
		d->started(vm, d->arg);
	wait_for_end(vm, d);
	return 0;
}
