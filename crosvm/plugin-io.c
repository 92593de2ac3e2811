/* Reserved I/O ranges (IO_ACCESS events), ioeventfds, hypercall hints. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "crosvm/plugin-priv.h"

struct crosvm_io {
	int fd;
	struct kvm_ioeventfd ioev;
};

/* Called with range_lock held. */
static struct plugin_range *find_range(struct plugin *p, unsigned space,
				       uint64_t addr)
{
	for (int i = 0; i < PLUGIN_MAX_RANGES; i++) {
		struct plugin_range *r = &p->ranges[i];
		if (r->used && r->space == space && addr >= r->start &&
		    addr - r->start < r->len)
			return r;
	}
	return NULL;
}

static bool overlaps(struct plugin *p, unsigned space, uint64_t start,
		     uint64_t last)
{
	for (int i = 0; i < PLUGIN_MAX_RANGES; i++) {
		const struct plugin_range *r = &p->ranges[i];
		if (r->used && r->space == space && r->start <= last &&
		    start <= r->start + r->len - 1)
			return true;
	}
	return false;
}

static int unreserve(struct plugin *p, unsigned space, uint64_t start)
{
	for (int i = 0; i < PLUGIN_MAX_RANGES; i++) {
		struct plugin_range *r = &p->ranges[i];
		if (r->used && r->space == space && r->start == start) {
			r->used = false;
			return 0;
		}
	}
	return -ENOENT;
}

static int reserve(struct plugin *p, unsigned space, uint64_t start,
		   uint64_t len, bool async)
{
	int r = -ENOSPC;

	if (space > CROSVM_ADDRESS_SPACE_MMIO)
		return -EINVAL;
	pthread_rwlock_wrlock(&p->range_lock);
	if (len == 0) {
		r = unreserve(p, space, start);
		goto out;
	}
	if (start + len < start) {  /* wraps: crosvm's checked_add */
		r = -EINVAL;
		goto out;
	}
	/* crosvm refuses any overlap with -EPERM. */
	if (overlaps(p, space, start, start + len - 1)) {
		r = -EPERM;
		goto out;
	}
	for (int i = 0; i < PLUGIN_MAX_RANGES; i++) {
		if (p->ranges[i].used)
			continue;
		p->ranges[i] = (struct plugin_range){ .used = true, .async = async,
			.space = space, .start = start, .len = len };
		r = 0;
		break;
	}
out:
	pthread_rwlock_unlock(&p->range_lock);
	return r;
}

int crosvm_reserve_range(struct crosvm *self, uint32_t space, uint64_t start,
			 uint64_t length)
{
	return reserve(self->p, space, start, length, false);
}

int crosvm_reserve_async_write_range(struct crosvm *self, uint32_t space,
				     uint64_t start, uint64_t length)
{
	return reserve(self->p, space, start, length, true);
}

static void queue_async(struct crosvm_vcpu *vc, unsigned space, uint64_t addr,
			uint32_t len, const uint8_t *data)
{
	struct plugin_async *a;

	pthread_mutex_lock(&vc->lock);
	if (vc->qlen == PLUGIN_ASYNC_QUEUE) {
		vc->async_dropped++;  /* the plugin is not keeping up */
		goto out;
	}
	a = &vc->queue[(vc->qhead + vc->qlen++) % PLUGIN_ASYNC_QUEUE];
	a->space = space;
	a->addr = addr;
	a->len = len < 8 ? len : 8;
	memcpy(a->data, data, a->len);
	pthread_cond_broadcast(&vc->cond);
out:
	pthread_mutex_unlock(&vc->lock);
}

/* VCPU thread, at every PIO/MMIO exit. */
enum vm_io_claim plugin_claim_io(void *arg, unsigned vcpu, unsigned space,
				 uint64_t addr, uint32_t len, bool is_write,
				 const uint8_t *data)
{
	struct plugin *p = arg;
	struct plugin_range *r;
	enum vm_io_claim c = VM_IO_IGNORE;

	pthread_rwlock_rdlock(&p->range_lock);
	r = find_range(p, space == VM_SPACE_PIO ? CROSVM_ADDRESS_SPACE_IOPORT :
		       CROSVM_ADDRESS_SPACE_MMIO, addr);
	if (r && !r->async)
		c = VM_IO_STOP;
	else if (r && is_write)
		c = VM_IO_NOTIFY;
	pthread_rwlock_unlock(&p->range_lock);
	if (c == VM_IO_NOTIFY)
		queue_async(&p->vcpus[vcpu], space, addr, len, data);
	return c;
}

void plugin_vcpu_stopped(void *arg, unsigned vcpu)
{
	struct plugin *p = arg;
	struct crosvm_vcpu *vc = &p->vcpus[vcpu];

	pthread_mutex_lock(&vc->lock);
	pthread_cond_broadcast(&vc->cond);
	pthread_mutex_unlock(&vc->lock);
}

void plugin_wake_vcpus(struct plugin *p)
{
	for (unsigned i = 0; i < p->nr_vcpus; i++)
		plugin_vcpu_stopped(p, i);
}

/* --- ioeventfds ----------------------------------------------------------- */

int crosvm_create_io_event(struct crosvm *self, uint32_t space, uint64_t addr,
			   uint32_t len, const uint8_t *datamatch,
			   struct crosvm_io **out)
{
	struct crosvm_io *io;
	int r;

	if (len != 0 && len != 1 && len != 2 && len != 4 && len != 8)
		return -EINVAL;
	if (space > CROSVM_ADDRESS_SPACE_MMIO)
		return -EINVAL;
	io = calloc(1, sizeof(*io));
	if (!io)
		return -ENOMEM;
	io->fd = eventfd(0, EFD_CLOEXEC);
	if (io->fd < 0) {
		r = -errno;
		goto fail;
	}
	io->ioev = (struct kvm_ioeventfd){ .addr = addr, .len = len, .fd = io->fd };
	if (space == CROSVM_ADDRESS_SPACE_IOPORT)
		io->ioev.flags |= KVM_IOEVENTFD_FLAG_PIO;
	if (len && datamatch) {
		memcpy(&io->ioev.datamatch, datamatch, len);
		io->ioev.flags |= KVM_IOEVENTFD_FLAG_DATAMATCH;
	}
	r = vm_ioctl(self->p->vm, KVM_IOEVENTFD, &io->ioev);
	if (r < 0)
		goto fail;
	*out = io;
	return 0;
fail:
	if (io->fd >= 0)
		close(io->fd);
	free(io);
	return r;
}

int crosvm_destroy_io_event(struct crosvm *self, struct crosvm_io **iop)
{
	struct crosvm_io *io = *iop;
	int r;

	io->ioev.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
	r = vm_ioctl(self->p->vm, KVM_IOEVENTFD, &io->ioev);
	close(io->fd);
	free(io);
	*iop = NULL;
	return r < 0 ? r : 0;
}

int crosvm_io_event_fd(struct crosvm_io *io)
{
	return io->fd;
}

/* --- hypercall hints ------------------------------------------------------ */

int crosvm_set_hypercall_hint(struct crosvm *self, uint32_t count,
			      const struct crosvm_hint *hints)
{
	struct plugin *p = self->p;
	const struct crosvm_hint *h = hints;

	if (count > CROSVM_MAX_HINT_COUNT)
		return -EINVAL;
	if (count && (h->hint_version != 0 || h->_reserved != 0 ||
		      h->address == 0 || h->address_space > CROSVM_ADDRESS_SPACE_MMIO ||
		      (h->address_flags != 0 &&
		       h->address_flags != CROSVM_HINT_ON_WRITE) ||
		      h->details_count > CROSVM_MAX_HINT_DETAIL_COUNT))
		return -EINVAL;
	pthread_mutex_lock(&p->lock);
	p->has_hint = count != 0;
	if (count) {
		p->hint = *h;
		p->hint.details = NULL;  /* not kept: the caller's memory */
	}
	pthread_mutex_unlock(&p->lock);
	return 0;
}
