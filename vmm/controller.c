/* The controller API and the VCPU side of the stop/resume handshake.
 *
 * A stopped VCPU publishes its event and a snapshot of its registers under
 * ctl_lock, sets `stopped`, and sleeps until resume_gen changes.  Controllers
 * read and stage edits to the snapshot under the same lock; the VCPU thread
 * fetches what they ask for and applies staged edits itself when it wakes,
 * so every KVM vcpu ioctl is issued from the VCPU's own thread.
 *
 * Waiting controllers first spin briefly on the lock-free `stopped` flag: a
 * pause is usually reported within tens of microseconds, and a futex sleep
 * plus wake-up would cost as much again. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "vmm/vtrace.h"

#define SPIN_NS 200000ull  /* spin this long before sleeping */

static void replay_self_resume(struct vcpu *v);

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static struct timespec abs_deadline(int timeout_ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	return ts;
}

#define RFLAGS_TF (1ull << 8)
#define RFLAGS_RF (1ull << 16)

uint64_t regs_digest(const struct kvm_regs *r)
{
	const uint64_t *w = (const uint64_t *)r;
	uint64_t h = 0x9e3779b97f4a7c15ull;

	/* Every field, RIP and RFLAGS included: a position is exact.  TF and
	 * RF are left out: breakpoints and single steps set them, and a
	 * replay lands pauses with those. */
	for (size_t i = 0; i < sizeof(*r) / 8; i++) {
		uint64_t x = w[i];
		if ((const void *)&w[i] == (const void *)&r->rflags)
			x &= ~(RFLAGS_TF | RFLAGS_RF);
		h ^= x;
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 33;
	}
	return h;
}

void vcpu_ctl_init(struct vcpu *v)
{
	pthread_mutexattr_t m;
	pthread_condattr_t a;

	/* Recursive: events are logged under ctl_lock (a resume, a setting
	 * made while stopped), and logging one may stop the VM (a replay's
	 * divergence, a trace that can no longer be written), which wakes
	 * every VCPU's waiters under their ctl_lock. */
	pthread_mutexattr_init(&m);
	pthread_mutexattr_settype(&m, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&v->ctl_lock, &m);
	pthread_mutexattr_destroy(&m);
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&v->ctl_cond, &a);
	pthread_condattr_destroy(&a);
}

void vcpu_ctl_destroy(struct vcpu *v)
{
	pthread_mutex_destroy(&v->ctl_lock);
	pthread_cond_destroy(&v->ctl_cond);
	pause_slot_free(&v->pause);
}

void vcpu_ctl_wake_all(struct vcpu *v)
{
	pthread_mutex_lock(&v->ctl_lock);
	pthread_cond_broadcast(&v->ctl_cond);
	pthread_mutex_unlock(&v->ctl_lock);
}

/* The general registers are needed at every stop (position digest); with
 * sync regs they are already in kvm_run.  sregs and debugregs cost an ioctl
 * each, so they are fetched only when a controller asks (fetch_wanted). */
static void snapshot_registers(struct vcpu *v)
{
	if (v->regs_synced) {
		v->regs = v->run->s.regs.regs;
	} else {
		ioctl(v->fd, KVM_GET_REGS, &v->regs);
		/* Raw mode: a stop before the first KVM_RUN (INIT, a pause
		 * right after it) must log the same RIP as any other. */
		if (v->vm->cfg.raw && v->vm->sync_regs) {
			v->run->s.regs.regs = v->regs;
			v->regs_synced = true;
		}
	}
	v->fetched = EDIT_REGS;
	v->fetch_wanted = 0;
}

static void fetch_registers(struct vcpu *v, unsigned what)
{
	if (what & EDIT_SREGS)
		ioctl(v->fd, KVM_GET_SREGS, &v->sregs);
	if (what & EDIT_DEBUGREGS)
		ioctl(v->fd, KVM_GET_DEBUGREGS, &v->dregs);
}

static void apply_edits(struct vcpu *v, unsigned dirty)
{
	if ((dirty & EDIT_SREGS) && ioctl(v->fd, KVM_SET_SREGS, &v->sregs) < 0)
		vcpu_fault(v, "resume: KVM_SET_SREGS rejected the edited sregs");
	if ((dirty & EDIT_DEBUGREGS) &&
	    ioctl(v->fd, KVM_SET_DEBUGREGS, &v->dregs) < 0)
		vcpu_fault(v, "resume: KVM_SET_DEBUGREGS rejected the edit");
	if (!(dirty & EDIT_REGS))
		return;
	if (v->regs_synced) {
		/* Applied by the next KVM_RUN, with no ioctl of its own. */
		v->run->s.regs.regs = v->regs;
		v->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
	} else if (ioctl(v->fd, KVM_SET_REGS, &v->regs) < 0) {
		vcpu_fault(v, "resume: KVM_SET_REGS rejected the edited regs");
	}
}

/* Sleeps until resumed (or the run ends), fetching register sets that
 * controllers ask for meanwhile.  Called and returns with ctl_lock held. */
static void wait_for_resume(struct vcpu *v, uint64_t gen)
{
	while (v->resume_gen == gen && !atomic_load(&v->vm->stopping)) {
		unsigned want = v->fetch_wanted & ~v->fetched;

		if (!want) {
			pthread_cond_wait(&v->ctl_cond, &v->ctl_lock);
			continue;
		}
		pthread_mutex_unlock(&v->ctl_lock);
		fetch_registers(v, want);
		pthread_mutex_lock(&v->ctl_lock);
		v->fetched |= want;
		pthread_cond_broadcast(&v->ctl_cond);
	}
}

uint64_t vcpu_stop_with_event(struct vcpu *v, struct vcpu_event *ev)
{
	uint64_t gen, data;
	unsigned dirty;
	bool resumed;

	/* Serial: out of the schedule before anyone can see it stopped, so
	 * that a quick resume cannot be undone by a late block. */
	if (v->vm->sched)
		sched_block(v);
	pthread_mutex_lock(&v->ctl_lock);
	snapshot_registers(v);
	ev->pos = (struct vcpu_position){
		.exit_seq = v->exit_seq, .rip = v->regs.rip,
		.digest = regs_digest(&v->regs),
	};
	/* Logged before it shows as stopped (its resume comes after it in
	 * the trace), without the lock: a replay that finds a difference
	 * here stops the VM, which takes the scheduler's lock, and nobody
	 * takes that one while holding a ctl_lock.  Controllers leave the
	 * snapshot alone until `stopped`. */
	if (ev->kind == VCPU_EVENT_PAUSED) {
		pthread_mutex_unlock(&v->ctl_lock);
		vtrace_pause_taken(v, ev);
		pthread_mutex_lock(&v->ctl_lock);
	}
	v->event = *ev;
	v->event_returned = false;
	v->dirty = 0;
	v->stops++;
	/* With `stopped`, under the lock: a waiter never sees the request
	 * taken while the VCPU does not show stopped yet. */
	if (ev->kind == VCPU_EVENT_PAUSED)
		atomic_store(&v->taken_seq, ev->req_seq);
	gen = v->resume_gen;
	atomic_store(&v->stopped, true);
	pthread_cond_broadcast(&v->ctl_cond);
	pthread_mutex_unlock(&v->ctl_lock);

	/* Serial: a replay may have held back an idle-time resume until it
	 * is stopped (see sched_block above). */
	if (v->vm->sched)
		sched_settle(v->vm);
	vcpu_hook(v, VCPU_HOOK_STOPPED);
	if (v->vm->cfg.raw_hooks && v->vm->cfg.raw_hooks->stopped)
		v->vm->cfg.raw_hooks->stopped(v->vm->cfg.raw_hooks->arg, v->id);
	/* Raw mode also replays the plugin's answers to INIT and IO stops. */
	if (v->vm->cfg.replay && !v->vm->sched &&
	    (ev->kind == VCPU_EVENT_PAUSED || v->vm->cfg.raw))
		replay_self_resume(v);

	pthread_mutex_lock(&v->ctl_lock);
	wait_for_resume(v, gen);
	resumed = v->resume_gen != gen;
	dirty = resumed ? v->dirty : 0;
	data = resumed ? v->resume_data : 0;
	atomic_store(&v->stopped, false);
	pthread_mutex_unlock(&v->ctl_lock);

	/* Woken by the end of the run, it was not resumed: it logs nothing,
	 * and certainly not an earlier resume's data. */
	if (!resumed)
		return 0;
	if (dirty)
		apply_edits(v, dirty);
	atomic_fetch_add(&v->stats.resumed, 1);
	if (ev->kind == VCPU_EVENT_PAUSED || ev->kind == VCPU_EVENT_IO)
		VTRACE_VCPU(v, TEV_RESUMED, data, 0, 0);
	vcpu_hook(v, VCPU_HOOK_RESUMED);
	return data;
}

/* --- controller side ------------------------------------------------- */

static struct vcpu *lookup(struct vm *vm, unsigned id)
{
	return id < vm->nr_vcpus ? &vm->vcpus[id] : NULL;
}

uint64_t ctl_new_seq(struct vcpu *v)
{
	return atomic_fetch_add(&v->next_req_seq, 1) + 1;
}

/* PAUSE_REQUEST a2/a3: the scheduling step and place (enum sched_where) at
 * which a serial-mode scheduler applied it; 0 in parallel mode.  The
 * request is logged before it is published, so the trace shows
 * PAUSE_REQUEST before the PAUSE_TAKEN it causes. */
int ctl_publish(struct vm *vm, unsigned id, uint64_t seq, uint64_t data,
		uint64_t step, int where)
{
	struct vcpu *v = &vm->vcpus[id];
	uint64_t old = atomic_load(&v->published_seq);

	atomic_fetch_add(&v->stats.requests, 1);
	vtrace_ctl_emit(vm, id, TEV_PAUSE_REQUEST, data, seq, step, where, NULL, 0);
	if (pause_publish(&v->pause, seq, data))
		return -ENOMEM;
	while (old < seq &&
	       !atomic_compare_exchange_weak(&v->published_seq, &old, seq))
		;
	if (vm->sched) {
		/* Wakes it wherever it waits: for the token, or halted. */
		vcpu_kick(v);
		sched_wake_all_locked(vm);
	}
	return 0;
}

int64_t ctl_request_now(struct vm *vm, unsigned id, uint64_t data)
{
	uint64_t seq = ctl_new_seq(&vm->vcpus[id]);
	int r = ctl_publish(vm, id, seq, data, 0, 0);

	return r ? r : (int64_t)seq;
}

int64_t vcpu_request_pause(struct vm *vm, unsigned id, uint64_t data)
{
	if (!lookup(vm, id))
		return -EINVAL;
	/* Serial: numbered now, applied at the next scheduling point. */
	if (vm->sched)
		return sched_submit_pause(vm, id, data);
	return ctl_request_now(vm, id, data);
}

int vcpu_kick_thread(struct vm *vm, unsigned id)
{
	struct vcpu *v = lookup(vm, id);

	if (!v)
		return -EINVAL;
	atomic_fetch_add(&v->stats.kicks, 1);
	vtrace_ctl_emit(vm, id, TEV_SIGNAL_SENT, atomic_load(&v->next_req_seq),
			0, 0, 0, NULL, 0);
	vcpu_kick(v);
	return 0;
}

int vm_pause_vcpus(struct vm *vm, const vcpu_mask_t *mask, uint64_t data)
{
	/* Publish every request first, then kick: VCPUs kicked early do not
	 * wait for the requests of the others. */
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		int64_t r;
		if (!vcpu_mask_test(mask, i))
			continue;
		r = vcpu_request_pause(vm, i, data);
		if (r < 0)
			return (int)r;
	}
	if (vm->sched)
		return 0;  /* the scheduler wakes them when it applies the requests */
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		if (vcpu_mask_test(mask, i))
			vcpu_kick_thread(vm, i);
	return 0;
}

/* What a controller waits for: the VCPU stopped, having taken every
 * request numbered up to min_seq, in a stop other than not_stop (0: any);
 * or, with or_running, running with no such request outstanding. */
struct stop_goal {
	uint64_t min_seq;
	uint64_t not_stop;
	bool or_running;
};

/* Lock-free first look (taken_seq is stored before `stopped`). */
static bool goal_maybe(struct vcpu *v, const struct stop_goal *g)
{
	bool stopped = atomic_load_explicit(&v->stopped, memory_order_acquire);

	return (stopped || g->or_running) &&
	       atomic_load(&v->taken_seq) >= g->min_seq;
}

/* With ctl_lock held. */
static bool goal_reached(struct vcpu *v, const struct stop_goal *g)
{
	if (!goal_maybe(v, g))
		return false;
	return atomic_load(&v->stopped) ? v->stops != g->not_stop : g->or_running;
}

/* Waits for one VCPU to reach g.  0, -ESRCH (finished), -ESHUTDOWN,
 * -ETIMEDOUT. */
static int wait_stopped(struct vm *vm, struct vcpu *v, const struct stop_goal *g,
			int timeout_ms, const struct timespec *deadline)
{
	uint64_t spin_end = mono_ns() + SPIN_NS;
	int r = 0;

	if (!goal_maybe(v, g))
		vcpu_hook_await(v);
	while (!goal_maybe(v, g)) {
		if (atomic_load(&vm->stopping))
			return -ESHUTDOWN;
		if (atomic_load(&v->finished))
			return -ESRCH;
		if (mono_ns() > spin_end)
			break;
		__builtin_ia32_pause();
	}
	pthread_mutex_lock(&v->ctl_lock);
	while (!goal_reached(v, g)) {
		if (atomic_load(&vm->stopping)) {
			r = -ESHUTDOWN;
			break;
		}
		if (atomic_load(&v->finished)) {
			r = -ESRCH;
			break;
		}
		if (timeout_ms < 0) {
			pthread_cond_wait(&v->ctl_cond, &v->ctl_lock);
			continue;
		}
		if (pthread_cond_timedwait(&v->ctl_cond, &v->ctl_lock, deadline) ==
		    ETIMEDOUT && !goal_reached(v, g)) {
			r = -ETIMEDOUT;
			break;
		}
	}
	pthread_mutex_unlock(&v->ctl_lock);
	return r;
}

int vm_wait_paused(struct vm *vm, const vcpu_mask_t *mask, int timeout_ms,
		   vcpu_mask_t *stopped)
{
	struct timespec deadline = abs_deadline(timeout_ms < 0 ? 0 : timeout_ms);
	int result = 0;

	if (stopped)
		memset(stopped, 0, sizeof(*stopped));
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		/* Paused for the latest request made so far, not still stopped
		 * for an earlier one (whose resume may not have been applied
		 * yet): a controller resuming that one would resume a stop
		 * that is not the one it asked for. */
		struct stop_goal g = { .min_seq = atomic_load(&v->next_req_seq) };
		int r;

		if (!vcpu_mask_test(mask, i))
			continue;
		r = wait_stopped(vm, v, &g, timeout_ms, &deadline);
		if (r == 0 && stopped)
			vcpu_mask_set(stopped, i);
		if (r == -ETIMEDOUT || r == -ESHUTDOWN)
			return r;
		if (r == -ESRCH)
			result = -ESRCH;
	}
	return result;
}

/* RESUME_REQUEST carries the staged edits: the replay applies them too. */
static void trace_resume_request(struct vcpu *v, uint64_t data, uint64_t step,
				 int where)
{
	uint8_t buf[sizeof(v->regs) + sizeof(v->sregs) + sizeof(v->dregs)];
	uint32_t len = 0;

	if (!vtrace_on(v->vm))
		return;
	if (v->dirty & EDIT_REGS) {
		memcpy(buf + len, &v->regs, sizeof(v->regs));
		len += sizeof(v->regs);
	}
	if (v->dirty & EDIT_SREGS) {
		memcpy(buf + len, &v->sregs, sizeof(v->sregs));
		len += sizeof(v->sregs);
	}
	if (v->dirty & EDIT_DEBUGREGS) {
		memcpy(buf + len, &v->dregs, sizeof(v->dregs));
		len += sizeof(v->dregs);
	}
	vtrace_ctl_emit(v->vm, v->id, TEV_RESUME_REQUEST, data, v->dirty, step,
			where, buf, len);
}

int ctl_resume_now(struct vm *vm, unsigned id, uint64_t data, uint64_t stop,
		   uint64_t step, int where)
{
	struct vcpu *v = &vm->vcpus[id];

	pthread_mutex_lock(&v->ctl_lock);
	if (!atomic_load(&v->stopped) || (stop && v->stops != stop)) {
		pthread_mutex_unlock(&v->ctl_lock);
		return -EBUSY;
	}
	trace_resume_request(v, data, step, where);
	v->resume_data = data;
	v->resume_gen++;
	/* Cleared here, not by the VCPU, so that a wait right after this
	 * resume never sees the old stop. */
	atomic_store(&v->stopped, false);
	pthread_cond_broadcast(&v->ctl_cond);
	pthread_mutex_unlock(&v->ctl_lock);
	if (vm->sched)
		sched_make_runnable(vm, id);
	return 0;
}

/* Resumes the stop v is in now, named in *stop.  Serial: the resume takes
 * effect at the next scheduling point, and only if v is still in that
 * stop then (an earlier resume may have ended it). */
static int resume_stop(struct vm *vm, struct vcpu *v, uint64_t data,
		       uint64_t *stop)
{
	bool stopped;

	if (atomic_load(&vm->stopping))
		return -ESHUTDOWN;  /* it is leaving, resumed or not */
	pthread_mutex_lock(&v->ctl_lock);
	stopped = atomic_load(&v->stopped);
	*stop = v->stops;
	pthread_mutex_unlock(&v->ctl_lock);
	if (!stopped)
		return -EBUSY;
	if (!vm->sched)
		return ctl_resume_now(vm, v->id, data, *stop, 0, 0);
	return sched_submit_resume(vm, v->id, data, *stop);
}

int vcpu_resume(struct vm *vm, unsigned id, uint64_t data)
{
	struct vcpu *v = lookup(vm, id);
	uint64_t stop;

	if (!v)
		return -EINVAL;
	return resume_stop(vm, v, data, &stop);
}

/* Resumes v until it is running with every request made to it taken. */
static int release_one(struct vm *vm, struct vcpu *v, uint64_t data, int *n)
{
	struct stop_goal g = { .or_running = true };

	for (;;) {
		int r;

		if (atomic_load(&vm->stopping))
			return -ESHUTDOWN;
		g.min_seq = atomic_load(&v->next_req_seq);
		r = wait_stopped(vm, v, &g, -1, NULL);
		if (r)
			return r;
		r = resume_stop(vm, v, data, &g.not_stop);
		if (r)
			return r == -EBUSY ? 0 : r;  /* running: done */
		(*n)++;
	}
}

int vm_release_vcpus(struct vm *vm, const vcpu_mask_t *mask, uint64_t data)
{
	int n = 0;

	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		if (vcpu_mask_test(mask, i) &&
		    release_one(vm, &vm->vcpus[i], data, &n) == -ESHUTDOWN)
			return -ESHUTDOWN;
	return n;
}

int vm_resume_vcpus(struct vm *vm, const vcpu_mask_t *mask, uint64_t data)
{
	int n = 0;

	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		if (vcpu_mask_test(mask, i) && vcpu_resume(vm, i, data) == 0)
			n++;
	return n;
}

int vcpu_wait_event(struct vm *vm, unsigned id, struct vcpu_event *ev,
		    int timeout_ms)
{
	struct vcpu *v = lookup(vm, id);
	struct timespec deadline = abs_deadline(timeout_ms < 0 ? 0 : timeout_ms);
	int r;

	if (!v)
		return -EINVAL;
	r = wait_stopped(vm, v, &(struct stop_goal){ 0 }, timeout_ms, &deadline);
	if (r)
		return r;
	pthread_mutex_lock(&v->ctl_lock);
	/* An event already returned must be resumed before the next wait. */
	r = -EBUSY;
	if (atomic_load(&v->stopped) && !v->event_returned) {
		v->event_returned = true;
		*ev = v->event;
		r = 0;
	}
	pthread_mutex_unlock(&v->ctl_lock);
	return r;
}

bool vcpu_is_stopped(struct vm *vm, unsigned id)
{
	struct vcpu *v = lookup(vm, id);

	return v && atomic_load(&v->stopped);
}

/* Makes sure the snapshot holds `what`, asking the stopped VCPU thread to
 * fetch it.  Called with ctl_lock held; -EBUSY if the VCPU left its stop. */
static int need_fetched(struct vcpu *v, unsigned what)
{
	if (v->fetched & what)
		return 0;
	v->fetch_wanted |= what;
	pthread_cond_broadcast(&v->ctl_cond);
	while (!(v->fetched & what) && atomic_load(&v->stopped) &&
	       !atomic_load(&v->vm->stopping))
		pthread_cond_wait(&v->ctl_cond, &v->ctl_lock);
	return v->fetched & what ? 0 : -EBUSY;
}

/* Copies between the caller and a stopped VCPU's register snapshot. */
static int reg_access(struct vm *vm, unsigned id, void *dst, size_t off,
		      size_t len, const void *src, unsigned what)
{
	struct vcpu *v = lookup(vm, id);
	int r = -EBUSY;

	if (!v)
		return -EINVAL;
	pthread_mutex_lock(&v->ctl_lock);
	if (!atomic_load(&v->stopped))
		goto out;
	if (src) {
		memcpy((char *)v + off, src, len);
		v->dirty |= what;
		v->fetched |= what;
		r = 0;
		goto out;
	}
	r = need_fetched(v, what);
	if (!r && dst)
		memcpy(dst, (char *)v + off, len);
out:
	pthread_mutex_unlock(&v->ctl_lock);
	return r;
}

#define REG_GET(field, dst, what) \
	reg_access(vm, id, dst, offsetof(struct vcpu, field), \
		   sizeof(((struct vcpu *)0)->field), NULL, what)
#define REG_SET(field, src, edit) \
	reg_access(vm, id, NULL, offsetof(struct vcpu, field), \
		   sizeof(((struct vcpu *)0)->field), src, edit)

int vcpu_get_regs(struct vm *vm, unsigned id, struct kvm_regs *r) { return REG_GET(regs, r, EDIT_REGS); }
int vcpu_set_regs(struct vm *vm, unsigned id, const struct kvm_regs *r) { return REG_SET(regs, r, EDIT_REGS); }
int vcpu_get_sregs(struct vm *vm, unsigned id, struct kvm_sregs *s) { return REG_GET(sregs, s, EDIT_SREGS); }
int vcpu_set_sregs(struct vm *vm, unsigned id, const struct kvm_sregs *s) { return REG_SET(sregs, s, EDIT_SREGS); }
int vcpu_get_debugregs(struct vm *vm, unsigned id, struct kvm_debugregs *d) { return REG_GET(dregs, d, EDIT_DEBUGREGS); }
int vcpu_set_debugregs(struct vm *vm, unsigned id, const struct kvm_debugregs *d) { return REG_SET(dregs, d, EDIT_DEBUGREGS); }

int vcpu_stage_edits(struct vm *vm, unsigned id, unsigned mask,
		     const uint8_t *blob, uint32_t len)
{
	struct vcpu *v = lookup(vm, id);
	struct { unsigned bit; size_t off, size; } sets[] = {
		{ EDIT_REGS, offsetof(struct vcpu, regs), sizeof(v->regs) },
		{ EDIT_SREGS, offsetof(struct vcpu, sregs), sizeof(v->sregs) },
		{ EDIT_DEBUGREGS, offsetof(struct vcpu, dregs), sizeof(v->dregs) },
	};
	uint32_t pos = 0;

	if (!v)
		return -EINVAL;
	for (int i = 0; i < 3; i++) {
		int r;
		if (!(mask & sets[i].bit))
			continue;
		if (len - pos < sets[i].size)
			return -EINVAL;
		r = reg_access(vm, id, NULL, sets[i].off, sets[i].size, blob + pos,
			       sets[i].bit);
		if (r)
			return r;
		pos += sets[i].size;
	}
	return pos == len ? 0 : -EINVAL;
}

int vm_apply_recorded_pause(struct vm *vm, unsigned id, uint64_t data,
			    uint64_t step, int where)
{
	if (id >= vm->nr_vcpus || !vm->sched)
		return -EINVAL;
	sched_apply_pause(vm, id, ctl_new_seq(&vm->vcpus[id]), data, step, where);
	return 0;
}

bool vm_await_recorded_stop(struct vm *vm, unsigned id)
{
	if (id >= vm->nr_vcpus || !vm->sched || sched_is_applier(vm, id))
		return false;
	sched_await_stop(vm, id);
	return atomic_load(&vm->vcpus[id].stopped);
}

int vm_apply_recorded_resume(struct vm *vm, unsigned id, uint64_t data,
			     unsigned mask, const uint8_t *blob, uint32_t len,
			     uint64_t step, int where)
{
	int r;

	if (id >= vm->nr_vcpus)
		return -EINVAL;
	if (mask && (r = vcpu_stage_edits(vm, id, mask, blob, len)))
		return r;
	return ctl_resume_now(vm, id, data, 0, step, where);
}

/* Parallel replay: the VCPU resumes itself the way the recording did. */
static void replay_self_resume(struct vcpu *v)
{
	const struct vm_replay_hooks *h = v->vm->cfg.replay;
	const uint64_t *pending;
	const uint8_t *edits;
	unsigned mask, npending;
	uint64_t data;
	uint32_t len;

	if (h->resume_for(h->arg, v->id, &data, &mask, &edits, &len, &pending,
			  &npending))
		return;  /* none recorded: the run ended with it paused */
	for (unsigned i = 0; i < npending; i++)
		ctl_request_now(v->vm, v->id, pending[i]);
	if (mask && vcpu_stage_edits(v->vm, v->id, mask, edits, len))
		vcpu_fault(v, "replay: the recorded register edits do not apply");
	ctl_resume_now(v->vm, v->id, data, 0, 0, 0);
}

int vcpu_get_stats(struct vm *vm, unsigned id, struct vcpu_pause_stats *st)
{
	struct vcpu *v = lookup(vm, id);

	if (!v)
		return -EINVAL;
	st->requests = atomic_load(&v->stats.requests);
	st->kicks = atomic_load(&v->stats.kicks);
	st->eintr = atomic_load(&v->stats.eintr);
	st->taken = atomic_load(&v->stats.taken);
	st->coalesced = atomic_load(&v->stats.coalesced);
	st->resumed = atomic_load(&v->stats.resumed);
	return 0;
}
