/* Internal: hooks for the trace tests.  Not part of the public API. */
#ifndef VCPRR_TRACES_WRITER_INTERNAL_H
#define VCPRR_TRACES_WRITER_INTERNAL_H

#include <stdbool.h>

struct trace_event;
struct trace_producer;
struct trace_writer;

/* Stop (true) or restart the writer thread's draining, so tests can fill
 * rings deterministically.  trace_writer_close restarts it. */
void trace_writer__pause(struct trace_writer *w, bool pause);

/* trace_emit_timed that also takes types this vcprr does not know
 * (>= TEV__COUNT), which the format holds and a newer or hostile writer
 * may put in a file: tests and fuzzers write such traces with it.
 * TEV_NONE is still refused (the reader rejects it as malformed). */
int trace_emit__any_type(struct trace_producer *p, struct trace_event *ev,
			 const void *payload);

#endif
