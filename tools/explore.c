/* One exploration run: a VM under a seeded serial/step scheduler, its
 * console discarded, its trace optional, its end turned into a verdict. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tools/explore.h"
#include "traces/clock.h"
#include "traces/newfile.h"
#include "vmm/recording.h"
#include "vmm/run-desc.h"
#include "vmm/run-drive.h"
#include "vmm/snapshot.h"
#include "vmm/step-observer.h"
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
	d->input = cfg->input;
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

/* --- the VM kept from run to run ------------------------------------------ */

/* A process's explore runs share one VM: built for the first run of a
 * guest and configuration, snapshotted before it first starts, and reset
 * to that snapshot before each next run (vmm/snapshot.h).  A run is a
 * function of its seed either way; the reset costs the pages and VCPU
 * state the run changed, a new VM costs KVM's VM creation, the memory
 * faults, the ELF load and the teardown. */
static struct kept_vm {
	struct vm *vm;
	struct vm_snapshot *start;
	int null_fd;              /* its console and log */
	bool ran;                 /* since the snapshot */
	/* what it was built for */
	char *guest;
	struct stat image;        /* a guest rebuilt since is another VM */
	unsigned nr_vcpus;
	uint64_t mem_size;
	struct vm_guest_input input;
	enum vm_sched_mode mode;
} kept = { .null_fd = -1 };

void explore_release(void)
{
	vm_destroy(kept.vm);     /* frees the snapshot too */
	if (kept.null_fd >= 0)
		close(kept.null_fd);
	free(kept.guest);
	kept = (struct kept_vm){ .null_fd = -1 };
}

static bool kept_fits(const struct explore_config *cfg, const struct stat *image)
{
	return kept.vm && !strcmp(kept.guest, cfg->guest) &&
	       kept.image.st_dev == image->st_dev &&
	       kept.image.st_ino == image->st_ino &&
	       kept.image.st_size == image->st_size &&
	       kept.image.st_mtim.tv_sec == image->st_mtim.tv_sec &&
	       kept.image.st_mtim.tv_nsec == image->st_mtim.tv_nsec &&
	       kept.nr_vcpus == cfg->nr_vcpus && kept.mem_size == cfg->mem_size &&
	       vm_input_equal(&kept.input, &cfg->input) &&
	       kept.mode == cfg->sched.mode;
}

/* A new VM for cfg's guest, and the snapshot of its start.  Its scheduler
 * is a placeholder until vm_set_run gives each run its own. */
static int kept_build(const struct explore_config *cfg, const struct vm_config *vc,
		      const struct stat *image, char *err, size_t errlen)
{
	struct vm_config c = *vc;

	explore_release();
	kept.null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (kept.null_fd < 0) {
		snprintf(err, errlen, "/dev/null: %s", strerror(errno));
		return -1;
	}
	c.console_fd = c.log_fd = kept.null_fd;
	c.trace = NULL;
	c.sched = (struct sched_config){ .mode = vc->sched.mode };
	kept.vm = vm_create(&c, cfg->guest, err, errlen);
	if (!kept.vm || !(kept.guest = strdup(cfg->guest)) ||
	    !(kept.start = vm_snapshot_take(kept.vm, err, errlen))) {
		if (kept.vm && !kept.guest)
			snprintf(err, errlen, "out of memory");
		explore_release();
		return -1;
	}
	kept.image = *image;
	kept.nr_vcpus = cfg->nr_vcpus;
	kept.mem_size = cfg->mem_size;
	kept.input = cfg->input;
	kept.mode = cfg->sched.mode;
	return 0;
}

/* The kept VM, as it was before its first run, set up for this one. */
static struct vm *kept_vm(const struct explore_config *cfg,
			  const struct vm_config *vc, char *err, size_t errlen)
{
	struct stat image;

	if (stat(cfg->guest, &image) < 0) {  /* worded as the ELF loader's */
		snprintf(err, errlen, "%s: cannot open: %s", cfg->guest,
			 strerror(errno));
		return NULL;
	}
	if (!kept_fits(cfg, &image) && kept_build(cfg, vc, &image, err, errlen))
		return NULL;
	if (kept.ran && vm_snapshot_restore(kept.vm, kept.start, err, errlen))
		goto fail;
	kept.ran = true;
	if (vm_set_run(kept.vm, &vc->sched, vc->trace, err, errlen))
		goto fail;
	return kept.vm;
fail:
	explore_release();
	return NULL;
}

static bool fresh_vms(const struct explore_config *cfg)
{
	const char *e = getenv("VCPRR_FRESH_VM");

	return cfg->fresh_vm || (e && *e && strcmp(e, "0"));
}

int explore_run(const struct explore_config *cfg, uint64_t seed,
		struct explore_trace *trace, struct explore_result *res,
		char *err, size_t errlen)
{
	struct run_drive drive = { .signal_fd = -1 };
	struct trace_writer *w = NULL;
	uint64_t t0 = mono_ns(), digest = 0;
	bool fresh = fresh_vms(cfg);
	const struct vm_result *r;
	struct run_desc desc;
	struct vm_config vc;
	struct vm *vm = NULL;
	char *tmp = NULL;
	int null_fd = -1, ret = -1;

	memset(res, 0, sizeof(*res));
	res->seed = seed;
	describe_run(cfg, seed, &desc);
	run_desc_vm_config(&desc, &vc);
	drive.timeout_ns = desc.timeout_ns;
	if (fresh && (null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0) {
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
	vm = fresh ? vm_create(&vc, cfg->guest, err, errlen) :
		     kept_vm(cfg, &vc, err, errlen);
	if (!vm)
		goto out;
	if ((cfg->observer || !fresh) &&
	    vm_set_step_observer(vm, cfg->observer)) {
		snprintf(err, errlen, "%s: cannot watch the run's instructions "
			 "(a step-mode run is needed)", cfg->guest);
		goto out;
	}
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
	if (fresh)
		vm_destroy(vm);
	else if (vm && ret)  /* a VMM error: the next run builds a new VM */
		explore_release();
	if (w && ret == 0 && wants_trace(trace, res))
		keep_trace(w, tmp, trace, res, digest);
	else if (w)  /* never named: it vanishes */
		trace_writer_close(w, ret ? TEND_VMM_ERROR : res->reason,
				   res->exit_code, digest);
	free(tmp);
	if (null_fd >= 0)
		close(null_fd);
	res->seconds = (mono_ns() - t0) / 1e9;
	return ret;
}
