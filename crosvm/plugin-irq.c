/* irqfds, IRQ lines and routing.
 *
 * Plainly, an irqfd's eventfd is the one given to KVM, as in crosvm.  When
 * recording, the plugin gets an eventfd of its own instead and the library
 * passes each signal on to KVM's (vm_irqfd_signal), so that the trace has
 * it: before every resume (a signal made while the VCPUs are stopped, say
 * at INIT, replays before that resume), and from a forwarder thread for
 * signals made while they run. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "crosvm/plugin-priv.h"

struct crosvm_irq {
	int fd;            /* the plugin's */
	int kfd;           /* KVM's: fd, or when recording our own */
	int resample_fd;
	uint32_t gsi;
	struct crosvm_irq *next;  /* p->irqs (recording), under irq_lock */
};

/* Passes every pending signal on to KVM.  Called with irq_lock held. */
static void forward_locked(struct plugin *p)
{
	uint64_t n;

	if (p->irq_off)
		return;
	for (struct crosvm_irq *q = p->irqs; q; q = q->next)
		if (read(q->fd, &n, sizeof(n)) == sizeof(n))
			vm_irqfd_signal(p->vm, q->kfd, n);
}

void plugin_irq_flush(struct plugin *p)
{
	if (!p->recording)
		return;
	pthread_mutex_lock(&p->irq_lock);
	forward_locked(p);
	pthread_mutex_unlock(&p->irq_lock);
}

/* Called with irq_lock held. */
static void wake_forwarder(struct plugin *p)
{
	uint64_t one = 1;

	if (p->irq_wake_fd >= 0 && write(p->irq_wake_fd, &one, sizeof(one)) < 0)
		return;  /* the counter cannot overflow */
}

void plugin_irq_close(struct plugin *p)
{
	pthread_mutex_lock(&p->irq_lock);
	p->irq_off = true;
	wake_forwarder(p);
	pthread_mutex_unlock(&p->irq_lock);
}

/* The poll set: the wake eventfd, then every irqfd.  NULL when closed. */
static struct pollfd *poll_set(struct plugin *p, nfds_t *n)
{
	struct pollfd *fds;
	nfds_t i = 1;

	pthread_mutex_lock(&p->irq_lock);
	*n = 1;
	for (struct crosvm_irq *q = p->irqs; q; q = q->next)
		(*n)++;
	fds = p->irq_off ? NULL : calloc(*n, sizeof(*fds));
	if (fds) {
		fds[0] = (struct pollfd){ .fd = p->irq_wake_fd, .events = POLLIN };
		for (struct crosvm_irq *q = p->irqs; q; q = q->next)
			fds[i++] = (struct pollfd){ .fd = q->fd, .events = POLLIN };
	}
	pthread_mutex_unlock(&p->irq_lock);
	return fds;
}

/* Signals made while the VCPUs run.  The set is rebuilt after every wake:
 * a create or destroy writes irq_wake_fd. */
static void *forwarder(void *arg)
{
	struct plugin *p = arg;
	struct pollfd *fds;
	nfds_t nfds;

	while ((fds = poll_set(p, &nfds))) {
		uint64_t n;

		if (poll(fds, nfds, -1) > 0 && (fds[0].revents & POLLIN) &&
		    read(fds[0].fd, &n, sizeof(n)) < 0)
			perror("vcprr: crosvm irqfd forwarder");
		free(fds);
		plugin_irq_flush(p);
	}
	return NULL;
}

static int start_forwarder(struct plugin *p)
{
	pthread_t t;
	int r;

	if (p->irq_wake_fd >= 0)
		return 0;
	p->irq_wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->irq_wake_fd < 0)
		return -errno;
	r = pthread_create(&t, NULL, forwarder, p);
	if (r) {
		close(p->irq_wake_fd);
		p->irq_wake_fd = -1;
		return -r;
	}
	pthread_detach(t);
	return 0;
}

/* Recording: the plugin's eventfd is not KVM's. */
static int interpose(struct plugin *p, struct crosvm_irq *irq)
{
	int r;

	irq->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (irq->fd < 0)
		return -errno;
	pthread_mutex_lock(&p->irq_lock);
	r = start_forwarder(p);
	if (!r) {
		irq->next = p->irqs;
		p->irqs = irq;
		wake_forwarder(p);
	}
	pthread_mutex_unlock(&p->irq_lock);
	return r;
}

/* Signals made before the destroy still reach KVM, as they would have. */
static void unlink_irq(struct plugin *p, struct crosvm_irq *irq)
{
	pthread_mutex_lock(&p->irq_lock);
	forward_locked(p);
	for (struct crosvm_irq **q = &p->irqs; *q; q = &(*q)->next) {
		if (*q == irq) {
			*q = irq->next;
			wake_forwarder(p);
			break;
		}
	}
	pthread_mutex_unlock(&p->irq_lock);
}

static void free_irq(struct crosvm_irq *irq)
{
	if (irq->fd >= 0 && irq->fd != irq->kfd)
		close(irq->fd);
	if (irq->kfd >= 0)
		close(irq->kfd);
	if (irq->resample_fd >= 0)
		close(irq->resample_fd);
	free(irq);
}

int crosvm_create_irq_event(struct crosvm *self, uint32_t irq_id,
			    struct crosvm_irq **out)
{
	struct plugin *p = self->p;
	struct crosvm_irq *irq = calloc(1, sizeof(*irq));
	struct kvm_irqfd k = { .gsi = irq_id, .flags = KVM_IRQFD_FLAG_RESAMPLE };
	int r;

	if (!irq)
		return -ENOMEM;
	irq->gsi = irq_id;
	irq->kfd = irq->fd = eventfd(0, EFD_CLOEXEC);
	irq->resample_fd = eventfd(0, EFD_CLOEXEC);
	if (irq->kfd < 0 || irq->resample_fd < 0) {
		r = -errno;
		goto fail;
	}
	k.fd = irq->kfd;
	k.resamplefd = irq->resample_fd;
	r = vm_ioctl(p->vm, KVM_IRQFD, &k);
	if (r < 0)
		goto fail;
	if (p->recording && (r = interpose(p, irq)) < 0)
		goto fail_assigned;
	*out = irq;
	return 0;
fail_assigned:
	k.flags = KVM_IRQFD_FLAG_DEASSIGN;
	vm_ioctl(p->vm, KVM_IRQFD, &k);
fail:
	free_irq(irq);
	return r;
}

int crosvm_destroy_irq_event(struct crosvm *self, struct crosvm_irq **irqp)
{
	struct plugin *p = self->p;
	struct crosvm_irq *irq = *irqp;
	struct kvm_irqfd k = { .fd = irq->kfd, .gsi = irq->gsi,
			       .flags = KVM_IRQFD_FLAG_DEASSIGN };
	int r;

	if (p->recording)
		unlink_irq(p, irq);
	r = vm_ioctl(p->vm, KVM_IRQFD, &k);
	free_irq(irq);
	*irqp = NULL;
	return r < 0 ? r : 0;
}

int crosvm_irq_event_get_fd(const struct crosvm_irq *irq)
{
	return irq->fd;
}

int crosvm_irq_event_get_resample_fd(const struct crosvm_irq *irq)
{
	return irq->resample_fd;
}

int crosvm_set_irq(struct crosvm *self, uint32_t irq_id, bool active)
{
	struct kvm_irq_level l = { .irq = irq_id, .level = active };
	int r = vm_ioctl(self->p->vm, KVM_IRQ_LINE, &l);

	return r < 0 ? r : 0;
}

int crosvm_set_irq_routing(struct crosvm *self, uint32_t count,
			   const struct crosvm_irq_route *routes)
{
	struct kvm_irq_routing *t;
	int r = -EINVAL;

	t = calloc(1, sizeof(*t) + count * sizeof(t->entries[0]));
	if (!t)
		return -ENOMEM;
	t->nr = count;
	for (uint32_t i = 0; i < count; i++) {
		struct kvm_irq_routing_entry *e = &t->entries[i];
		e->gsi = routes[i].irq_id;
		if (routes[i].kind == CROSVM_IRQ_ROUTE_IRQCHIP) {
			e->type = KVM_IRQ_ROUTING_IRQCHIP;
			e->u.irqchip.irqchip = routes[i].irqchip.irqchip;
			e->u.irqchip.pin = routes[i].irqchip.pin;
		} else if (routes[i].kind == CROSVM_IRQ_ROUTE_MSI) {
			e->type = KVM_IRQ_ROUTING_MSI;
			e->u.msi.address_lo = (uint32_t)routes[i].msi.address;
			e->u.msi.address_hi = routes[i].msi.address >> 32;
			e->u.msi.data = routes[i].msi.data;
		} else {
			goto out;
		}
	}
	r = vm_ioctl(self->p->vm, KVM_SET_GSI_ROUTING, t);
	if (r > 0)
		r = 0;
out:
	free(t);
	return r;
}
