/* The stop/resume handshake (see handshake.h).
 *
 * Waiting controllers first spin briefly on the lock-free `stopped` flag: a
 * pause is usually reported within tens of microseconds, and a futex sleep
 * plus wake-up would cost as much again. */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "traces/clock.h"
#include "vmm/handshake.h"
#include "vmm/vtrace.h"

#define SPIN_NS 200000ull  /* spin this long before sleeping */

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

void handshake_init(struct vcpu *v)
{
	pthread_condattr_t a;

	pthread_mutex_init(&v->ctl_lock, NULL);
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&v->ctl_cond, &a);
	pthread_condattr_destroy(&a);
}

void handshake_destroy(struct vcpu *v)
{
	pthread_mutex_destroy(&v->ctl_lock);
	pthread_cond_destroy(&v->ctl_cond);
	pause_slot_free(&v->pause);
}

void handshake_wake(struct vcpu *v)
{
	pthread_mutex_lock(&v->ctl_lock);
	pthread_cond_broadcast(&v->ctl_cond);
	pthread_mutex_unlock(&v->ctl_lock);
}

/* --- the VCPU's side ------------------------------------------------------- */

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

/* NULL, or what KVM rejected. */
static const char *apply_edits(struct vcpu *v, unsigned dirty)
{
	if ((dirty & EDIT_SREGS) && ioctl(v->fd, KVM_SET_SREGS, &v->sregs) < 0)
		return "resume: KVM_SET_SREGS rejected the edited sregs";
	if ((dirty & EDIT_DEBUGREGS) &&
	    ioctl(v->fd, KVM_SET_DEBUGREGS, &v->dregs) < 0)
		return "resume: KVM_SET_DEBUGREGS rejected the edit";
	if (!(dirty & EDIT_REGS))
		return NULL;
	if (v->regs_synced) {
		/* Applied by the next KVM_RUN, with no ioctl of its own. */
		v->run->s.regs.regs = v->regs;
		v->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
	} else if (ioctl(v->fd, KVM_SET_REGS, &v->regs) < 0) {
		return "resume: KVM_SET_REGS rejected the edited regs";
	}
	return NULL;
}

int handshake_report_stop(struct vcpu *v, struct vcpu_event *ev, uint64_t *gen)
{
	int r = 0;

	pthread_mutex_lock(&v->ctl_lock);
	snapshot_registers(v);
	ev->pos = (struct vcpu_position){
		.exit_seq = v->exit_seq, .rip = v->regs.rip,
		.digest = regs_digest(&v->regs),
	};
	pthread_mutex_unlock(&v->ctl_lock);
	/* Logged before it shows as stopped (its resume comes after it in
	 * the trace).  Controllers leave the snapshot alone until `stopped`. */
	if (ev->kind == VCPU_EVENT_PAUSED && vtrace_pause_taken(v, ev))
		r = -EIO;
	pthread_mutex_lock(&v->ctl_lock);
	v->event = *ev;
	v->event_returned = false;
	v->dirty = 0;
	v->stops++;
	/* With `stopped`, under the lock: a waiter never sees the request
	 * taken while the VCPU does not show stopped yet. */
	if (ev->kind == VCPU_EVENT_PAUSED)
		atomic_store(&v->taken_seq, ev->req_seq);
	*gen = v->resume_gen;
	atomic_store(&v->stopped, true);
	pthread_cond_broadcast(&v->ctl_cond);
	pthread_mutex_unlock(&v->ctl_lock);
	return r;
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

int handshake_wait_resume(struct vcpu *v, uint64_t gen,
			  const struct vcpu_event *ev, uint64_t *data,
			  const char **fault)
{
	unsigned dirty;
	bool resumed;

	pthread_mutex_lock(&v->ctl_lock);
	wait_for_resume(v, gen);
	resumed = v->resume_gen != gen;
	dirty = resumed ? v->dirty : 0;
	*data = resumed ? v->resume_data : 0;
	atomic_store(&v->stopped, false);
	pthread_mutex_unlock(&v->ctl_lock);
	/* Woken by the end of the run, it was not resumed: it logs nothing,
	 * and certainly not an earlier resume's data. */
	if (!resumed)
		return 0;
	if (dirty && (*fault = apply_edits(v, dirty)))
		return -EINVAL;
	atomic_fetch_add(&v->stats.resumed, 1);
	if ((ev->kind == VCPU_EVENT_PAUSED || ev->kind == VCPU_EVENT_IO) &&
	    vtrace_vcpu_emit(v, TEV_RESUMED, *data, 0, 0, 0, NULL, 0))
		return -EIO;
	return 1;
}

/* --- a controller's side ----------------------------------------------------- */

uint64_t handshake_new_seq(struct vcpu *v)
{
	return atomic_fetch_add(&v->next_req_seq, 1) + 1;
}

int handshake_publish(struct vm *vm, unsigned id, uint64_t seq, uint64_t data,
		      uint64_t step, int where)
{
	struct vcpu *v = &vm->vcpus[id];
	uint64_t old = atomic_load(&v->published_seq);
	int r;

	atomic_fetch_add(&v->stats.requests, 1);
	/* Logged first: the trace shows PAUSE_REQUEST before the PAUSE_TAKEN
	 * it causes. */
	r = vtrace_ctl_emit(vm, id, TEV_PAUSE_REQUEST, data, seq, step, where,
			    NULL, 0) ? -EIO : 0;
	if (pause_publish(&v->pause, seq, data))
		return -ENOMEM;
	while (old < seq &&
	       !atomic_compare_exchange_weak(&v->published_seq, &old, seq))
		;
	return r;
}

int64_t handshake_request_now(struct vm *vm, unsigned id, uint64_t data)
{
	uint64_t seq = handshake_new_seq(&vm->vcpus[id]);
	int r = handshake_publish(vm, id, seq, data, 0, 0);

	return r && r != -EIO ? r : (int64_t)seq;
}

/* RESUME_REQUEST carries the staged edits: the replay applies them too.
 * With ctl_lock held. */
static int log_resume(struct vcpu *v, uint64_t data, uint64_t step, int where)
{
	uint8_t buf[sizeof(v->regs) + sizeof(v->sregs) + sizeof(v->dregs)];
	uint32_t len = 0;

	if (!vtrace_on(v->vm))
		return 0;
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
	return vtrace_ctl_emit(v->vm, v->id, TEV_RESUME_REQUEST, data, v->dirty,
			       step, where, buf, len);
}

int handshake_resume_now(struct vm *vm, unsigned id, uint64_t data,
			 uint64_t stop, uint64_t step, int where)
{
	struct vcpu *v = &vm->vcpus[id];
	int r;

	pthread_mutex_lock(&v->ctl_lock);
	if (!atomic_load(&v->stopped) || (stop && v->stops != stop)) {
		pthread_mutex_unlock(&v->ctl_lock);
		return -EBUSY;
	}
	r = log_resume(v, data, step, where) ? -EIO : 0;
	v->resume_data = data;
	v->resume_gen++;
	/* Cleared here, not by the VCPU, so that a wait right after this
	 * resume never sees the old stop. */
	atomic_store(&v->stopped, false);
	pthread_cond_broadcast(&v->ctl_cond);
	pthread_mutex_unlock(&v->ctl_lock);
	return r;
}

int handshake_resume(struct vm *vm, unsigned id, uint64_t data, uint64_t stop)
{
	return handshake_resume_now(vm, id, data, stop, 0, 0);
}

bool handshake_current_stop(struct vcpu *v, uint64_t *stop)
{
	bool stopped;

	pthread_mutex_lock(&v->ctl_lock);
	stopped = atomic_load(&v->stopped);
	*stop = v->stops;
	pthread_mutex_unlock(&v->ctl_lock);
	return stopped;
}

/* Lock-free first look (taken_seq is stored with `stopped`). */
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
	if (!atomic_load(&v->stopped))
		return g->or_running;
	return v->stops != g->not_stop &&
	       !(g->unresumed && atomic_load(&v->resume_asked) == v->stops);
}

int handshake_wait(struct vm *vm, struct vcpu *v, const struct stop_goal *g,
		   int timeout_ms, const struct timespec *deadline)
{
	uint64_t spin_end = mono_ns() + SPIN_NS;
	int r = 0;

	if (!goal_maybe(v, g))
		vcpu_hook(v, VCPU_HOOK_AWAIT);
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

void handshake_wait_stop_or_end(struct vcpu *v)
{
	vcpu_hook(v, VCPU_HOOK_AWAIT);
	pthread_mutex_lock(&v->ctl_lock);
	while (!atomic_load(&v->stopped) && !atomic_load(&v->finished) &&
	       !atomic_load(&v->vm->stopping))
		pthread_cond_wait(&v->ctl_cond, &v->ctl_lock);
	pthread_mutex_unlock(&v->ctl_lock);
}

int handshake_take_event(struct vcpu *v, struct vcpu_event *ev)
{
	int r = -EBUSY;

	pthread_mutex_lock(&v->ctl_lock);
	/* An event already returned must be resumed before the next wait. */
	if (atomic_load(&v->stopped) && !v->event_returned) {
		v->event_returned = true;
		*ev = v->event;
		r = 0;
	}
	pthread_mutex_unlock(&v->ctl_lock);
	return r;
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

int handshake_regs(struct vcpu *v, void *dst, size_t off, size_t len,
		   const void *src, unsigned what)
{
	int r = -EBUSY;

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

int handshake_stage_edits(struct vcpu *v, unsigned mask, const uint8_t *blob,
			  uint32_t len)
{
	struct { unsigned bit; size_t off, size; } sets[] = {
		{ EDIT_REGS, offsetof(struct vcpu, regs), sizeof(v->regs) },
		{ EDIT_SREGS, offsetof(struct vcpu, sregs), sizeof(v->sregs) },
		{ EDIT_DEBUGREGS, offsetof(struct vcpu, dregs), sizeof(v->dregs) },
	};
	uint32_t pos = 0;

	for (int i = 0; i < 3; i++) {
		int r;
		if (!(mask & sets[i].bit))
			continue;
		if (len - pos < sets[i].size)
			return -EINVAL;
		r = handshake_regs(v, NULL, sets[i].off, sets[i].size, blob + pos,
				   sets[i].bit);
		if (r)
			return r;
		pos += sets[i].size;
	}
	return pos == len ? 0 : -EINVAL;
}

bool handshake_hold(struct vcpu *v)
{
	pthread_mutex_lock(&v->ctl_lock);
	return atomic_load(&v->stopped);
}

void handshake_release(struct vcpu *v)
{
	pthread_mutex_unlock(&v->ctl_lock);
}

bool handshake_hold_all(struct vm *vm)
{
	bool running = false;

	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		pthread_mutex_lock(&v->ctl_lock);
		if (v->resume_gen && !atomic_load(&v->stopped) &&
		    !atomic_load(&v->finished))
			running = true;
	}
	return running;
}

void handshake_release_all(struct vm *vm)
{
	for (unsigned i = vm->nr_vcpus; i-- > 0; )
		pthread_mutex_unlock(&vm->vcpus[i].ctl_lock);
}
