/* One exploration run: a VM under a seeded serial/step scheduler, its
 * console discarded, its trace optional, its end turned into a verdict. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tools/explore.h"
#include "vmm/recording.h"
#include "vmm/run-desc.h"
#include "vmm/run-drive.h"
#include "vmm/vm.h"

#define DEFAULT_TIMEOUT_NS (30ull * 1000000000ull)

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* Copies the first line of s, without a leading "vcpu N: ". */
static void first_line(const char *s, char *out, size_t len)
{
	const char *colon = NULL;
	size_t n;

	if (!strncmp(s, "vcpu ", 5)) {
		const char *p = s + 5;
		while (*p >= '0' && *p <= '9')
			p++;
		if (p[0] == ':' && p[1] == ' ')
			colon = p + 2;
	}
	if (colon)
		s = colon;
	n = strcspn(s, "\n");
	snprintf(out, len, "%.*s", (int)n, s);
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

int explore_run(const struct explore_config *cfg, uint64_t seed,
		const char *trace_path, struct explore_result *res,
		char *err, size_t errlen)
{
	struct run_drive drive = { .signal_fd = -1 };
	struct trace_writer *trace = NULL;
	uint64_t t0 = mono_ns(), digest = 0;
	const struct vm_result *r;
	struct run_desc desc;
	struct vm_config vc;
	struct vm *vm = NULL;
	int null_fd, ret = -1;
	char why[512];

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
	if (trace_path && !(trace = recording_open(trace_path, &desc, cfg->guest,
						   err, errlen)))
		goto out;
	vc.trace = drive.trace = trace;
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
	if (trace)
		digest = vm_memory_digest(vm);
	ret = 0;
out:
	if (vm)
		vm_destroy(vm);
	if (trace && recording_close(trace, trace_path,
				     ret ? TEND_VMM_ERROR : res->reason,
				     res->exit_code, digest, NULL, why,
				     sizeof(why)) && ret == 0) {
		snprintf(err, errlen, "%s", why);
		ret = -1;
	}
	close(null_fd);
	res->seconds = (mono_ns() - t0) / 1e9;
	return ret;
}
