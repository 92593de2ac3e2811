/* One exploration run: a VM under a seeded serial/step scheduler, its
 * console discarded, its trace optional, its end turned into a verdict. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tools/explore.h"
#include "traces/clock.h"
#include "traces/newfile.h"
#include "vmm/recording.h"
#include "vmm/run-desc.h"
#include "vmm/run-drive.h"
#include "vmm/vm.h"

#define DEFAULT_TIMEOUT_NS (30ull * 1000000000ull)

/* Copies the first line of s, without a leading "vcpu N: " and with any
 * other "vcpu N" as "vcpu *": a failure is the same whichever VCPU hit it. */
static void first_line(const char *s, char *out, size_t len)
{
	size_t n, o = 0;

	if (!strncmp(s, "vcpu ", 5)) {
		const char *p = s + 5;
		while (*p >= '0' && *p <= '9')
			p++;
		if (p > s + 5 && p[0] == ':' && p[1] == ' ')
			s = p + 2;
	}
	n = strcspn(s, "\n");
	for (size_t i = 0; i < n && o + 7 < len;) {
		if (!strncmp(s + i, "vcpu ", 5) && i + 5 < n &&
		    s[i + 5] >= '0' && s[i + 5] <= '9') {
			memcpy(out + o, "vcpu *", 6);
			o += 6;
			for (i += 5; i < n && s[i] >= '0' && s[i] <= '9'; i++)
				;
			continue;
		}
		out[o++] = s[i++];
	}
	out[o] = 0;
}

void explore_signature(int reason, int exit_code, const char *diag, char *out,
		       size_t len)
{
	char line[EXPLORE_SIG_MAX];

	first_line(diag ? diag : "", line, sizeof(line));
	switch (reason) {
	case TEND_GUEST_EXIT:
		if (exit_code)
			snprintf(out, len, "exit code %d", exit_code);
		else
			out[0] = 0;
		return;
	case TEND_GUEST_ASSERT:
	case TEND_GUEST_FAULT:
		snprintf(out, len, "%s", line);
		return;
	default:
		snprintf(out, len, "%s: %s", trace_end_reason_name(reason), line);
	}
}

/* The run of @cfg with @seed, for the VM and the trace header. */
static void describe_run(const struct explore_config *cfg, uint64_t seed,
			 struct run_desc *d)
{
	run_desc_init(d);
	d->nr_vcpus = cfg->nr_vcpus;
	d->mem_size = cfg->mem_size;
	d->guest_arg = cfg->guest_arg;
	d->sched = cfg->sched;
	d->sched.seed = seed;
	d->timeout_ns = cfg->timeout_ns ? cfg->timeout_ns : DEFAULT_TIMEOUT_NS;
}

/* The run's trace, unnamed until keep_trace() names it. */
static struct trace_writer *open_trace(struct run_desc *d, const char *guest,
				       const char *path, char *err,
				       size_t errlen)
{
	const struct recording_target t = { .path = path, .fd = -1,
					    .publish_later = true };

	return recording_open_target(&t, d, guest, err, errlen);
}

/* Names a finished run's trace: under a hidden name while the writer
 * completes it, then under its own in one rename, with SIGINT and SIGTERM
 * held off meanwhile so that an interrupted explore leaves no temporary. */
static int keep_trace(struct trace_writer *w, const char *tmp,
		      struct explore_trace *t, const struct explore_result *res,
		      uint64_t digest)
{
	sigset_t block, old;
	char why[512];
	int r;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	r = trace_writer_publish(w, t->problem, sizeof(t->problem));
	if (recording_close(w, t->path, res->reason, res->exit_code, digest,
			    NULL, why, sizeof(why)) && !r) {
		snprintf(t->problem, sizeof(t->problem), "%s", why);
		r = -1;
	}
	if (!r && (r = newfile_rename(tmp, t->path, t->replace)))
		snprintf(t->problem, sizeof(t->problem), "%s: %s", t->path,
			 r == -EEXIST ? "exists" : strerror(-r));
	if (r)
		unlink(tmp);
	t->kept = !r;
	if (!t->kept || !t->hold_stops)
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}

static bool wants_trace(struct explore_trace *t,
			const struct explore_result *res)
{
	return !t->keep || t->keep(res, t->arg);
}

int explore_run(const struct explore_config *cfg, uint64_t seed,
		struct explore_trace *trace, struct explore_result *res,
		char *err, size_t errlen)
{
	struct run_drive drive = { .signal_fd = -1 };
	struct trace_writer *w = NULL;
	uint64_t t0 = mono_ns(), digest = 0;
	const struct vm_result *r;
	struct run_desc desc;
	struct vm_config vc;
	struct vm *vm = NULL;
	char *tmp = NULL;
	int null_fd, ret = -1;

	memset(res, 0, sizeof(*res));
	res->seed = seed;
	describe_run(cfg, seed, &desc);
	run_desc_vm_config(&desc, &vc);
	drive.timeout_ns = desc.timeout_ns;
	null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null_fd < 0) {
		snprintf(err, errlen, "/dev/null: %s", strerror(errno));
		return -1;
	}
	vc.console_fd = vc.log_fd = null_fd;
	if (trace) {
		char tag[32];

		trace->kept = false;
		trace->problem[0] = 0;
		snprintf(tag, sizeof(tag), "%d.tmp", (int)getpid());
		tmp = newfile_hidden_name(trace->path, tag);
		if (!tmp) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		if (!(w = open_trace(&desc, cfg->guest, tmp, err, errlen)))
			goto out;
	}
	vc.trace = drive.trace = w;
	vm = vm_create(&vc, cfg->guest, err, errlen);
	if (!vm)
		goto out;
	if (run_drive(vm, &drive)) {
		snprintf(err, errlen, "%s: cannot start the VCPU threads", cfg->guest);
		goto out;
	}
	r = vm_result(vm);
	if (r->reason == TEND_VMM_ERROR) {
		snprintf(err, errlen, "%s", r->diag);
		goto out;
	}
	res->reason = r->reason;
	res->exit_code = r->exit_code;
	explore_signature(r->reason, r->exit_code, r->diag, res->signature,
			  sizeof(res->signature));
	res->failed = res->signature[0] != 0;
	vm_sched_stats(vm, &res->stats);
	if (w)
		digest = vm_memory_digest(vm);
	ret = 0;
out:
	if (vm)
		vm_destroy(vm);
	if (w && ret == 0 && wants_trace(trace, res))
		keep_trace(w, tmp, trace, res, digest);
	else if (w)  /* never named: it vanishes */
		trace_writer_close(w, ret ? TEND_VMM_ERROR : res->reason,
				   res->exit_code, digest);
	free(tmp);
	close(null_fd);
	res->seconds = (mono_ns() - t0) / 1e9;
	return ret;
}
