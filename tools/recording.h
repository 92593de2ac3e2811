/* Opening and closing the trace of `vcprr record`. */
#ifndef VCPRR_TOOLS_RECORDING_H
#define VCPRR_TOOLS_RECORDING_H

#include "tools/run.h"
#include "traces/trace.h"

/* Creates o->output with a header describing the whole run: mode, seed,
 * VCPUs, memory, the guest's absolute path and SHA-256, and every option as
 * key=value lines.  NULL with a message on failure. */
struct trace_writer *recording_open(const struct run_opts *o, char *err,
				    size_t errlen);

/* Ends the trace with why the run ended.  Prints a problem (disk full ...)
 * unless @reported (the run's diagnostic, may be NULL) already told it, and
 * returns -1 then; 0 otherwise. */
int recording_close(struct trace_writer *w, const char *path, int reason,
		    int exit_code, uint64_t mem_digest, const char *reported);

#endif
