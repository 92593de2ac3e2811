/* VCPRR_RECORD=FILE: the plugin run as a vcprr trace.
 *
 * The plugin is the controller, so what it does is recorded as controller
 * input by the VMM itself: pause requests, resumes with register edits and
 * read answers (RESUME_REQUEST), claimed accesses (IO_ACCESS) and the guest
 * memory as of crosvm_start (MEM_REGION, MEM_DATA).  The run description
 * marks the trace as a plugin run (kind crosvm-plugin), which replay
 * rebuilds as a raw-mode VM without the plugin program. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crosvm/plugin-priv.h"
#include "vmm/recording.h"

int plugin_record_open(struct plugin *p, char *err, size_t errlen)
{
	const char *path = getenv("VCPRR_RECORD");
	struct run_desc d;
	ssize_t n;

	if (!path || !*path)
		return 0;
	snprintf(p->trace_path, sizeof(p->trace_path), "%s", path);
	run_desc_init(&d);
	d.kind = RUN_KIND_CROSVM_PLUGIN;
	d.nr_vcpus = p->nr_vcpus;
	d.mem_size = 0;
	d.mem_limit = p->mem_limit;
	/* No guest image: the guest is the memory the plugin set up, logged
	 * at start.  The program is named for people reading the trace. */
	n = readlink("/proc/self/exe", d.program, sizeof(d.program) - 1);
	d.program[n > 0 ? n : 0] = '\0';
	p->trace = recording_open(path, &d, NULL, err, errlen);
	p->recording = p->trace != NULL;
	return p->trace ? 0 : -1;
}

void plugin_record_close(struct plugin *p, int status)
{
	int reason = TEND_GUEST_EXIT, code = status;
	char err[1024];

	if (!p->trace)
		return;
	if (p->started) {
		const struct vm_result *res = vm_result(p->vm);
		reason = res->reason;
		code = res->exit_code;
	}
	/* No memory digest: the plugin shares the guest memory and may change
	 * or unmap it at any time, so the end state is not the VMM's. */
	if (recording_close(p->trace, p->trace_path, reason, code, 0, NULL, err,
			    sizeof(err)))
		fprintf(stderr, "vcprr: %s\n", err);
	p->trace = NULL;
}
