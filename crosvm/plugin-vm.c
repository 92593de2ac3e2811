/* VM-wide state and queries: irqchip, PIT and clock state, identity map,
 * extensions and capabilities, CPUID and MSR lists, network config. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crosvm/plugin-priv.h"

static int vmio(struct crosvm *self, unsigned long req, const void *arg)
{
	int r = vm_ioctl(self->p->vm, req, (void *)arg);

	return r < 0 ? r : 0;
}

static int get_chip(struct crosvm *self, uint32_t chip, void *state, size_t len)
{
	struct kvm_irqchip c = { .chip_id = chip };
	int r = vmio(self, KVM_GET_IRQCHIP, &c);

	if (!r)
		memcpy(state, &c.chip, len);
	return r;
}

static int set_chip(struct crosvm *self, uint32_t chip, const void *state,
		    size_t len)
{
	struct kvm_irqchip c = { .chip_id = chip };

	memcpy(&c.chip, state, len);
	return vmio(self, KVM_SET_IRQCHIP, &c);
}

int crosvm_get_pic_state(struct crosvm *self, bool primary,
			 struct kvm_pic_state *s)
{
	return get_chip(self, primary ? KVM_IRQCHIP_PIC_MASTER :
			KVM_IRQCHIP_PIC_SLAVE, s, sizeof(*s));
}

int crosvm_set_pic_state(struct crosvm *self, bool primary,
			 const struct kvm_pic_state *s)
{
	return set_chip(self, primary ? KVM_IRQCHIP_PIC_MASTER :
			KVM_IRQCHIP_PIC_SLAVE, s, sizeof(*s));
}

int crosvm_get_ioapic_state(struct crosvm *self, struct kvm_ioapic_state *s)
{
	return get_chip(self, KVM_IRQCHIP_IOAPIC, s, sizeof(*s));
}

int crosvm_set_ioapic_state(struct crosvm *self,
			    const struct kvm_ioapic_state *s)
{
	return set_chip(self, KVM_IRQCHIP_IOAPIC, s, sizeof(*s));
}

int crosvm_get_pit_state(struct crosvm *self, struct kvm_pit_state2 *s)
{
	return vmio(self, KVM_GET_PIT2, s);
}

int crosvm_set_pit_state(struct crosvm *self, const struct kvm_pit_state2 *s)
{
	return vmio(self, KVM_SET_PIT2, s);
}

int crosvm_get_clock(struct crosvm *self, struct kvm_clock_data *c)
{
	return vmio(self, KVM_GET_CLOCK, c);
}

int crosvm_set_clock(struct crosvm *self, const struct kvm_clock_data *c)
{
	return vmio(self, KVM_SET_CLOCK, c);
}

int crosvm_set_identity_map_addr(struct crosvm *self, uint32_t addr)
{
	uint64_t a = addr;

	return vmio(self, KVM_SET_IDENTITY_MAP_ADDR, &a);
}

int crosvm_check_extension(struct crosvm *self, uint32_t ext, bool *has)
{
	int r = vm_ioctl(self->p->vm, KVM_CHECK_EXTENSION,
			 (void *)(uintptr_t)ext);

	*has = r > 0;
	return 0;
}

int crosvm_enable_capability(struct crosvm *self, uint32_t cap, uint32_t flags,
			     uint64_t args[4])
{
	return -EINVAL;  /* crosvm supported no VM capability */
}

int crosvm_net_get_config(struct crosvm *self, struct crosvm_net_config *c)
{
	return -ENODATA;  /* crosvm's answer for a VM without a tap device */
}

/* A KVM list query (cpuid2 or msr_list) into the caller's array, growing
 * the buffer while KVM says E2BIG; -E2BIG when the caller's is too small. */
static int cpuid_query(struct crosvm *self, unsigned long req, uint32_t count,
		       struct kvm_cpuid_entry2 *entries, uint32_t *out_count)
{
	struct kvm_cpuid2 *c = NULL;
	uint32_t cap = 128;
	int r;

	*out_count = 0;
	for (;;) {
		free(c);
		c = calloc(1, sizeof(*c) + cap * sizeof(*entries));
		if (!c)
			return -ENOMEM;
		c->nent = cap;
		r = vm_kvm_ioctl(self->p->vm, req, c);
		if (r != -E2BIG || cap >= 4096)
			break;
		cap *= 2;
	}
	if (r >= 0) {
		*out_count = c->nent;
		r = c->nent > count ? -E2BIG : 0;
		if (!r)
			memcpy(entries, c->entries, c->nent * sizeof(*entries));
	}
	free(c);
	return r;
}

int crosvm_get_supported_cpuid(struct crosvm *self, uint32_t count,
			       struct kvm_cpuid_entry2 *entries,
			       uint32_t *out_count)
{
	return cpuid_query(self, KVM_GET_SUPPORTED_CPUID, count, entries,
			   out_count);
}

int crosvm_get_emulated_cpuid(struct crosvm *self, uint32_t count,
			      struct kvm_cpuid_entry2 *entries,
			      uint32_t *out_count)
{
	return cpuid_query(self, KVM_GET_EMULATED_CPUID, count, entries,
			   out_count);
}

int crosvm_get_msr_index_list(struct crosvm *self, uint32_t count,
			      uint32_t *indices, uint32_t *out_count)
{
	struct kvm_msr_list *l = NULL;
	uint32_t cap = 256;
	int r;

	*out_count = 0;
	for (;;) {
		free(l);
		l = calloc(1, sizeof(*l) + cap * sizeof(uint32_t));
		if (!l)
			return -ENOMEM;
		l->nmsrs = cap;
		r = vm_kvm_ioctl(self->p->vm, KVM_GET_MSR_INDEX_LIST, l);
		if (r != -E2BIG || cap >= 65536)
			break;
		cap = l->nmsrs > cap ? l->nmsrs : cap * 2;
	}
	if (r >= 0) {
		*out_count = l->nmsrs;
		r = l->nmsrs > count ? -E2BIG : 0;
		if (!r)
			memcpy(indices, l->indices, l->nmsrs * sizeof(uint32_t));
	}
	free(l);
	return r;
}
