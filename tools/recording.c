/* The trace header of a recorded run, and closing the trace. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tools/recording.h"
#include "traces/sha256.h"
#include "vmm/elf.h"

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void describe_config(const struct run_opts *o, char *buf, size_t len)
{
	static const char *const policies[] = { "rr", "random", "pct", "plan" };

	snprintf(buf, len,
		 "sched=%s\n"
		 "policy=%s\n"
		 "pct_depth=%u\n"
		 "watchdog_ns=%llu\n"
		 "vcpus=%u\n"
		 "mem=%llu\n"
		 "timeout_ns=%llu\n"
		 "pause_every_ns=%llu\n"
		 "hold_ns=%llu\n"
		 "seed=%llu\n"
		 "pause_script=%s\n"
		 "lossy=%d\n"
		 "arg=%llu\n"
		 "pause_ppm=%u\n"
		 "max_hold=%u\n"
		 "step_budget=%llu\n",
		 sched_mode_name(o->sched.mode), policies[o->sched.policy],
		 o->sched.pct_depth, (unsigned long long)o->sched.watchdog_ns,
		 o->nr_vcpus, (unsigned long long)o->mem_size,
		 (unsigned long long)o->timeout_ns,
		 (unsigned long long)o->pause_every_ns,
		 (unsigned long long)o->hold_ns, (unsigned long long)o->seed,
		 o->pause_script ? o->pause_script : "", o->lossy,
		 (unsigned long long)o->guest_arg, o->sched.pause_ppm,
		 o->sched.max_hold, (unsigned long long)o->sched.step_budget);
}

struct trace_writer *recording_open(const struct run_opts *o, char *err,
				    size_t errlen)
{
	struct trace_header h = { .seed = o->seed, .nr_vcpus = o->nr_vcpus,
				  .mem_size = o->mem_size,
				  .start_time_ns = mono_ns() };
	/* The caller publishes the trace once the run has started. */
	struct trace_writer_opts wo = { .lossy = o->lossy,
					.max_bytes = o->max_trace,
					.publish_later = true,
					.no_replace = !o->force };
	uint8_t *image;
	size_t len;

	snprintf(h.mode, sizeof(h.mode), "%s", sched_mode_name(o->sched.mode));
	/* The path as given: a relative one keeps a trace replayable from
	 * another checkout (replay looks it up from its working folder). */
	if (strlen(o->guest) >= sizeof(h.guest_path)) {
		snprintf(err, errlen, "%s: path longer than %zu bytes cannot be "
			 "recorded", o->guest, sizeof(h.guest_path) - 1);
		return NULL;
	}
	memcpy(h.guest_path, o->guest, strlen(o->guest) + 1);
	/* An unreadable guest still gets a trace saying why the run failed. */
	if (elf_read_file(o->guest, &image, &len, err, errlen) == 0) {
		sha256(image, len, h.guest_hash);
		free(image);
	}
	describe_config(o, h.config, sizeof(h.config));
	if (!strcmp(o->output, "-"))
		return trace_writer_fdopen(o->stdout_fd, "standard output", &h,
					   &wo, err, errlen);
	return trace_writer_open(o->output, &h, &wo, err, errlen);
}

int recording_close(struct trace_writer *w, const char *path, int reason,
		    int exit_code, uint64_t mem_digest, const char *reported)
{
	char err[512];

	if (trace_writer_close_err(w, reason, exit_code, mem_digest, err,
				   sizeof(err)) == 0)
		return 0;
	if (!reported || !strstr(reported, err))
		fprintf(stderr, "vcprr: trace %s: %s\n", path, err);
	fprintf(stderr, "vcprr: trace %s: every event before the failure is "
		"kept; it reads as truncated\n", path);
	return -1;
}
