/* Plugin traces: memory, VM inputs and VCPU state (see raw-input.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <linux/kvm.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "replay/raw-input.h"
#include "traces/clock.h"
#include "vmm/controller.h"

void raw_input_init(struct replay *rp)
{
	pthread_condattr_t a;

	pthread_mutex_init(&rp->input_lock, NULL);
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&rp->input_cond, &a);
	pthread_condattr_destroy(&a);
}

/* --- eventfds ------------------------------------------------------------- */

/* The eventfds of the recorded KVM_IRQFD and KVM_IOEVENTFD settings are the
 * plugin's: replay gives KVM eventfds of its own, kept by the recorded fd
 * they stand for, so that a later deassign or signal finds them. */
static struct fdmap *fd_find(struct replay *rp, int rec, bool irq)
{
	for (unsigned i = 0; i < rp->nfds; i++)
		if (rp->fds[i].rec == rec && rp->fds[i].irq == irq)
			return &rp->fds[i];
	return NULL;
}

static void fd_drop(struct replay *rp, struct fdmap *m)
{
	close(m->fd);
	if (m->resample >= 0)
		close(m->resample);
	*m = rp->fds[--rp->nfds];
}

static int fd_new(struct replay *rp, int rec, bool irq, bool resample,
		  struct fdmap **out)
{
	struct fdmap *m;

	if (rp->nfds == sizeof(rp->fds) / sizeof(rp->fds[0]))
		return -ENOSPC;
	m = &rp->fds[rp->nfds];
	*m = (struct fdmap){ .rec = rec, .irq = irq, .resample = -1 };
	m->fd = eventfd(0, EFD_CLOEXEC);
	if (m->fd < 0)
		return -errno;
	if (resample && (m->resample = eventfd(0, EFD_CLOEXEC)) < 0) {
		close(m->fd);
		return -EMFILE;
	}
	rp->nfds++;
	*out = m;
	return 0;
}

void raw_input_free(struct replay *rp)
{
	while (rp->nfds)
		fd_drop(rp, &rp->fds[0]);
	for (unsigned i = 0; i < rp->nmaps; i++)
		munmap(rp->maps[i].host, rp->maps[i].len);
	pthread_mutex_destroy(&rp->input_lock);
	pthread_cond_destroy(&rp->input_cond);
}

/* A recorded KVM_IRQFD or KVM_IOEVENTFD, with replay's eventfds. */
static int apply_eventfd_setting(struct replay *rp, unsigned long req,
				 void *arg)
{
	struct kvm_ioeventfd *io = arg;
	struct kvm_irqfd *irq = arg;
	bool is_irq = req == KVM_IRQFD;
	int *fdp = is_irq ? (int *)&irq->fd : &io->fd;
	bool deassign = is_irq ? irq->flags & KVM_IRQFD_FLAG_DEASSIGN :
			io->flags & KVM_IOEVENTFD_FLAG_DEASSIGN;
	struct fdmap *m = fd_find(rp, *fdp, is_irq);
	int r;

	if (deassign) {
		if (!m)
			return -ENOENT;
		*fdp = m->fd;
		r = vm_ioctl(rp->vm, req, arg);
		fd_drop(rp, m);
		return r;
	}
	r = fd_new(rp, *fdp, is_irq,
		   is_irq && (irq->flags & KVM_IRQFD_FLAG_RESAMPLE), &m);
	if (r)
		return r;
	*fdp = m->fd;
	if (is_irq)
		irq->resamplefd = m->resample;
	r = vm_ioctl(rp->vm, req, arg);
	if (r < 0)
		fd_drop(rp, m);
	return r;
}

/* A VM input as the plugin made it: a VM setting, or an irqfd signal. */
static int apply_input(struct replay *rp, const struct trace_event *ev,
		       const uint8_t *pl)
{
	union {
		struct kvm_ioeventfd io;
		struct kvm_irqfd irq;
		uint8_t raw[TRACE_MAX_PAYLOAD];
	} a;
	struct fdmap *f;
	int r;

	if (ev->type == TEV_IRQFD_SIGNAL) {
		f = fd_find(rp, (int)ev->a0, true);
		if (!f)
			return -ENOENT;
		return write(f->fd, &ev->a2, 8) == 8 ? 0 : -errno;
	}
	memset(&a, 0, sizeof(a));
	if (ev->payload_len)
		memcpy(&a, pl, ev->payload_len);
	if ((ev->a0 == KVM_IOEVENTFD && ev->payload_len >= sizeof(a.io)) ||
	    (ev->a0 == KVM_IRQFD && ev->payload_len >= sizeof(a.irq)))
		r = apply_eventfd_setting(rp, ev->a0, &a);
	else
		r = vm_ioctl(rp->vm, ev->a0, &a);
	return r < 0 ? r : 0;
}

/* --- before the start ------------------------------------------------------ */

static int add_region(struct replay *rp, const struct trace_event *m,
		      char *err, size_t errlen)
{
	void *host;
	int r;

	if (rp->nmaps == sizeof(rp->maps) / sizeof(rp->maps[0]) ||
	    m->a2 == 0 || m->a2 > VM_MAX_MEM)
		return -EINVAL;
	host = mmap(NULL, m->a2, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (host == MAP_FAILED)
		return -ENOMEM;
	rp->maps[rp->nmaps].host = host;
	rp->maps[rp->nmaps++].len = m->a2;
	r = vm_add_memory(rp->vm, m->a1, m->a2, host, (unsigned)m->a3);
	if (r < 0)
		snprintf(err, errlen, "cannot map the recorded memory at %#llx: "
			 "%s", (unsigned long long)m->a1, strerror(-r));
	return r < 0 ? -1 : 0;
}

int raw_build_memory(struct replay *rp, char *err, size_t errlen)
{
	const struct trace_event *m;
	void *host;
	int r;

	for (; (m = stream_peek(&rp->memory)); stream_next(&rp->memory)) {
		if (m->type == TEV_VM_IOCTL || m->type == TEV_IRQFD_SIGNAL) {
			r = apply_input(rp, m, rp->memory.pl);
			if (r < 0) {
				snprintf(err, errlen, "the recorded %s (a0=%#llx) "
					 "fails here: %s", trace_event_name(m->type),
					 (unsigned long long)m->a0, strerror(-r));
				return -1;
			}
		} else if (m->type == TEV_MEM_DATA) {
			host = vm_guest_ptr(rp->vm, m->a0, m->payload_len);
			if (!host)
				goto bad;
			memcpy(host, rp->memory.pl, m->payload_len);
		} else if ((r = add_region(rp, m, err, errlen))) {
			if (r == -1)
				return -1;
			goto bad;
		}
	}
	if (!stream_error(rp->ts))
		return 0;
	snprintf(err, errlen, "%s", stream_error(rp->ts));
	return -1;
bad:
	snprintf(err, errlen, "bad recorded memory (event seq %llu)",
		 (unsigned long long)m->seq);
	return -1;
}

/* --- while it runs ------------------------------------------------------- */

static void input_failed(struct replay *rp, const struct trace_event *ev, int r)
{
	char why[512];

	snprintf(why, sizeof(why), "replay diverged: the recorded %s (trace seq "
		 "%llu, a0=%#llx) fails here: %s", trace_event_name(ev->type),
		 (unsigned long long)ev->seq, (unsigned long long)ev->a0,
		 strerror(-r));
	atomic_store(&rp->diverged, true);
	vm_stop(rp->vm, TEND_VMM_ERROR, 1, why);
}

/* Whether every VCPU but `self` waits in a stop that spans trace seq
 * `seq`, as all did when the plugin made that input.  Under input_lock. */
static bool others_parked(struct replay *rp, unsigned self, uint64_t seq)
{
	for (unsigned i = 0; i < rp->nr_vcpus; i++)
		if (i != self && rp->vcpus[i].parked <= seq)
			return false;
	return true;
}

void raw_apply_until(struct replay *rp, unsigned vcpu, uint64_t until)
{
	struct replay_vcpu *vs = &rp->vcpus[vcpu];
	struct stream_cursor *own = &vs->ioctls, *in = &rp->inputs;

	pthread_mutex_lock(&rp->input_lock);
	vs->parked = until;
	pthread_cond_broadcast(&rp->input_cond);
	while (!vm_stopping(rp->vm)) {
		const struct trace_event *o = stream_peek(own), *v = stream_peek(in);
		int r;

		o = o && o->seq < until ? o : NULL;
		v = v && v->seq < until ? v : NULL;
		if (o && (!v || o->seq < v->seq)) {
			vcpu_ioctl_stopped(rp->vm, vcpu, o->a0, own->pl);
			stream_next(own);
			continue;
		}
		if (!v)
			break;
		if (v->a1 != VM_INPUT_NEUTRAL && !others_parked(rp, vcpu, v->seq)) {
			struct timespec t = mono_deadline(10);

			pthread_cond_timedwait(&rp->input_cond, &rp->input_lock, &t);
			continue;
		}
		r = apply_input(rp, v, in->pl);
		if (r)
			input_failed(rp, v, r);
		stream_next(in);
		pthread_cond_broadcast(&rp->input_cond);
	}
	vs->parked = 0;
	pthread_mutex_unlock(&rp->input_lock);
}

void raw_park_for_good(struct replay *rp, unsigned vcpu)
{
	if (!rp->raw)
		return;
	pthread_mutex_lock(&rp->input_lock);
	rp->vcpus[vcpu].parked = UINT64_MAX;
	pthread_cond_broadcast(&rp->input_cond);
	pthread_mutex_unlock(&rp->input_lock);
}

enum vm_io_claim raw_claim_io(void *arg, unsigned vcpu, unsigned space,
			      uint64_t addr, uint32_t len, bool is_write,
			      const uint8_t *data)
{
	struct replay *rp = arg;
	const struct trace_event *w = stream_peek(&rp->vcpus[vcpu].own);

	if (!w || w->type != TEV_IO_ACCESS || w->a0 != space || w->a1 != addr)
		return VM_IO_IGNORE;
	return tev_access_async(w->a2) ? VM_IO_NOTIFY : VM_IO_STOP;
}

void raw_describe_unplaced(const struct replay *rp, char *err, size_t len)
{
	const struct trace_event *u = &rp->unplaced;

	if (u->type == TEV_IRQFD_SIGNAL)
		snprintf(err, len, "cannot replay: the plugin signalled an irqfd "
			 "while a VCPU was running (trace seq %llu); where the "
			 "interrupt reached the guest was not recorded",
			 (unsigned long long)u->seq);
	else
		snprintf(err, len, "cannot replay: the plugin made a VM setting "
			 "(ioctl %#llx) while a VCPU was running (trace seq %llu); "
			 "where it reached the guest was not recorded",
			 (unsigned long long)u->a0, (unsigned long long)u->seq);
}
