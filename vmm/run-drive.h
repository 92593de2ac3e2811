/* Running a VM to its end: the one driver of vcprr run, record, explore
 * and minimize.  It starts the VM, makes a recording's first events
 * durable, and waits for the end, turning the timeout and the signals of
 * @signal_fd into a clean stop that the trace records (VM_STOP). */
#ifndef VCPRR_VMM_RUN_DRIVE_H
#define VCPRR_VMM_RUN_DRIVE_H

#include <stdint.h>

struct trace_writer;
struct vm;

struct run_drive {
	uint64_t timeout_ns;     /* 0: none; else the run is stopped as a
				    guest fault, "timed out after N ms
				    (--timeout)" */
	int signal_fd;           /* a signalfd (SIGINT, SIGTERM ...) whose
				    signals stop the run as TEND_SIGNAL;
				    -1: none */
	struct trace_writer *trace;  /* the VM's recording, or NULL */
	/* Called once the VM has started, before the wait (a controller
	 * thread starts there); may be NULL. */
	void (*started)(struct vm *vm, void *arg);
	void *arg;
};

/* Starts @vm and waits for the end of its run (vm_result() says how it
 * ended).  Returns 0, or a negative errno when the VCPU threads could not
 * start: the run then ended as a VMM error. */
int run_drive(struct vm *vm, const struct run_drive *d);

#endif
