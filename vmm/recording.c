/* Opening and closing a recording. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "traces/clock.h"
#include "vmm/guest-id.h"
#include "vmm/recording.h"

struct trace_writer *recording_open_target(const struct recording_target *t,
					   struct run_desc *d,
					   const char *guest, char *err,
					   size_t errlen)
{
	struct trace_writer_opts wo = { .lossy = d->lossy,
					.max_bytes = d->max_trace,
					.publish_later = t->publish_later,
					.no_replace = t->no_replace };
	const char *path = t->path;
	struct trace_header h = { 0 };

	if (d->kind == RUN_KIND_GUEST &&
	    guest_id_take(&d->guest, guest, path, err, errlen))
		return NULL;
	if (run_desc_encode(d, &h, err, errlen))
		return NULL;
	h.start_time_ns = mono_ns();
	if (t->fd >= 0)
		return trace_writer_fdopen(t->fd, path, &h, &wo, err, errlen);
	return trace_writer_open(path, &h, &wo, err, errlen);
}

struct trace_writer *recording_open(const char *path, struct run_desc *d,
				    const char *guest, char *err,
				    size_t errlen)
{
	const struct recording_target t = { .path = path, .fd = -1 };

	return recording_open_target(&t, d, guest, err, errlen);
}

int recording_started(struct trace_writer *w)
{
	return w ? trace_writer_flush(w) : 0;
}

int recording_close(struct trace_writer *w, const char *path, int reason,
		    int exit_code, uint64_t mem_digest, const char *reported,
		    char *err, size_t errlen)
{
	char why[512];

	if (trace_writer_close_err(w, (uint32_t)reason, exit_code, mem_digest,
				   why, sizeof(why)) == 0)
		return 0;
	if (reported && strstr(reported, why))
		snprintf(err, errlen, "trace %s: every event before the failure "
			 "is kept; it reads as truncated", path);
	else
		snprintf(err, errlen, "trace %s: %s; every event before the "
			 "failure is kept, it reads as truncated", path, why);
	return -1;
}
