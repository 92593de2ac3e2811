/* VCPU events and state: crosvm_vcpu_wait/resume on the controller's
 * per-VCPU stop/resume handshake (vmm/controller.h).
 *
 * A stop of the VMM (INIT, PAUSED, IO) is one crosvm event; async writes
 * come from a queue the VCPU thread fills without stopping. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crosvm/plugin-priv.h"

static void fill_io(struct crosvm_vcpu_event *e, unsigned space, uint64_t addr,
		    uint32_t len, bool is_write, bool async, uint8_t *buf)
{
	e->kind = CROSVM_VCPU_EVENT_KIND_IO_ACCESS;
	e->io_access.address_space = space == VM_SPACE_PIO ?
		CROSVM_ADDRESS_SPACE_IOPORT : CROSVM_ADDRESS_SPACE_MMIO;
	e->io_access.address = addr;
	e->io_access.data = buf;
	e->io_access.length = len;
	e->io_access.is_write = is_write;
	e->io_access.no_resume = async;
}

static void pop_async(struct crosvm_vcpu *vc, struct crosvm_vcpu_event *e)
{
	struct plugin_async *a = &vc->queue[vc->qhead];

	vc->qhead = (vc->qhead + 1) % PLUGIN_ASYNC_QUEUE;
	vc->qlen--;
	memcpy(vc->async_data, a->data, sizeof(vc->async_data));
	fill_io(e, a->space, a->addr, a->len, true, true, vc->async_data);
	vc->last_async = true;
}

static void convert(struct crosvm_vcpu *vc, const struct vcpu_event *ev,
		    struct crosvm_vcpu_event *e)
{
	vc->last_async = false;
	vc->last_read = false;
	switch (ev->kind) {
	case VCPU_EVENT_INIT:
		e->kind = CROSVM_VCPU_EVENT_KIND_INIT;
		break;
	case VCPU_EVENT_PAUSED:
		e->kind = CROSVM_VCPU_EVENT_KIND_PAUSED;
		e->user = (void *)(uintptr_t)ev->data;
		break;
	default:
		memcpy(vc->io_data, ev->io.data, sizeof(vc->io_data));
		if (!ev->io.is_write)
			memset(vc->io_data, 0, sizeof(vc->io_data));
		vc->last_read = !ev->io.is_write;
		fill_io(e, ev->io.space, ev->io.addr, ev->io.len, ev->io.is_write,
			false, vc->io_data);
	}
	vc->last_kind = e->kind;
}

static bool run_over(struct plugin *p)
{
	bool over;

	pthread_mutex_lock(&p->lock);
	over = p->ended;
	pthread_mutex_unlock(&p->lock);
	return over || vm_stopping(p->vm);
}

int crosvm_vcpu_wait(struct crosvm_vcpu *vc, struct crosvm_vcpu_event *e)
{
	struct vm *vm = vc->p->vm;
	struct vcpu_event ev;
	int r = 0;

	memset(e, 0, sizeof(*e));
	pthread_mutex_lock(&vc->lock);
	for (;;) {
		if (vc->qlen) {
			pop_async(vc, e);
			break;
		}
		/* The stop callback takes vc->lock after `stopped` is set, so
		 * a stop is either seen here or wakes the wait below. */
		if (vcpu_is_stopped(vm, vc->id) &&
		    vcpu_wait_event(vm, vc->id, &ev, 0) == 0) {
			convert(vc, &ev, e);
			break;
		}
		if (run_over(vc->p)) {
			r = -EINVAL;  /* crosvm: the VCPU pipe was closed */
			break;
		}
		pthread_cond_wait(&vc->cond, &vc->lock);
	}
	pthread_mutex_unlock(&vc->lock);
	return r;
}

int crosvm_vcpu_resume(struct crosvm_vcpu *vc)
{
	uint64_t data = 0;

	if (vc->last_async)
		return -EINVAL;  /* nothing to resume: the VCPU never stopped */
	if (vc->last_read)
		memcpy(&data, vc->io_data, sizeof(data));
	/* Interrupts raised during the stop are in the trace before it. */
	plugin_irq_flush(vc->p);
	return vcpu_resume(vc->p->vm, vc->id, data);
}

/* --- register sets the controller stages and applies on resume ------------ */

int crosvm_vcpu_get_regs(struct crosvm_vcpu *vc, struct kvm_regs *r)
{
	return vcpu_get_regs(vc->p->vm, vc->id, r);
}

int crosvm_vcpu_set_regs(struct crosvm_vcpu *vc, const struct kvm_regs *r)
{
	return vcpu_set_regs(vc->p->vm, vc->id, r);
}

int crosvm_vcpu_get_sregs(struct crosvm_vcpu *vc, struct kvm_sregs *s)
{
	return vcpu_get_sregs(vc->p->vm, vc->id, s);
}

int crosvm_vcpu_set_sregs(struct crosvm_vcpu *vc, const struct kvm_sregs *s)
{
	return vcpu_set_sregs(vc->p->vm, vc->id, s);
}

int crosvm_vcpu_get_debugregs(struct crosvm_vcpu *vc, struct kvm_debugregs *d)
{
	return vcpu_get_debugregs(vc->p->vm, vc->id, d);
}

int crosvm_vcpu_set_debugregs(struct crosvm_vcpu *vc,
			      const struct kvm_debugregs *d)
{
	return vcpu_set_debugregs(vc->p->vm, vc->id, d);
}

/* --- other state: an ioctl on the stopped VCPU ----------------------------- */

static int vio(struct crosvm_vcpu *vc, unsigned long req, const void *arg)
{
	int r = vcpu_ioctl_stopped(vc->p->vm, vc->id, req, (void *)arg);

	return r < 0 ? r : 0;
}

int crosvm_vcpu_get_fpu(struct crosvm_vcpu *vc, struct kvm_fpu *f) { return vio(vc, KVM_GET_FPU, f); }
int crosvm_vcpu_set_fpu(struct crosvm_vcpu *vc, const struct kvm_fpu *f) { return vio(vc, KVM_SET_FPU, f); }
int crosvm_vcpu_get_xcrs(struct crosvm_vcpu *vc, struct kvm_xcrs *x) { return vio(vc, KVM_GET_XCRS, x); }
int crosvm_vcpu_set_xcrs(struct crosvm_vcpu *vc, const struct kvm_xcrs *x) { return vio(vc, KVM_SET_XCRS, x); }
int crosvm_vcpu_get_lapic_state(struct crosvm_vcpu *vc, struct kvm_lapic_state *l) { return vio(vc, KVM_GET_LAPIC, l); }
int crosvm_vcpu_set_lapic_state(struct crosvm_vcpu *vc, const struct kvm_lapic_state *l) { return vio(vc, KVM_SET_LAPIC, l); }
int crosvm_vcpu_get_mp_state(struct crosvm_vcpu *vc, struct kvm_mp_state *m) { return vio(vc, KVM_GET_MP_STATE, m); }
int crosvm_vcpu_set_mp_state(struct crosvm_vcpu *vc, const struct kvm_mp_state *m) { return vio(vc, KVM_SET_MP_STATE, m); }
int crosvm_vcpu_get_vcpu_events(struct crosvm_vcpu *vc, struct kvm_vcpu_events *e) { return vio(vc, KVM_GET_VCPU_EVENTS, e); }
int crosvm_vcpu_set_vcpu_events(struct crosvm_vcpu *vc, const struct kvm_vcpu_events *e) { return vio(vc, KVM_SET_VCPU_EVENTS, e); }

int crosvm_vcpu_get_msrs(struct crosvm_vcpu *vc, uint32_t count,
			 struct kvm_msr_entry *entries, uint32_t *out_count)
{
	struct kvm_msrs *m = calloc(1, sizeof(*m) + count * sizeof(*entries));
	int r;

	*out_count = 0;
	if (!m)
		return -ENOMEM;
	m->nmsrs = count;
	memcpy(m->entries, entries, count * sizeof(*entries));
	r = vcpu_ioctl_stopped(vc->p->vm, vc->id, KVM_GET_MSRS, m);
	if (r >= 0) {
		*out_count = r;
		memcpy(entries, m->entries, r * sizeof(*entries));
		r = 0;
	}
	free(m);
	return r;
}

int crosvm_vcpu_set_msrs(struct crosvm_vcpu *vc, uint32_t count,
			 const struct kvm_msr_entry *entries)
{
	struct kvm_msrs *m = calloc(1, sizeof(*m) + count * sizeof(*entries));
	int r;

	if (!m)
		return -ENOMEM;
	m->nmsrs = count;
	memcpy(m->entries, entries, count * sizeof(*entries));
	r = vcpu_ioctl_stopped(vc->p->vm, vc->id, KVM_SET_MSRS, m);
	free(m);
	if (r >= 0 && (uint32_t)r < count)
		return -EPERM;  /* KVM refused entry r */
	return r < 0 ? r : 0;
}

int crosvm_vcpu_set_cpuid(struct crosvm_vcpu *vc, uint32_t count,
			  const struct kvm_cpuid_entry2 *entries)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + count * sizeof(*entries));
	int r;

	if (!c)
		return -ENOMEM;
	c->nent = count;
	memcpy(c->entries, entries, count * sizeof(*entries));
	r = vio(vc, KVM_SET_CPUID2, c);
	free(c);
	return r;
}

int crosvm_vcpu_enable_capability(struct crosvm_vcpu *vc, uint32_t cap,
				  uint32_t flags, uint64_t args[4])
{
	struct kvm_enable_cap e = { .cap = cap };

	if (flags || args[0] || args[1] || args[2] || args[3])
		return -EINVAL;
	if (cap != KVM_CAP_HYPERV_SYNIC && cap != KVM_CAP_HYPERV_SYNIC2)
		return -EINVAL;
	return vio(vc, KVM_ENABLE_CAP, &e);
}

int crosvm_get_hyperv_cpuid(struct crosvm_vcpu *vc, uint32_t count,
			    struct kvm_cpuid_entry2 *entries, uint32_t *out_count)
{
	uint32_t cap = 256;
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + cap * sizeof(*entries));
	int r;

	*out_count = 0;
	if (!c)
		return -ENOMEM;
	c->nent = cap;
	r = vcpu_ioctl_stopped(vc->p->vm, vc->id, KVM_GET_SUPPORTED_HV_CPUID, c);
	if (r < 0)
		goto out;
	*out_count = c->nent;
	r = c->nent > count ? -E2BIG : 0;
	if (!r)
		memcpy(entries, c->entries, c->nent * sizeof(*entries));
out:
	free(c);
	return r;
}
