/* Internal: hooks for the trace tests.  Not part of the public API. */
#ifndef VCPRR_TRACES_WRITER_INTERNAL_H
#define VCPRR_TRACES_WRITER_INTERNAL_H

#include <stdbool.h>

struct trace_writer;

/* Stop (true) or restart the writer thread's draining, so tests can fill
 * rings deterministically.  trace_writer_close restarts it. */
void trace_writer__pause(struct trace_writer *w, bool pause);

#endif
