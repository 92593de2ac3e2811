/* The hypercall port: the guest writes the address of a struct vcprr_hc and
 * the VMM carries out the call.  Everything the guest passes is checked
 * against guest memory. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vmm/console.h"
#include "vmm/end.h"
#include "vmm/hypercall.h"
#include "vmm/memory.h"

/* Copies a NUL-terminated guest string (at most cap - 1 bytes) into buf.
 * Returns -1 when it starts outside guest memory. */
static int guest_string(struct vm *vm, uint64_t gpa, char *buf, size_t cap)
{
	size_t n = 0;
	const char *p = vm_guest_ptr(vm, gpa, 1);

	if (!p)
		return -1;
	while (n + 1 < cap && gpa + n < vm->mem_size && p[n]) {
		buf[n] = p[n];
		n++;
	}
	buf[n] = 0;
	return 0;
}

static void hc_assert(struct vcpu *v, const struct vcprr_hc *hc)
{
	char expr[256], file[256], why[640];

	if (guest_string(v->vm, hc->arg[0], expr, sizeof(expr)))
		strcpy(expr, "?");
	if (guest_string(v->vm, hc->arg[1], file, sizeof(file)))
		strcpy(file, "?");
	snprintf(why, sizeof(why), "vcpu %u: guest assertion failed: %s at %s:%llu",
		 v->id, expr, file, hc->arg[2]);
	if (vtrace_on(v->vm)) {
		char payload[512];
		int n = snprintf(payload, sizeof(payload), "%s%c%s", file, 0, expr);
		vcpu_event(v, TEV_GUEST_ASSERT, hc->arg[2], 0, 0, 0, payload,
			   n < (int)sizeof(payload) ? (uint32_t)n + 1 : sizeof(payload));
	}
	vm_stop(v->vm, TEND_GUEST_ASSERT, 1, why);
	v->done = true;
}

static void hc_log(struct vcpu *v, const struct vcprr_hc *hc)
{
	char line[VCPRR_HC_MAX_TEXT + 64];
	uint64_t len = hc->arg[1] < VCPRR_HC_MAX_TEXT ? hc->arg[1] : VCPRR_HC_MAX_TEXT;
	const char *text = vm_guest_ptr(v->vm, hc->arg[0], len);
	int n;

	if (!text) {
		vcpu_fault(v, "log hypercall: text at %#llx (+%llu) is outside guest "
			   "memory", hc->arg[0], hc->arg[1]);
		return;
	}
	if (vtrace_on(v->vm))
		vcpu_event(v, TEV_GUEST_LOG, 0, 0, 0, 0, text, len);
	n = snprintf(line, sizeof(line), "vcprr: vcpu %u: log: %.*s\n", v->id,
		     (int)len, text);
	pthread_mutex_lock(&v->vm->console_lock);
	if (write(v->vm->cfg.log_fd, line, n) < 0)
		n = 0;  /* best effort, like the console */
	pthread_mutex_unlock(&v->vm->console_lock);
}

static void hc_write(struct vcpu *v, const struct vcprr_hc *hc)
{
	uint64_t len = hc->arg[1];
	const char *text = vm_guest_ptr(v->vm, hc->arg[0], len);

	if (len > VCPRR_HC_MAX_TEXT || !text) {
		vcpu_fault(v, "write hypercall: buffer at %#llx (+%llu) is outside "
			   "guest memory or longer than %u", hc->arg[0],
			   (unsigned long long)len,
			   VCPRR_HC_MAX_TEXT);
		return;
	}
	console_write(v, text, len);
}

static void hc_dispatch(struct vcpu *v, struct vcprr_hc *hc)
{
	if (vtrace_on(v->vm))
		vcpu_event(v, TEV_HYPERCALL, hc->nr, hc->arg[0], hc->arg[1],
			   hc->arg[2], NULL, 0);
	switch (hc->nr) {
	case VCPRR_HC_EXIT:
		VCPU_EVENT(v, TEV_GUEST_EXIT, hc->arg[0], 0, 0);
		vm_stop(v->vm, TEND_GUEST_EXIT, (int)hc->arg[0], NULL);
		v->done = true;
		break;
	case VCPRR_HC_DONE: {
		int expected = 0, rc = (int)hc->arg[0];
		v->exit_code = rc;
		if (rc)
			atomic_compare_exchange_strong(&v->vm->first_nonzero,
						       &expected, rc);
		v->done = true;
		break;
	}
	case VCPRR_HC_ASSERT:
		hc_assert(v, hc);
		break;
	case VCPRR_HC_LOG:
		hc_log(v, hc);
		break;
	case VCPRR_HC_WRITE:
		hc_write(v, hc);
		break;
	case VCPRR_HC_YIELD:
		v->yielded = true;  /* PCT lowers the priority of a yielder */
		break;
	case VCPRR_HC_VCPU_ID:
		hc->ret = v->id;
		break;
	case VCPRR_HC_NR_VCPUS:
		hc->ret = v->vm->nr_vcpus;
		break;
	default:
		vcpu_fault(v, "unknown hypercall %llu", hc->nr);
	}
}

static int hypercall_access(struct bus_device *dev, struct vcpu *v,
			    uint64_t offset, uint8_t *data, uint32_t size,
			    bool is_write)
{
	uint32_t gpa;
	struct vcprr_hc *hc, call;

	if (!is_write || size != 4) {
		vcpu_fault(v, "hypercall port: %s of size %u (expected a 4-byte "
			   "write)", is_write ? "write" : "read", size);
		return -1;
	}
	memcpy(&gpa, data, 4);
	hc = vm_guest_ptr(v->vm, gpa, sizeof(*hc));
	if (!hc || gpa % 8) {
		vcpu_fault(v, "hypercall block at %#x is outside guest memory or "
			   "misaligned", gpa);
		return -1;
	}
	/* Other VCPUs may rewrite the block meanwhile: every argument is
	 * read once, from a copy, and checked there. */
	memcpy(&call, hc, sizeof(call));
	hc_dispatch(v, &call);
	__atomic_store_n(&hc->ret, call.ret, __ATOMIC_RELAXED);
	memory_mark_dirty(v->vm, gpa, sizeof(*hc));  /* KVM does not see it */
	return 0;
}

void hypercall_register(struct vm *vm)
{
	vm->dev_hypercall = (struct bus_device){
		.name = "hypercall", .base = VCPRR_PORT_HYPERCALL, .len = 4,
		.access = hypercall_access,
	};
	bus_register(&vm->pio, &vm->dev_hypercall);
}
