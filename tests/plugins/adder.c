/* A real-mode guest adds two numbers it reads from reserved I/O ports and
 * one from a reserved MMIO address (ports away from the in-kernel PIC and
 * PIT, which answer 0x20, 0x40-0x43, 0x61 ... themselves); the plugin answers the reads and checks
 * what the guest writes back.  Covers connections, the shutdown eventfd,
 * reserved ranges (IO_ACCESS reads and writes, PIO and MMIO), memory from a
 * memfd, INIT register setup, wait/resume. */
#include "plugin-util.h"  /* first: it asks for _GNU_SOURCE */

#include <pthread.h>

static const uint8_t code[] = {
	0xe4, 0xe0,             /* in al, 0xe0        -> 2 */
	0x88, 0xc3,             /* mov bl, al */
	0xe4, 0xe1,             /* in al, 0xe1        -> 40 */
	0x00, 0xd8,             /* add al, bl */
	0xba, 0xf8, 0x03,       /* mov dx, 0x3f8 */
	0xee,                   /* out dx, al         42 */
	0xa0, 0x00, 0x80,       /* mov al, [0x8000]   -> 5 (MMIO) */
	0xee,                   /* out dx, al         5 */
	0xba, 0xf9, 0x03,       /* mov dx, 0x3f9 */
	0xb0, 0x01,             /* mov al, 1 */
	0xee,                   /* out dx, al         done */
	0xf4,                   /* hlt */
};

static int g_shutdown;
static uint8_t g_out[4];
static int g_nout;

static void answer(struct crosvm_vcpu_event *e)
{
	uint8_t v = 0;

	if (e->io_access.address_space == CROSVM_ADDRESS_SPACE_IOPORT)
		v = e->io_access.address == 0xe0 ? 2 : 40;
	else if (e->io_access.address == 0x8000)
		v = 5;
	CHECK(e->io_access.length == 1);
	e->io_access.data[0] = v;
}

static void *vcpu_main(void *arg)
{
	struct crosvm_vcpu *vcpu = arg;
	struct crosvm_vcpu_event e;
	uint64_t one = 1;

	while (crosvm_vcpu_wait(vcpu, &e) == 0) {
		if (e.kind == CROSVM_VCPU_EVENT_KIND_INIT)
			init_real_mode(vcpu, 0x1000);
		if (is_kill(&e)) {
			CHECK(write(g_shutdown, &one, sizeof(one)) == 8);
			return NULL;  /* left stopped: the program exits */
		}
		if (e.kind == CROSVM_VCPU_EVENT_KIND_IO_ACCESS && !e.io_access.is_write)
			answer(&e);
		if (e.kind == CROSVM_VCPU_EVENT_KIND_IO_ACCESS && e.io_access.is_write &&
		    e.io_access.address == 0x3f8 && g_nout < 4)
			g_out[g_nout++] = e.io_access.data[0];
		EXPECT(crosvm_vcpu_resume(vcpu), 0);
	}
	return NULL;
}

int main(void)
{
	struct crosvm *vm, *vm2;
	struct crosvm_memory *mem;
	struct crosvm_vcpu *vcpu;
	pthread_t thread;
	uint8_t *map;
	uint64_t n;
	int fd;

	EXPECT(crosvm_connect(&vm), 0);
	EXPECT(crosvm_new_connection(vm, &vm2), 0);
	g_shutdown = crosvm_get_shutdown_eventfd(vm);
	CHECK(g_shutdown >= 0);
	EXPECT(crosvm_reserve_range(vm, CROSVM_ADDRESS_SPACE_IOPORT, 0xe0, 2), 0);
	EXPECT(crosvm_reserve_range(vm, CROSVM_ADDRESS_SPACE_IOPORT, 0x3f8, 2), 0);
	EXPECT(crosvm_reserve_range(vm, CROSVM_ADDRESS_SPACE_IOPORT, 0x3f9, 1), -EPERM);
	EXPECT(crosvm_reserve_range(vm, CROSVM_ADDRESS_SPACE_MMIO, 0x8000, 0x1000), 0);
	EXPECT(crosvm_reserve_range(vm, CROSVM_ADDRESS_SPACE_MMIO, 0x9000, 0), -ENOENT);

	fd = guest_memfd(0x2000, &map);
	memcpy(map + 0x1000, code, sizeof(code));
	EXPECT(crosvm_create_memory(vm, fd, 0x1000, 0x1000, 0x1000, false, false,
				    &mem), 0);
	EXPECT(crosvm_get_vcpu(vm, 0, &vcpu), 0);
	EXPECT(crosvm_get_vcpu(vm, 1, &vcpu), -ENOENT);
	EXPECT(crosvm_get_vcpu(vm, 0, &vcpu), 0);
	CHECK(pthread_create(&thread, NULL, vcpu_main, vcpu) == 0);
	EXPECT(crosvm_start(vm2), 0);
	EXPECT(crosvm_start(vm), -EINVAL);
	CHECK(read(g_shutdown, &n, sizeof(n)) == 8);
	pthread_join(thread, NULL);

	CHECK(g_nout == 2 && g_out[0] == 42 && g_out[1] == 5);
	EXPECT(crosvm_reserve_range(vm, CROSVM_ADDRESS_SPACE_IOPORT, 0xe0, 0), 0);
	EXPECT(crosvm_destroy_memory(vm, &mem), 0);
	EXPECT(crosvm_destroy_connection(&vm2), 0);
	CHECK(vm2 == NULL);
	EXPECT(crosvm_destroy_connection(&vm), 0);
	return 0;
}
