/* Recording a forced run (see forced-run.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/helpers/forced-run.h"
#include "tests/helpers/testutil.h"
#include "traces/trace.h"
#include "vmm/recording.h"

#define WAIT_MS 5000

void forced_record(const struct forced_run *f, struct gates *gs,
		   const char *path)
{
	struct run_desc d;
	struct vm_config vc;
	struct trace_writer *w;
	struct vm *vm;
	char err[512];

	unlink(path);
	run_desc_init(&d);
	d.nr_vcpus = f->vcpus;
	d.input = (struct vm_guest_input)VM_INPUT_ARG(f->arg);
	d.sched = (struct sched_config){ .mode = f->mode,
					 .policy = VM_POLICY_RR, .seed = 1 };
	w = recording_open(path, &d, guest_path(f->guest), err, sizeof(err));
	if (!w)
		fail_msg("%s", err);
	run_desc_vm_config(&d, &vc);
	vc.console_fd = vc.log_fd = -1;
	vc.controlled = true;
	vc.trace = w;
	vm = vm_create(&vc, guest_path(f->guest), err, sizeof(err));
	if (!vm)
		fail_msg("%s", err);
	vm_set_test_hook(vm, gates_hook, gs);
	if (f->prepare)
		f->prepare(vm);
	assert_int_equal(vm_start(vm), 0);
	f->control(vm);
	gates_release_all(gs);
	assert_int_equal(vm_wait(vm, WAIT_MS), 0);
	assert_int_equal(trace_writer_close(w, vm_result(vm)->reason,
					    vm_result(vm)->exit_code,
					    vm_memory_digest(vm)), 0);
	vm_destroy(vm);
}
