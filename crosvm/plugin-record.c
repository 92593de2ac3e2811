/* VCPRR_RECORD=FILE: the plugin run as a vcprr trace.
 *
 * The plugin is the controller, so what it does is recorded as controller
 * input by the VMM itself: pause requests, resumes with register edits and
 * read answers (RESUME_REQUEST), claimed accesses (IO_ACCESS) and the guest
 * memory as of crosvm_start (MEM_REGION, MEM_DATA).  The header marks the
 * trace as a plugin run ("plugin=crosvm"), which replay rebuilds as a
 * raw-mode VM without the plugin program. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crosvm/plugin-priv.h"
#include "traces/trace.h"

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

int plugin_record_open(struct plugin *p, char *err, size_t errlen)
{
	const char *path = getenv("VCPRR_RECORD");
	struct trace_header h = { .nr_vcpus = p->nr_vcpus,
				  .start_time_ns = mono_ns() };
	char exe[1024];
	ssize_t n;

	if (!path || !*path)
		return 0;
	snprintf(p->trace_path, sizeof(p->trace_path), "%s", path);
	snprintf(h.mode, sizeof(h.mode), "parallel");
	/* No guest image: the guest is the memory the plugin set up, logged
	 * at start.  The program is named for people reading the trace. */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	snprintf(h.config, sizeof(h.config),
		 "plugin=crosvm\nsched=parallel\nvcpus=%u\nmem_limit=%llu\n"
		 "program=%s\n", p->nr_vcpus, (unsigned long long)p->mem_limit,
		 exe);
	p->trace = trace_writer_open(path, &h, NULL, err, errlen);
	p->recording = p->trace != NULL;
	return p->trace ? 0 : -1;
}

void plugin_record_close(struct plugin *p, int status)
{
	int reason = TEND_GUEST_EXIT, code = status;
	char err[512];

	if (!p->trace)
		return;
	if (p->started) {
		const struct vm_result *res = vm_result(p->vm);
		reason = res->reason;
		code = res->exit_code;
	}
	/* No memory digest: the plugin shares the guest memory and may change
	 * or unmap it at any time, so the end state is not the VMM's. */
	if (trace_writer_close_err(p->trace, reason, code, 0, err, sizeof(err)))
		fprintf(stderr, "vcprr: trace %s: %s\n", p->trace_path, err);
	p->trace = NULL;
}
