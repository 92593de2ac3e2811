/* Landing recorded pauses in a parallel replay (see land.h). */
#include <stdarg.h>
#include <stdio.h>
#include <sys/ioctl.h>

#include "traces/clock.h"
#include "vmm/end.h"
#include "vmm/handshake.h"
#include "vmm/kick.h"
#include "vmm/land.h"

#define LAND_MAX_HITS 200000  /* breakpoint hits before giving up */

static int set_debug(struct vcpu *v, uint32_t control, uint64_t bp)
{
	struct kvm_guest_debug dbg = { .control = control };

	dbg.arch.debugreg[0] = bp;
	dbg.arch.debugreg[7] = bp ? 0x1 : 0;  /* L0: execute breakpoint */
	return ioctl(v->fd, KVM_SET_GUEST_DEBUG, &dbg);
}

static void land_stop(struct vcpu *v)
{
	if (v->landing)
		set_debug(v, 0, 0);
	v->landing = v->land_stepping = false;
}

/* Landing failed: "replay diverged: " (the run differs), or "replay gave
 * up: " (it cannot tell); the verdict reads which. */
static void land_failed(struct vcpu *v, const char *verdict, const char *fmt,
			va_list ap)
{
	char why[512];

	vsnprintf(why, sizeof(why), fmt, ap);
	land_stop(v);
	v->replay_diverged = true;  /* its own report, not the checker's */
	vcpu_fault(v, "replay %s: %s", verdict, why);
}

static void land_diverged(struct vcpu *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void land_diverged(struct vcpu *v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	land_failed(v, "diverged", fmt, ap);
	va_end(ap);
}

static void land_gave_up(struct vcpu *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void land_gave_up(struct vcpu *v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	land_failed(v, "gave up", fmt, ap);
	va_end(ap);
}

/* At the recorded position: the recorded requests go out, and the pause
 * check that follows takes the last.  At the end's: it waits for the stop
 * (a halted VCPU sleeps in its HLT, where the stop caught it). */
static void landed(struct vcpu *v, const struct vm_replay_pause *p)
{
	const struct vm_replay_hooks *h = v->vm->replay;

	land_stop(v);
	if (p->end) {
		v->land_start_ns = 0;
		if (h->at_end)
			h->at_end(h->arg, v->id);
		if (!v->halted)
			handshake_wait_stop_or_end(v);
		return;
	}
	if (h->landed)
		h->landed(h->arg, v->id, mono_ns() - v->land_start_ns);
	v->land_start_ns = 0;
	for (unsigned i = 0; i < p->nreq; i++)
		handshake_request_now(v->vm, v->id, p->data[i]);
	vm_stop_pending(v->vm, v);
}

static const char *what(const struct vm_replay_pause *p)
{
	return p->end ? "end (where the stop caught the VCPU)" : "pause";
}

#define RFLAGS_ARITH 0x8d5ull  /* CF PF AF ZF SF OF */

/* The registers with their arithmetic flags set to @flags. */
static uint64_t digest_with_flags(struct kvm_regs r, uint64_t flags)
{
	r.rflags = (r.rflags & ~RFLAGS_ARITH) | flags;
	return regs_digest(&r);
}

/* Whether @r differs from the recorded registers in the arithmetic flags
 * only: tries the 64 values of those flags against the recorded digest
 * (about a microsecond; a breakpoint visit costs far more).  Then
 * *recorded holds the recorded ones. */
static bool flags_only(const struct kvm_regs *r, uint64_t digest,
		       uint64_t *recorded)
{
	for (unsigned m = 0; m < 64; m++) {
		uint64_t f = 0;

		for (unsigned b = 0, bit = 0; bit < 12 && b < 6; bit++)
			if (RFLAGS_ARITH >> bit & 1)
				f |= (uint64_t)(m >> b++ & 1) << bit;
		if (digest_with_flags(*r, f) == digest) {
			*recorded = f;
			return true;
		}
	}
	return false;
}

/* A visit that proves the pause unlandable.  Without an instruction
 * counter, a visit is known for the recorded one only by its registers:
 * one whose registers all are the recorded ones but the arithmetic flags
 * is that instance with the flags of another computation (an atomic on
 * memory that other VCPUs write), once the next visit shows the registers
 * moved on (a loop whose registers never change could still come back
 * with the recorded flags).  True when the pause is found unlandable
 * (the VCPU then faulted with why). */
static bool passed_near_miss(struct vcpu *v, const struct vm_replay_pause *p,
			     const struct kvm_regs *r)
{
	uint64_t state = digest_with_flags(*r, 0), rec;

	if (v->near_hit && state != v->near_state) {
		land_diverged(v, "the VCPU passed the recorded %s at exit %llu, "
			      "rip %#llx, without the recorded registers: at "
			      "visit %llu of that rip every register was as "
			      "recorded but the arithmetic flags (rflags %#llx, "
			      "recorded %#llx), and the next visit moved on. "
			      "Flags set by an atomic on memory that other VCPUs "
			      "write do this: a cross-VCPU race; --sched serial "
			      "or step records such runs exactly", what(p),
			      (unsigned long long)p->exit_seq,
			      (unsigned long long)p->rip,
			      (unsigned long long)v->near_hit,
			      (unsigned long long)v->near_flags,
			      (unsigned long long)v->near_rec_flags);
		return true;
	}
	v->near_hit = 0;
	if (!flags_only(r, p->digest, &rec))
		return false;
	v->near_hit = v->land_hits + 1;
	v->near_flags = r->rflags & RFLAGS_ARITH;
	v->near_rec_flags = rec;
	v->near_state = state;
	return false;
}

/* Runs the VCPU to its next recorded pause: to the recorded exit count,
 * then (a hardware breakpoint on the recorded RIP) to the instruction where
 * the registers match, stepping over other hits. */
static void land(struct vcpu *v)
{
	const struct vm_replay_hooks *h = v->vm->replay;
	const struct vm_replay_pause *p;
	struct kvm_regs regs;

	if (h->ended && h->ended(h->arg, v->id)) {
		land_stop(v);
		handshake_wait_stop_or_end(v);  /* no stop: waits for the end */
		return;
	}
	p = h->next_pause(h->arg, v->id);
	if (!p)
		return;
	if (p->exit_seq < v->exit_seq && v->land_hits)
		return land_diverged(v, "the recorded %s at rip %#llx was never "
				     "reached with the recorded registers (%llu visits "
				     "before the next exit). In a parallel trace a value "
				     "read from memory that other VCPUs write, or flags "
				     "set by an atomic on it, does this: a cross-VCPU "
				     "race; --sched serial or step records such runs "
				     "exactly", what(p), (unsigned long long)p->rip,
				     (unsigned long long)v->land_hits);
	if (p->exit_seq < v->exit_seq)
		return land_diverged(v, "the recorded %s at exit %llu was not "
				     "reached: the VCPU is already at exit %llu",
				     what(p), (unsigned long long)p->exit_seq,
				     (unsigned long long)v->exit_seq);
	if (p->exit_seq > v->exit_seq)
		return;
	if (!v->land_start_ns)
		v->land_start_ns = mono_ns();
	/* (A pause completes the VCPU's PIO or MMIO first; a stop does not.) */
	if (v->io_pending && !p->end)
		complete_pending_io(v);
	if (v->regs_synced)
		regs = v->run->s.regs.regs;
	else if (ioctl(v->fd, KVM_GET_REGS, &regs) < 0)
		return;
	if (regs.rip == p->rip && regs_digest(&regs) == p->digest)
		return landed(v, p);
	if (!v->landing) {
		v->landing = true;
		v->land_hits = v->near_hit = 0;
		set_debug(v, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP, p->rip);
		return;
	}
	if (regs.rip != p->rip)
		return;  /* just stepped over the breakpoint: run on to it */
	if (passed_near_miss(v, p, &regs))
		return;
	if (h->visit)
		h->visit(h->arg, v->id, p->rip, v->land_hits + 1);
	/* Without an instruction counter nothing says how many visits the
	 * recorded one is: past the bound the trace cannot be replayed. */
	if (++v->land_hits > LAND_MAX_HITS)
		return land_gave_up(v, "the recorded %s at exit %llu, rip %#llx "
				    "was not landed in %llu visits of that rip: a "
				    "loop without exits that long cannot be landed "
				    "by breakpoint (there is no instruction counter "
				    "to tell which visit the recorded one is)",
				    what(p), (unsigned long long)p->exit_seq,
				    (unsigned long long)p->rip,
				    (unsigned long long)LAND_MAX_HITS);
	/* Step over this instance, then re-arm.  (Setting RFLAGS.RF through
	 * sync regs does not suppress the breakpoint on every host.) */
	v->land_stepping = true;
	set_debug(v, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP, 0);
}

/* A debug exit that belongs to landing: not a guest exit.  True if so. */
static bool own_exit(struct vcpu *v)
{
	const struct vm_replay_hooks *h = v->vm->replay;
	const struct vm_replay_pause *p;

	if (!v->landing || v->run->exit_reason != KVM_EXIT_DEBUG)
		return false;
	if (v->land_stepping) {
		v->land_stepping = false;
		p = h->next_pause(h->arg, v->id);
		set_debug(v, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP,
			  p ? p->rip : 0);
	}
	return true;
}

/* Stopped: the VCPU resumes itself the way the recording did (raw mode
 * also replays the plugin's answers to INIT and IO stops). */
static void self_resume(struct vcpu *v, const struct vcpu_event *ev)
{
	const struct vm_replay_hooks *h = v->vm->replay;
	const uint64_t *pending;
	const uint8_t *edits;
	unsigned mask, npending;
	uint64_t data;
	uint32_t len;

	if (ev->kind != VCPU_EVENT_PAUSED && !v->vm->cfg.raw)
		return;
	if (h->resume_for(h->arg, v->id, &data, &mask, &edits, &len, &pending,
			  &npending))
		return;  /* none recorded: the run ended with it paused */
	for (unsigned i = 0; i < npending; i++)
		handshake_request_now(v->vm, v->id, pending[i]);
	if (mask && handshake_stage_edits(v, mask, edits, len))
		vcpu_fault(v, "replay: the recorded register edits do not apply");
	handshake_resume_now(v->vm, v->id, data, 0, 0, 0);
	vm_stop_pending(v->vm, v);
}

const struct vm_mode landing_mode = {
	.name = "replay landing",
	.land = land,
	.own_exit = own_exit,
	.stopped = self_resume,
	.request = handshake_request_now,
	.resume = handshake_resume,
};
