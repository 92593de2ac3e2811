/* The VM-wide calls and the VCPU state calls, with crosvm's errnos where
 * the host or the API says no, then a short run that uses what was set up:
 * an ioeventfd (no exit), an async-write range (the VCPU goes on), a guest
 * write into a read-only region (an MMIO IO_ACCESS), a dirty-logged region,
 * and CPUID as set at INIT. */
#include "plugin-util.h"  /* first: it asks for _GNU_SOURCE */

#include <poll.h>

static const uint8_t code[] = {
	0xba, 0x00, 0x03,             /* mov dx, 0x300 */
	0xb0, 0x11,                   /* mov al, 0x11 */
	0xee,                         /* out dx, al      ioeventfd */
	0xba, 0x10, 0x03,             /* mov dx, 0x310 */
	0xb0, 0x22,                   /* mov al, 0x22 */
	0xee,                         /* out dx, al      async write */
	0xc6, 0x06, 0x00, 0x20, 0x33, /* mov byte [0x2000], 0x33  dirty log */
	0xc6, 0x06, 0x00, 0x30, 0x44, /* mov byte [0x3000], 0x44  read-only */
	0xa0, 0x00, 0x30,             /* mov al, [0x3000]  0x55 */
	0xba, 0xf8, 0x03,             /* mov dx, 0x3f8 */
	0xee,                         /* out dx, al */
	0x66, 0x31, 0xc0,             /* xor eax, eax */
	0x0f, 0xa2,                   /* cpuid */
	0x88, 0xd8,                   /* mov al, bl */
	0xba, 0xf8, 0x03,             /* mov dx, 0x3f8   (cpuid set edx) */
	0xee,                         /* out dx, al      vendor's first byte */
	0xba, 0xf9, 0x03,             /* mov dx, 0x3f9 */
	0xb0, 0x01,                   /* mov al, 1 */
	0xee,                         /* out dx, al */
	0xf4,                         /* hlt */
};

static void vm_state(struct crosvm *vm)
{
	struct kvm_pic_state pic;
	struct kvm_ioapic_state ioapic;
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock = { 0 };

	EXPECT(crosvm_get_pic_state(vm, true, &pic), 0);
	pic.auto_eoi = 1;
	EXPECT(crosvm_set_pic_state(vm, true, &pic), 0);
	EXPECT(crosvm_get_pic_state(vm, true, &pic), 0);
	CHECK(pic.auto_eoi == 1);
	EXPECT(crosvm_get_pic_state(vm, false, &pic), 0);
	EXPECT(crosvm_get_ioapic_state(vm, &ioapic), 0);
	ioapic.id = 2;
	EXPECT(crosvm_set_ioapic_state(vm, &ioapic), 0);
	EXPECT(crosvm_get_ioapic_state(vm, &ioapic), 0);
	CHECK(ioapic.id == 2);
	EXPECT(crosvm_get_pit_state(vm, &pit), 0);
	pit.flags |= KVM_PIT_FLAGS_HPET_LEGACY;
	EXPECT(crosvm_set_pit_state(vm, &pit), 0);
	EXPECT(crosvm_get_pit_state(vm, &pit), 0);
	CHECK(pit.flags & KVM_PIT_FLAGS_HPET_LEGACY);
	EXPECT(crosvm_get_clock(vm, &clock), 0);
	CHECK(clock.clock != 0);
	clock.flags = 0;
	EXPECT(crosvm_set_clock(vm, &clock), 0);
	clock.flags = ~0u;
	CHECK(crosvm_set_clock(vm, &clock) < 0);
	EXPECT(crosvm_set_identity_map_addr(vm, 0xfeffc000), 0);
}

static void queries(struct crosvm *vm)
{
	static struct kvm_cpuid_entry2 cpuid[512];
	static uint32_t msrs[4096];
	uint32_t n;
	bool has;
	uint64_t args[4] = { 0 };
	struct crosvm_net_config net;

	EXPECT(crosvm_check_extension(vm, KVM_CAP_IRQCHIP, &has), 0);
	CHECK(has);
	EXPECT(crosvm_check_extension(vm, KVM_CAP_S390_PSW, &has), 0);
	CHECK(!has);
	EXPECT(crosvm_enable_capability(vm, 0, 0, args), -EINVAL);
	EXPECT(crosvm_get_supported_cpuid(vm, 1, cpuid, &n), -E2BIG);
	CHECK(n > 1);
	EXPECT(crosvm_get_supported_cpuid(vm, 512, cpuid, &n), 0);
	EXPECT(crosvm_get_emulated_cpuid(vm, 512, cpuid, &n), 0);
	EXPECT(crosvm_get_msr_index_list(vm, 1, msrs, &n), -E2BIG);
	EXPECT(crosvm_get_msr_index_list(vm, 4096, msrs, &n), 0);
	CHECK(n > 1);
	EXPECT(crosvm_net_get_config(vm, &net), -ENODATA);
}

static void irqs_and_hints(struct crosvm *vm)
{
	struct crosvm_irq_route routes[2] = {
		{ .irq_id = 4, .kind = CROSVM_IRQ_ROUTE_IRQCHIP,
		  .irqchip = { KVM_IRQCHIP_IOAPIC, 4 } },
		{ .irq_id = 24, .kind = CROSVM_IRQ_ROUTE_MSI,
		  .msi = { .address = 0xfee00000, .data = 0x30 } },
	};
	struct crosvm_irq_route bad = { .irq_id = 1, .kind = 7 };
	struct crosvm_hint_detail d = { .match_rax = true, .rax = 1,
					.send_sregs = true };
	struct crosvm_hint hint = { .address_space = CROSVM_ADDRESS_SPACE_IOPORT,
				    .address = 0x3f8, .details_count = 1,
				    .details = &d };
	struct crosvm_irq *irq;

	EXPECT(crosvm_set_irq_routing(vm, 2, routes), 0);
	EXPECT(crosvm_set_irq_routing(vm, 1, &bad), -EINVAL);
	EXPECT(crosvm_set_irq(vm, 4, true), 0);
	EXPECT(crosvm_set_irq(vm, 4, false), 0);
	EXPECT(crosvm_create_irq_event(vm, 4, &irq), 0);
	CHECK(crosvm_irq_event_get_fd(irq) >= 0);
	CHECK(crosvm_irq_event_get_resample_fd(irq) >= 0);
	EXPECT(crosvm_destroy_irq_event(vm, &irq), 0);
	EXPECT(crosvm_set_hypercall_hint(vm, 1, &hint), 0);
	hint.address = 0;
	EXPECT(crosvm_set_hypercall_hint(vm, 1, &hint), -EINVAL);
	EXPECT(crosvm_set_hypercall_hint(vm, 2, &hint), -EINVAL);
	EXPECT(crosvm_set_hypercall_hint(vm, 0, NULL), 0);
}

/* The VCPU state calls, at INIT. */
static void vcpu_state(struct crosvm *vm, struct crosvm_vcpu *vcpu)
{
	static struct kvm_cpuid_entry2 cpuid[512];
	struct kvm_fpu fpu;
	struct kvm_debugregs dregs;
	struct kvm_lapic_state lapic;
	struct kvm_mp_state mp;
	struct kvm_vcpu_events events;
	struct kvm_msr_entry msr = { .index = 0x174 };  /* IA32_SYSENTER_CS */
	uint64_t args[4] = { 0 };
	uint32_t n;
	int r;

	EXPECT(crosvm_vcpu_get_fpu(vcpu, &fpu), 0);
	EXPECT(crosvm_vcpu_set_fpu(vcpu, &fpu), 0);
	EXPECT(crosvm_vcpu_get_debugregs(vcpu, &dregs), 0);
	EXPECT(crosvm_vcpu_set_debugregs(vcpu, &dregs), 0);
	EXPECT(crosvm_vcpu_get_lapic_state(vcpu, &lapic), 0);
	EXPECT(crosvm_vcpu_set_lapic_state(vcpu, &lapic), 0);
	EXPECT(crosvm_vcpu_get_mp_state(vcpu, &mp), 0);
	EXPECT(crosvm_vcpu_set_mp_state(vcpu, &mp), 0);
	EXPECT(crosvm_vcpu_get_vcpu_events(vcpu, &events), 0);
	EXPECT(crosvm_vcpu_set_vcpu_events(vcpu, &events), 0);
	msr.data = 0x10;
	EXPECT(crosvm_vcpu_set_msrs(vcpu, 1, &msr), 0);
	msr.data = 0;
	EXPECT(crosvm_vcpu_get_msrs(vcpu, 1, &msr, &n), 0);
	CHECK(n == 1 && msr.data == 0x10);
	if (crosvm_check_extension(vm, KVM_CAP_XCRS, &(bool){ 0 }) == 0) {
		struct kvm_xcrs xcrs;
		r = crosvm_vcpu_get_xcrs(vcpu, &xcrs);
		CHECK(r == 0 || r == -EINVAL);
		if (r == 0)
			EXPECT(crosvm_vcpu_set_xcrs(vcpu, &xcrs), 0);
	}
	r = crosvm_get_hyperv_cpuid(vcpu, 512, cpuid, &n);
	CHECK(r == 0 || r == -EINVAL);
	EXPECT(crosvm_vcpu_enable_capability(vcpu, KVM_CAP_IRQCHIP, 0, args), -EINVAL);
	EXPECT(crosvm_get_supported_cpuid(vm, 512, cpuid, &n), 0);
	for (uint32_t i = 0; i < n; i++)
		if (cpuid[i].function == 0)
			cpuid[i].ebx = 0x7a;  /* 'z' */
	EXPECT(crosvm_vcpu_set_cpuid(vcpu, n, cpuid), 0);
	init_real_mode(vcpu, 0x1000);
}

static void memory_errors(struct crosvm *vm)
{
	struct crosvm_memory *m;
	int fd = memfd_create("unsealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	CHECK(fd >= 0 && ftruncate(fd, 0x2000) == 0);
	EXPECT(crosvm_create_memory(vm, fd, 0, 0x1000, 0x10000, false, false, &m), -EPERM);
	CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) == 0);
	EXPECT(crosvm_create_memory(vm, fd, 0x10, 0x1000, 0x10000, false, false, &m), -EINVAL);
	EXPECT(crosvm_create_memory(vm, fd, 0x1000, 0x2000, 0x10000, false, false, &m), -EINVAL);
	close(fd);
}

int main(void)
{
	struct crosvm *vm;
	struct crosvm_memory *code_mem, *dirty_mem, *ro_mem;
	struct crosvm_vcpu *vcpu;
	struct crosvm_vcpu_event e;
	struct crosvm_io *io;
	uint8_t *map, match = 0x11, dirty[8] = { 0 }, out[2];
	int fd, nout = 0, async = 0, ro_write = 0;
	uint64_t n;

	EXPECT(crosvm_connect(&vm), 0);
	vm_state(vm);
	queries(vm);
	irqs_and_hints(vm);
	memory_errors(vm);

	fd = guest_memfd(0x3000, &map);
	memcpy(map, code, sizeof(code));
	map[0x2000] = 0x55;
	EXPECT(crosvm_create_memory(vm, fd, 0, 0x1000, 0x1000, false, false, &code_mem), 0);
	EXPECT(crosvm_create_memory(vm, fd, 0x1000, 0x1000, 0x2000, false, true, &dirty_mem), 0);
	EXPECT(crosvm_create_memory(vm, fd, 0x2000, 0x1000, 0x3000, true, false, &ro_mem), 0);
	EXPECT(crosvm_create_io_event(vm, CROSVM_ADDRESS_SPACE_IOPORT, 0x300, 1, &match, &io), 0);
	EXPECT(crosvm_create_io_event(vm, CROSVM_ADDRESS_SPACE_IOPORT, 0x300, 3, &match, &io), -EINVAL);
	EXPECT(crosvm_reserve_async_write_range(vm, CROSVM_ADDRESS_SPACE_IOPORT, 0x310, 1), 0);
	EXPECT(crosvm_reserve_range(vm, CROSVM_ADDRESS_SPACE_IOPORT, 0x3f8, 2), 0);
	EXPECT(crosvm_reserve_range(vm, CROSVM_ADDRESS_SPACE_MMIO, 0x3000, 0x1000), 0);
	EXPECT(crosvm_get_vcpu(vm, 0, &vcpu), 0);
	EXPECT(crosvm_vcpu_get_fpu(vcpu, &(struct kvm_fpu){ 0 }), -EBUSY);
	EXPECT(crosvm_start(vm), 0);

	while (crosvm_vcpu_wait(vcpu, &e) == 0) {
		if (e.kind == CROSVM_VCPU_EVENT_KIND_INIT) {
			vcpu_state(vm, vcpu);
		} else if (is_kill(&e)) {
			break;
		} else if (e.io_access.no_resume) {
			CHECK(e.io_access.address == 0x310 && e.io_access.data[0] == 0x22);
			async++;
			continue;  /* the VCPU did not stop */
		} else if (e.io_access.address_space == CROSVM_ADDRESS_SPACE_MMIO) {
			CHECK(e.io_access.address == 0x3000 && e.io_access.is_write &&
			      e.io_access.data[0] == 0x44);
			ro_write++;
		} else if (nout < 2) {
			out[nout++] = e.io_access.data[0];
		}
		EXPECT(crosvm_vcpu_resume(vcpu), 0);
	}
	CHECK(async == 1 && ro_write == 1 && nout == 2);
	CHECK(out[0] == 0x55 && out[1] == 0x7a);
	CHECK(poll(&(struct pollfd){ .fd = crosvm_io_event_fd(io), .events = POLLIN }, 1, 0) == 1);
	CHECK(read(crosvm_io_event_fd(io), &n, 8) == 8 && n == 1);
	EXPECT(crosvm_memory_get_dirty_log(vm, dirty_mem, dirty), 0);
	CHECK(dirty[0] == 1 && map[0x1000] == 0x33 && map[0x2000] == 0x55);
	EXPECT(crosvm_destroy_io_event(vm, &io), 0);
	EXPECT(crosvm_destroy_memory(vm, &ro_mem), 0);
	EXPECT(crosvm_destroy_memory(vm, &dirty_mem), 0);
	EXPECT(crosvm_destroy_memory(vm, &code_mem), 0);
	EXPECT(crosvm_destroy_connection(&vm), 0);
	return 0;
}
