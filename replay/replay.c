/* The replay driver: trace -> VM, the recorded inputs -> the VMM's hooks,
 * then watch the run and judge it.  The parts: load.c and stream.c (the
 * trace as streams), check.c (every event), land-hooks.c (parallel),
 * sched-source.c (serial and step), raw-input.c (plugin traces),
 * watch.c (progress and its bound), verdict.c. */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "replay/check.h"
#include "replay/land-hooks.h"
#include "replay/load.h"
#include "replay/mark.h"
#include "replay/raw-input.h"
#include "replay/replay.h"
#include "replay/sched-source.h"
#include "replay/verdict.h"
#include "replay/watch.h"
#include "traces/clock.h"
#include "vmm/controller.h"
#include "vmm/guest-id.h"

/* What the VM is given: the hooks, the schedule's source, the raw hooks. */
struct replay_vm {
	struct vm_replay_hooks hooks;
	struct sched_source source;
	struct vm_raw_hooks raw;
	struct vm_config cfg;
};

static struct replay *replay_new(void)
{
	struct replay *rp = calloc(1, sizeof(*rp));

	if (!rp)
		return NULL;
	pthread_mutex_init(&rp->msg_lock, NULL);
	pthread_mutex_init(&rp->land_lock, NULL);
	raw_input_init(rp);
	rp->land_rng.state = 0x5eed;
	return rp;
}

static void replay_free(struct replay *rp)
{
	load_free(rp);
	raw_input_free(rp);
	pthread_mutex_destroy(&rp->msg_lock);
	pthread_mutex_destroy(&rp->land_lock);
	free(rp);
}

/* How the recorded run ended decides what is replayed of it. */
static void decide(struct replay *rp)
{
	/* Runs the recording cut short (signal, timeout) replay as a prefix. */
	rp->prefix_only = rp->truncated || rp->end.a0 == TEND_SIGNAL ||
			  (rp->end.a0 == TEND_GUEST_FAULT && !rp->has_error_event);
	/* A run stopped from outside the guest (a signal, a timeout) was
	 * caught wherever its VCPUs were: their way out after VM_STOP is
	 * timing, not a replay's to match.  Plugin runs end that way too. */
	rp->end_recorded = load_end_recorded(rp);
	rp->cut_at_stop = rp->stop_seq != UINT64_MAX && !rp->end_recorded &&
			  (rp->prefix_only || rp->raw);
	rp->parallel = rp->desc.sched.mode == VM_SCHED_PARALLEL;
	/* Runs that did not end by every VCPU returning were stopped. */
	rp->ended_by_stop = rp->raw || rp->end.a0 != TEND_GUEST_EXIT ||
			    rp->has_guest_exit;
}

/* The watchdog is wall-clock time, not a recorded input: a replay on a
 * loaded machine must not call a recorded stretch without exits a hang.
 * Ten times the recorded limit still ends a replay that truly hangs. */
static uint64_t replay_watchdog(const struct replay *rp)
{
	return 10 * (rp->desc.sched.watchdog_ns ? rp->desc.sched.watchdog_ns :
		     SCHED_DEFAULT_WATCHDOG_NS);
}

static void build_config(struct replay *rp, struct replay_vm *rv,
			 const struct replay_opts *o)
{
	const struct sched_config *rec = &rp->desc.sched;
	struct vm_config *cfg = &rv->cfg;

	rv->hooks = (struct vm_replay_hooks){
		.arg = rp, .event = check_event, .read_input = check_read_input,
		.next_pause = land_next_pause, .resume_for = land_resume_for,
		.landed = land_landed, .visit = land_visit,
		.at_end = land_at_end,
		.ended = check_vcpu_ended,
	};
	rv->source = (struct sched_source){ source_apply, source_switch, rp };
	rv->raw = (struct vm_raw_hooks){ .arg = rp, .claim_io = raw_claim_io };
	run_desc_vm_config(&rp->desc, cfg);
	cfg->controlled |= rp->nactions > 0;
	/* The recorded switches and actions decide, not a policy; the
	 * exploration settings made those and must not add to them. */
	cfg->sched = (struct sched_config){
		.mode = rec->mode,
		.policy = rec->policy == VM_POLICY_PLAN ? VM_POLICY_RR :
							  rec->policy,
		.pct_depth = rec->pct_depth, .seed = rec->seed,
		.watchdog_ns = replay_watchdog(rp),
	};
	if (rp->raw) {
		cfg->raw = cfg->init_event = cfg->controlled = true;
		cfg->raw_hooks = &rv->raw;
	}
	cfg->console_fd = o->console_fd >= 0 ? o->console_fd :
			  open("/dev/null", O_WRONLY | O_CLOEXEC);
	cfg->log_fd = cfg->console_fd;
}

/* Loads the trace: 1 when it holds nothing to run (r says why), 0 to go
 * on, -1 on error (in err). */
static int prepare(struct replay *rp, const char *path,
		   struct replay_result *r, char *err, size_t errlen)
{
	if (load_scan(rp, path, err, errlen))
		return -1;
	if (rp->raw && rp->unplaced.type) {
		raw_describe_unplaced(rp, err, errlen);
		return -1;
	}
	snprintf(r->mode, sizeof(r->mode), "%s",
		 sched_mode_name(rp->desc.sched.mode));
	r->truncated = rp->truncated;
	if (verdict_empty(rp, r))
		return 1;
	decide(rp);
	if (load_streams(rp, err, errlen))
		return -1;
	check_init(rp);
	return 0;
}

/* Stops a run the watch gave up on; the reason becomes the verdict. */
static void give_up(struct replay *rp, enum watch_end how, const char *why,
		    struct replay_result *r)
{
	atomic_store(&rp->diverged, true);  /* no more checks while stopping */
	vm_stop(rp->vm, TEND_VMM_ERROR, 1, how == WATCH_STUCK ? "replay stuck" :
		"replay timed out");
	vm_wait(rp->vm, -1);
	r->status = how == WATCH_STUCK ? REPLAY_DIVERGED : REPLAY_ERROR;
	snprintf(r->message, sizeof(r->message), "%s", why);
}

static int run(struct replay *rp, const char *path, const struct replay_opts *o,
	       struct replay_result *r, char *err, size_t errlen)
{
	struct replay_vm rv;
	struct guest_lookup l = { o->guest, o->guest_dir, o->force };
	char guest[PATH_MAX], why[sizeof(r->message)];
	enum watch_end how;
	int ret = -1;

	if (!rp->raw && guest_id_find(&rp->desc.guest, path, &l, guest,
				      sizeof(guest), err, errlen) < 0)
		return -1;
	build_config(rp, &rv, o);
	rp->vm = vm_create(&rv.cfg, rp->raw ? NULL : guest, err, errlen);
	if (!rp->vm)
		goto out;
	vm_replay_attach(rp->vm, &rv.hooks, rp->parallel ? NULL : &rv.source);
	if (rp->raw && raw_build_memory(rp, err, errlen))
		goto out;
	ret = 0;
	if (rp->raw && rp->start_seq == UINT64_MAX) {
		/* The program exited without crosvm_start: nothing ran. */
		r->status = REPLAY_SAME;
		goto out;
	}
	if (vm_start(rp->vm)) {
		snprintf(err, errlen, "cannot start VCPU threads");
		ret = -1;
		goto out;
	}
	how = watch_run(rp, o, why, sizeof(why));
	if (how != WATCH_ENDED)
		give_up(rp, how, why, r);
	else
		verdict_judge(rp, vm_result(rp->vm), vm_memory_digest(rp->vm), r);
	r->events = atomic_load(&rp->checked);
	r->landed = rp->nland;
	r->land_p50_ns = land_median_ns(rp);
out:
	vm_destroy(rp->vm);
	if (rv.cfg.console_fd >= 0 && rv.cfg.console_fd != o->console_fd)
		close(rv.cfg.console_fd);
	return ret;
}

/* --- a replay run driven by its caller (a debugger) ----------------------- */

struct replay_session {
	struct replay *rp;
	struct replay_vm rv;
	int console_fd;             /* ours to close, or -1 */
	char guest[PATH_MAX];
};

void replay_session_close(struct replay_session *s)
{
	if (!s)
		return;
	if (s->rp) {
		vm_destroy(s->rp->vm);
		replay_free(s->rp);
	}
	if (s->console_fd >= 0)
		close(s->console_fd);
	free(s);
}

struct replay_session *replay_session_open(const char *path,
					   const struct replay_opts *o,
					   char *err, size_t errlen)
{
	struct replay_session *s = calloc(1, sizeof(*s));
	struct guest_lookup l = { o->guest, o->guest_dir, o->force };
	struct replay_result r;

	if (!s || !(s->rp = replay_new())) {
		snprintf(err, errlen, "out of memory");
		free(s);
		return NULL;
	}
	s->console_fd = -1;
	switch (prepare(s->rp, path, &r, err, errlen)) {
	case 0:
		break;
	case 1:
		snprintf(err, errlen, "%s: %s", path, r.message[0] ? r.message :
			 "no run in the trace");
		goto fail;
	default:
		goto fail;
	}
	if (s->rp->raw) {
		snprintf(err, errlen, "%s: a plugin (raw-mode) trace cannot be "
			 "debugged", path);
		goto fail;
	}
	if (guest_id_find(&s->rp->desc.guest, path, &l, s->guest,
			  sizeof(s->guest), err, errlen) < 0)
		goto fail;
	build_config(s->rp, &s->rv, o);
	if (s->rv.cfg.console_fd != o->console_fd)
		s->console_fd = s->rv.cfg.console_fd;
	s->rp->vm = vm_create(&s->rv.cfg, s->guest, err, errlen);
	if (!s->rp->vm)
		goto fail;
	vm_replay_attach(s->rp->vm, &s->rv.hooks,
			 s->rp->parallel ? NULL : &s->rv.source);
	return s;
fail:
	replay_session_close(s);
	return NULL;
}

struct vm *replay_session_vm(struct replay_session *s)
{
	return s->rp->vm;
}

const char *replay_session_guest(const struct replay_session *s)
{
	return s->guest;
}

int replay_session_mode(const struct replay_session *s)
{
	return s->rp->desc.sched.mode;
}

uint64_t replay_session_checked(struct replay_session *s)
{
	return atomic_load(&s->rp->checked);
}

uint64_t replay_session_last_seq(struct replay_session *s)
{
	uint64_t last = 0;

	for (unsigned i = 0; i < s->rp->nr_vcpus; i++) {
		for (int k = 0; k < 2; k++) {
			const struct context_ring *c = &s->rp->vcpus[i].ctx[k];

			if (c->n && c->seq[(c->n - 1) % CONTEXT_EVENTS] > last)
				last = c->seq[(c->n - 1) % CONTEXT_EVENTS];
		}
	}
	return last;
}

uint64_t replay_session_recorded_digest(const struct replay_session *s)
{
	return s->rp->end.a2;
}

bool replay_session_diverged(struct replay_session *s, char *msg, size_t len)
{
	if (!atomic_load(&s->rp->diverged))
		return false;
	pthread_mutex_lock(&s->rp->msg_lock);
	snprintf(msg, len, "%s", s->rp->message);
	pthread_mutex_unlock(&s->rp->msg_lock);
	return true;
}

struct replay_mark *replay_session_mark(struct replay_session *s)
{
	return replay_mark_take(s->rp);
}

int replay_session_rewind(struct replay_session *s,
			  const struct replay_mark *m)
{
	return replay_mark_restore(s->rp, m);
}

void replay_session_abandon(struct replay_session *s)
{
	atomic_store(&s->rp->diverged, true);  /* (check_event stops here) */
}

uint64_t replay_session_state_hash(struct replay_session *s)
{
	return replay_mark_hash(s->rp);
}

int replay_trace(const char *path, const struct replay_opts *o,
		 struct replay_result *r)
{
	uint64_t t0 = mono_ns();
	struct replay *rp = replay_new();
	char err[4096];
	int ret = -1;

	memset(r, 0, sizeof(*r));
	r->status = REPLAY_ERROR;
	if (!rp)
		snprintf(err, sizeof(err), "out of memory");
	else
		ret = prepare(rp, path, r, err, sizeof(err));
	if (!ret)
		ret = run(rp, path, o, r, err, sizeof(err));
	if (ret < 0) {
		r->status = REPLAY_ERROR;
		snprintf(r->message, sizeof(r->message), "%s", err);
	}
	if (rp)
		replay_free(rp);
	r->duration_ns = mono_ns() - t0;
	return r->status;
}
