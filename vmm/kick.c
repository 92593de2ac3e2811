/* Kicks.  Another thread sets a flag, then sends SIGRTMIN to the VCPU
 * thread.  With VM_KICK_IMMEDIATE_EXIT the handler sets
 * kvm_run->immediate_exit, so a signal that lands after the VCPU checked
 * its flags but before it entered KVM_RUN makes KVM_RUN return EINTR at
 * once instead of being lost.  The VCPU clears immediate_exit after every
 * return from KVM_RUN and only then re-reads its flags.
 *
 * With VM_KICK_SIGNAL_MASK (hosts without KVM_CAP_IMMEDIATE_EXIT) the signal
 * stays blocked in the VCPU thread and KVM_SET_SIGNAL_MASK unblocks it only
 * inside KVM_RUN: a kick sent outside KVM_RUN stays pending and makes the
 * next KVM_RUN return EINTR on entry.  When KVM_RUN returns, the signal is
 * blocked again and still pending, so the VCPU dequeues it with
 * sigtimedwait() or every later KVM_RUN would return EINTR at once. */
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "vmm/kick.h"

static __thread struct vcpu_thread *tls_thread
	__attribute__((tls_model("initial-exec")));

/* The VCPU the thread runs now: a kick sent before a serial switch traded
 * it away (sched.c) lands on the other VCPU as a spurious EINTR, while the
 * thread that took the kicked VCPU over reads the kicker's flag before it
 * enters the guest (see vcpu_kick). */
static void kick_handler(int sig)
{
	struct vcpu_thread *t = tls_thread;

	(void)sig;
	if (t)
		__atomic_store_n(&thread_vcpu(t)->run->immediate_exit, 1,
				 __ATOMIC_SEQ_CST);
}

static void install_handler_once(void)
{
	struct sigaction sa = { .sa_handler = kick_handler };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGRTMIN, &sa, NULL);  /* no SA_RESTART: KVM_RUN gets EINTR */
}

void kick_install_handler(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, install_handler_once);
}

int kick_thread_create(pthread_t *t, const char *name, size_t stack_size,
		       void *(*fn)(void *), void *arg, bool kicked)
{
	static const int sync_signals[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL,
					    SIGTRAP, SIGSYS, SIGABRT };
	pthread_attr_t attr;
	sigset_t set, old;
	int r;

	sigfillset(&set);
	for (size_t i = 0; i < sizeof(sync_signals) / sizeof(sync_signals[0]); i++)
		sigdelset(&set, sync_signals[i]);
	if (kicked)
		sigdelset(&set, SIGRTMIN);
	pthread_sigmask(SIG_SETMASK, &set, &old);  /* the thread inherits it */
	pthread_attr_init(&attr);
	if (stack_size)
		pthread_attr_setstacksize(&attr, stack_size);
	r = pthread_create(t, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!r)
		pthread_setname_np(*t, name);
	return -r;
}

static void block_kick_signal(sigset_t *old)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN);
	pthread_sigmask(SIG_BLOCK, &set, old);
}

static int setup_signal_mask(struct vcpu *v)
{
	struct {
		struct kvm_signal_mask hdr;
		uint8_t set[8];
	} km;
	sigset_t cur;

	block_kick_signal(&cur);
	pthread_sigmask(SIG_SETMASK, NULL, &cur);
	sigdelset(&cur, SIGRTMIN);
	km.hdr.len = 8;  /* the kernel's sigset size on x86-64 */
	memcpy(km.set, &cur, 8);
	return ioctl(v->fd, KVM_SET_SIGNAL_MASK, &km);
}

int kick_thread_init(struct vcpu_thread *t)
{
	struct vcpu *v = thread_vcpu(t);

	tls_thread = t;
	t->self = pthread_self();
	atomic_store(&v->kickable, true);
	if (v->vm->kick_mode == VM_KICK_SIGNAL_MASK && setup_signal_mask(v) < 0)
		return -1;
	return 0;
}

void kick_thread_exit(struct vcpu *v)
{
	atomic_store(&v->kickable, false);  /* no signals once it may be joined */
	tls_thread = NULL;
}

/* A serial switch that trades VCPUs stores each VCPU's new thread, then
 * the taker reads the flags (all seq_cst): a kicker that read the old
 * thread stored its flag before, and the taker sees it. */
void vcpu_kick(struct vcpu *v)
{
	if (atomic_load(&v->kickable))
		pthread_kill(atomic_load(&v->thread)->self, SIGRTMIN);
}

void kick_eat(struct vcpu *v)
{
	static const struct timespec zero;
	sigset_t set;

	if (v->vm->kick_mode != VM_KICK_SIGNAL_MASK)
		return;
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN);
	while (sigtimedwait(&set, NULL, &zero) > 0)
		;
}

void complete_pending_io(struct vcpu *v)
{
	if (v->vm->kick_mode == VM_KICK_SIGNAL_MASK)
		pthread_kill(pthread_self(), SIGRTMIN);  /* blocked: stays pending */
	else
		__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	ioctl(v->fd, KVM_RUN, 0);
	kick_clear(v);
	kick_eat(v);
	v->io_pending = false;
}

void kick_sleep_until(struct vcpu *v, bool (*wake)(struct vcpu *v))
{
	sigset_t old, wait;

	block_kick_signal(&old);
	wait = old;
	sigdelset(&wait, SIGRTMIN);
	while (!wake(v))
		sigsuspend(&wait);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}
