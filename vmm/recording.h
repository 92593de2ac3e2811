/* Recording a run: its trace created with the run description in the
 * header, and closed with how the run ended.  vcprr record, explore,
 * minimize and the crosvm plugin library all record through here. */
#ifndef VCPRR_VMM_RECORDING_H
#define VCPRR_VMM_RECORDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "traces/trace.h"
#include "vmm/run-desc.h"

/* Where the trace goes and when it gets its name (traces/trace.h). */
struct recording_target {
	const char *path;        /* the file (or, with fd, a name for it) */
	int fd;                  /* >= 0: write to this descriptor (stdout)
				    instead of creating path; the writer
				    owns it from the call on */
	bool publish_later;      /* unnamed until trace_writer_publish() */
	bool no_replace;         /* publishing fails with -EEXIST when
				    path exists */
};

/* Creates the trace described by @t for the run @d.  For a guest run,
 * @guest is its image: its identity goes into d->guest (see vmm/guest-id.h); an image
 * that cannot be read still gets a trace saying why the run failed.
 * d->lossy and d->max_trace set the writer up.  NULL with a message on
 * failure. */
struct trace_writer *recording_open_target(const struct recording_target *t,
					   struct run_desc *d,
					   const char *guest, char *err,
					   size_t errlen);
/* recording_open_target() to a plain file @path, named at once. */
struct trace_writer *recording_open(const char *path, struct run_desc *d,
				    const char *guest, char *err,
				    size_t errlen);

/* The run has started: its first events are made durable at once (a
 * frame completed), so that even a recording killed right away keeps
 * them.  Returns 0 or the writer's negative errno. */
int recording_started(struct trace_writer *w);

/* Ends the trace with why the run ended (TEV_VM_END) and frees @w.
 * Returns 0, or -1 with a message for the user in @err: what failed
 * (unless @reported, the run's own diagnostic or NULL, already says it)
 * and that the events before the failure are kept. */
int recording_close(struct trace_writer *w, const char *path, int reason,
		    int exit_code, uint64_t mem_digest, const char *reported,
		    char *err, size_t errlen);

#endif
