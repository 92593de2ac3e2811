/* A VCPU's guest-observable KVM state (see vcpu-state.h).  The restore
 * order is QEMU's (kvm_arch_put_registers), which the KVM API relies on in
 * places: registers, XSAVE, XCRs, sregs, MSRs, events, MP state, debug
 * registers. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/kvm.h"
#include "vmm/vcpu-state.h"

static struct kvm_msrs *msrs_new(uint32_t n)
{
	struct kvm_msrs *m = calloc(1, sizeof(*m) + (n ? n : 1) *
				    sizeof(m->entries[0]));

	if (m)
		m->nmsrs = n;
	return m;
}

static struct kvm_msr_list *msr_index_list(int kvm_fd, char *err, size_t errlen)
{
	struct kvm_msr_list probe = { .nmsrs = 0 }, *l;

	if (ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG) {
		snprintf(err, errlen, "KVM_GET_MSR_INDEX_LIST: %s", strerror(errno));
		return NULL;
	}
	l = calloc(1, sizeof(*l) + (probe.nmsrs + 1) * sizeof(l->indices[0]));
	if (!l) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	l->nmsrs = probe.nmsrs;
	if (ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, l) < 0) {
		snprintf(err, errlen, "KVM_GET_MSR_INDEX_LIST: %s", strerror(errno));
		free(l);
		return NULL;
	}
	return l;
}

/* KVM_GET_MSRS and KVM_SET_MSRS stop at the first MSR they refuse and
 * return how many they did: runs @req over m's entries, dropping each
 * refused one, until all that are left pass.  Returns how many are left,
 * or -1 (ioctl error). */
static int msrs_keep_passing(int fd, unsigned long req, struct kvm_msrs *m)
{
	uint32_t n = m->nmsrs, done = 0;
	struct kvm_msrs *rest = msrs_new(n);

	if (!rest)
		return -1;
	while (done < n) {
		int r;

		rest->nmsrs = n - done;
		memcpy(rest->entries, m->entries + done,
		       rest->nmsrs * sizeof(m->entries[0]));
		r = ioctl(fd, req, rest);
		if (r < 0) {
			free(rest);
			return -1;
		}
		memcpy(m->entries + done, rest->entries, r * sizeof(m->entries[0]));
		done += r;
		if (done == n)
			break;
		memmove(m->entries + done, m->entries + done + 1,
			(n - done - 1) * sizeof(m->entries[0]));
		n--;
	}
	free(rest);
	m->nmsrs = n;
	return (int)n;
}

static int probe_msrs(int kvm_fd, int vcpu_fd, struct vcpu_state_caps *caps,
		      char *err, size_t errlen)
{
	struct kvm_msr_list *l = msr_index_list(kvm_fd, err, errlen);
	struct kvm_msrs *m;
	int r = -1;

	if (!l)
		return -1;
	m = msrs_new(l->nmsrs);
	if (!m) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (uint32_t i = 0; i < l->nmsrs; i++)
		m->entries[i].index = l->indices[i];
	if (msrs_keep_passing(vcpu_fd, KVM_GET_MSRS, m) < 0 ||
	    msrs_keep_passing(vcpu_fd, KVM_SET_MSRS, m) < 0) {
		snprintf(err, errlen, "probing the MSRs (KVM_GET/SET_MSRS): %s",
			 strerror(errno));
		goto out;
	}
	caps->msr_index = calloc(m->nmsrs ? m->nmsrs : 1, sizeof(uint32_t));
	if (!caps->msr_index) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (uint32_t i = 0; i < m->nmsrs; i++)
		caps->msr_index[i] = m->entries[i].index;
	caps->nmsrs = m->nmsrs;
	r = 0;
out:
	free(m);
	free(l);
	return r;
}

int vcpu_state_probe(int kvm_fd, int vm_fd, int vcpu_fd,
		     struct vcpu_state_caps *caps, char *err, size_t errlen)
{
	int xsave2 = kvm_cap(vm_fd, KVM_CAP_XSAVE2);

	memset(caps, 0, sizeof(*caps));
	if (!kvm_cap(kvm_fd, KVM_CAP_XSAVE)) {
		snprintf(err, errlen, "snapshots need the capability KVM_CAP_XSAVE, "
			 "which this host lacks");
		return -1;
	}
	caps->xsave_size = xsave2 > (int)sizeof(struct kvm_xsave) ? (uint32_t)xsave2 :
			   sizeof(struct kvm_xsave);
	caps->xcrs = kvm_cap(kvm_fd, KVM_CAP_XCRS);
	return probe_msrs(kvm_fd, vcpu_fd, caps, err, errlen);
}

void vcpu_state_caps_free(struct vcpu_state_caps *caps)
{
	free(caps->msr_index);
	caps->msr_index = NULL;
	caps->nmsrs = 0;
}

int vcpu_state_alloc(struct vcpu_kvm_state *s, const struct vcpu_state_caps *caps)
{
	memset(s, 0, sizeof(*s));
	s->msrs = msrs_new(caps->nmsrs);
	s->xsave = calloc(1, caps->xsave_size);
	if (!s->msrs || !s->xsave) {
		vcpu_state_free(s);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < caps->nmsrs; i++)
		s->msrs->entries[i].index = caps->msr_index[i];
	return 0;
}

void vcpu_state_free(struct vcpu_kvm_state *s)
{
	free(s->msrs);
	free(s->xsave);
	s->msrs = NULL;
	s->xsave = NULL;
}

size_t vcpu_state_bytes(const struct vcpu_state_caps *caps)
{
	return sizeof(struct vcpu_kvm_state) + sizeof(struct kvm_msrs) +
	       caps->nmsrs * sizeof(struct kvm_msr_entry) + caps->xsave_size;
}

/* The fixed part (up to the pointers), the MSR values, the XSAVE head. */
#define FLAT_FIXED offsetof(struct vcpu_kvm_state, msrs)

size_t vcpu_state_flat_max(const struct vcpu_state_caps *caps)
{
	return FLAT_FIXED + caps->nmsrs * sizeof(uint64_t) + sizeof(uint32_t) +
	       caps->xsave_size;
}

size_t vcpu_state_flatten(const struct vcpu_kvm_state *s,
			  const struct vcpu_state_caps *caps, uint8_t *out)
{
	const uint8_t *x = (const uint8_t *)s->xsave;
	uint32_t xlen = caps->xsave_size;
	uint8_t *p = out;

	while (xlen && !x[xlen - 1])  /* (most of it, without AVX and later) */
		xlen--;
	memcpy(p, s, FLAT_FIXED);
	p += FLAT_FIXED;
	for (uint32_t i = 0; i < caps->nmsrs; i++, p += sizeof(uint64_t))
		memcpy(p, &s->msrs->entries[i].data, sizeof(uint64_t));
	memcpy(p, &xlen, sizeof(xlen));
	p += sizeof(xlen);
	memcpy(p, x, xlen);
	return (size_t)(p - out) + xlen;
}

int vcpu_state_unflatten(struct vcpu_kvm_state *s,
			 const struct vcpu_state_caps *caps, const uint8_t *in,
			 size_t len)
{
	size_t head = FLAT_FIXED + caps->nmsrs * sizeof(uint64_t);
	uint32_t xlen;

	if (len < head + sizeof(xlen))
		return -EINVAL;
	memcpy(&xlen, in + head, sizeof(xlen));
	if (xlen > caps->xsave_size || len != head + sizeof(xlen) + xlen)
		return -EINVAL;
	memcpy(s, in, FLAT_FIXED);
	for (uint32_t i = 0; i < caps->nmsrs; i++)
		memcpy(&s->msrs->entries[i].data, in + FLAT_FIXED +
		       i * sizeof(uint64_t), sizeof(uint64_t));
	memset(s->xsave, 0, caps->xsave_size);
	memcpy(s->xsave, in + head + sizeof(xlen), xlen);
	return 0;
}

static int failed(const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: %s", what, strerror(errno));
	return -1;
}

int vcpu_state_get(int fd, struct kvm_run *run, const struct vcpu_state_caps *caps,
		   struct vcpu_kvm_state *s, char *err, size_t errlen)
{
	int r;

	/* Registers staged for the next KVM_RUN are already the VCPU's. */
	if (run->kvm_dirty_regs & KVM_SYNC_X86_REGS)
		s->regs = run->s.regs.regs;
	else if (ioctl(fd, KVM_GET_REGS, &s->regs) < 0)
		return failed("KVM_GET_REGS", err, errlen);
	if (ioctl(fd, KVM_GET_SREGS, &s->sregs) < 0)
		return failed("KVM_GET_SREGS", err, errlen);
	r = caps->xsave_size > sizeof(struct kvm_xsave) ?
	    ioctl(fd, KVM_GET_XSAVE2, s->xsave) : ioctl(fd, KVM_GET_XSAVE, s->xsave);
	if (r < 0)
		return failed("KVM_GET_XSAVE", err, errlen);
	if (caps->xcrs && ioctl(fd, KVM_GET_XCRS, &s->xcrs) < 0)
		return failed("KVM_GET_XCRS", err, errlen);
	if (ioctl(fd, KVM_GET_DEBUGREGS, &s->dregs) < 0)
		return failed("KVM_GET_DEBUGREGS", err, errlen);
	s->msrs->nmsrs = caps->nmsrs;
	r = ioctl(fd, KVM_GET_MSRS, s->msrs);
	if (r < 0)
		return failed("KVM_GET_MSRS", err, errlen);
	if ((uint32_t)r < caps->nmsrs) {
		snprintf(err, errlen, "KVM_GET_MSRS: MSR %#x cannot be read",
			 s->msrs->entries[r].index);
		return -1;
	}
	if (ioctl(fd, KVM_GET_MP_STATE, &s->mp) < 0)
		return failed("KVM_GET_MP_STATE", err, errlen);
	if (ioctl(fd, KVM_GET_VCPU_EVENTS, &s->events) < 0)
		return failed("KVM_GET_VCPU_EVENTS", err, errlen);
	return 0;
}

int vcpu_state_set(int fd, struct kvm_run *run, const struct vcpu_state_caps *caps,
		   const struct vcpu_kvm_state *s, char *err, size_t errlen)
{
	struct kvm_vcpu_events ev = s->events;
	int r;

	run->kvm_dirty_regs = 0;
	run->immediate_exit = 0;
	run->s.regs.regs = s->regs;
	if (ioctl(fd, KVM_SET_REGS, &s->regs) < 0)
		return failed("KVM_SET_REGS", err, errlen);
	if (ioctl(fd, KVM_SET_XSAVE, s->xsave) < 0)
		return failed("KVM_SET_XSAVE", err, errlen);
	if (caps->xcrs && ioctl(fd, KVM_SET_XCRS, &s->xcrs) < 0)
		return failed("KVM_SET_XCRS", err, errlen);
	if (ioctl(fd, KVM_SET_SREGS, &s->sregs) < 0)
		return failed("KVM_SET_SREGS", err, errlen);
	r = ioctl(fd, KVM_SET_MSRS, s->msrs);
	if (r < 0)
		return failed("KVM_SET_MSRS", err, errlen);
	if ((uint32_t)r < s->msrs->nmsrs) {
		snprintf(err, errlen, "KVM_SET_MSRS: MSR %#x refused the value "
			 "%#llx", s->msrs->entries[r].index,
			 (unsigned long long)s->msrs->entries[r].data);
		return -1;
	}
	/* GET's flags say what it filled in; a pending NMI is always ours. */
	ev.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING;
	if (ioctl(fd, KVM_SET_VCPU_EVENTS, &ev) < 0)
		return failed("KVM_SET_VCPU_EVENTS", err, errlen);
	if (ioctl(fd, KVM_SET_MP_STATE, &s->mp) < 0)
		return failed("KVM_SET_MP_STATE", err, errlen);
	if (ioctl(fd, KVM_SET_DEBUGREGS, &s->dregs) < 0)
		return failed("KVM_SET_DEBUGREGS", err, errlen);
	return 0;
}
