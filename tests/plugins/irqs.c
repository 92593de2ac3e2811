/* Interrupts the plugin raises while the VCPUs are stopped, which a
 * recording must replay: an irqfd signalled at INIT (the guest takes IRQ 0
 * once it sets IF) and, at a later IO stop, an edge on IRQ 1 through
 * crosvm_set_irq, a VM setting made after the start.  The handlers EOI the
 * in-kernel PIC, which signals the irqfd's resample eventfd.
 *
 * Two VCPUs: VCPU 1 stays at INIT until the guest is done and the irqfd is
 * signalled once more, so replay must hold each input until both VCPUs
 * stand where they stood when it was made, and VCPU 1's resume is the last
 * event it replays. */
#include "plugin-util.h"  /* first: it asks for _GNU_SOURCE */

#include <poll.h>
#include <pthread.h>

#define IRQ_PORT 0xe0  /* the guest saw IRQ 0: raise IRQ 1 */

static const uint8_t code[] = {   /* at 0x1000 */
	0xfa,                         /* cli */
	0xc7, 0x06, 0x00, 0x00, 0x34, 0x10,  /* mov word [0], h0   vector 0 */
	0xc7, 0x06, 0x02, 0x00, 0x00, 0x00,  /* mov word [2], 0 */
	0xc7, 0x06, 0x04, 0x00, 0x3b, 0x10,  /* mov word [4], h1   vector 1 */
	0xc7, 0x06, 0x06, 0x00, 0x00, 0x00,  /* mov word [6], 0 */
	0xfb,                         /* sti */
	0x80, 0x3e, 0x00, 0x05, 0x01, /* w0: cmp byte [0x500], 1 */
	0x75, 0xf9,                   /* jne w0 */
	0xba, 0xe0, 0x00,             /* mov dx, IRQ_PORT */
	0xee,                         /* out dx, al */
	0x80, 0x3e, 0x01, 0x05, 0x01, /* w1: cmp byte [0x501], 1 */
	0x75, 0xf9,                   /* jne w1 */
	0xfa,                         /* cli */
	0xba, 0xf9, 0x03,             /* mov dx, KILL_PORT */
	0xb0, 0x01,                   /* mov al, 1 */
	0xee,                         /* out dx, al */
	0xf4,                         /* hlt */
	0xc6, 0x06, 0x00, 0x05, 0x01, /* h0 (0x1034): mov byte [0x500], 1 */
	0xeb, 0x05,                   /* jmp eoi */
	0xc6, 0x06, 0x01, 0x05, 0x01, /* h1 (0x103b): mov byte [0x501], 1 */
	0xb0, 0x20,                   /* eoi: mov al, 0x20 */
	0xe6, 0x20,                   /* out 0x20, al      PIC EOI */
	0xcf,                         /* iret */
};

static struct crosvm *g_vm;
static struct crosvm_irq *g_irq;
static int g_shutdown;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cond = PTHREAD_COND_INITIALIZER;
static bool g_done;

/* The guest handled IRQ 0 and sent its EOI: raise an edge on IRQ 1. */
static void raise_irq1(void)
{
	struct pollfd pfd = { .fd = crosvm_irq_event_get_resample_fd(g_irq),
			      .events = POLLIN };

	CHECK(poll(&pfd, 1, 0) == 1);  /* the EOI resampled the irqfd */
	EXPECT(crosvm_set_irq(g_vm, 1, true), 0);
	EXPECT(crosvm_set_irq(g_vm, 1, false), 0);
}

/* The guest is done (VCPU 0 stays stopped): signal the irqfd once more and
 * let VCPU 1 go. */
static void done(void)
{
	uint64_t one = 1;

	CHECK(write(crosvm_irq_event_get_fd(g_irq), &one, 8) == 8);
	pthread_mutex_lock(&g_lock);
	g_done = true;
	pthread_cond_broadcast(&g_cond);
	pthread_mutex_unlock(&g_lock);
}

static void *vcpu0_main(void *arg)
{
	struct crosvm_vcpu *vcpu = arg;
	struct crosvm_vcpu_event e;
	uint64_t one = 1;

	while (crosvm_vcpu_wait(vcpu, &e) == 0) {
		if (e.kind == CROSVM_VCPU_EVENT_KIND_INIT) {
			init_real_mode_stack(vcpu, 0x1000, 0x2000);
			CHECK(write(crosvm_irq_event_get_fd(g_irq), &one, 8) == 8);
		}
		if (is_kill(&e)) {
			done();
			return NULL;
		}
		if (e.kind == CROSVM_VCPU_EVENT_KIND_IO_ACCESS &&
		    e.io_access.address == IRQ_PORT)
			raise_irq1();
		EXPECT(crosvm_vcpu_resume(vcpu), 0);
	}
	return NULL;
}

/* VCPU 1 (an AP: KVM keeps it waiting for a SIPI) leaves INIT last, and
 * then ends the run. */
static void *vcpu1_main(void *arg)
{
	struct crosvm_vcpu *vcpu = arg;
	struct crosvm_vcpu_event e;

	EXPECT(crosvm_vcpu_wait(vcpu, &e), 0);
	CHECK(e.kind == CROSVM_VCPU_EVENT_KIND_INIT);
	pthread_mutex_lock(&g_lock);
	while (!g_done)
		pthread_cond_wait(&g_cond, &g_lock);
	pthread_mutex_unlock(&g_lock);
	EXPECT(crosvm_vcpu_resume(vcpu), 0);
	CHECK(write(g_shutdown, &(uint64_t){ 1 }, 8) == 8);
	return NULL;
}

int main(void)
{
	struct crosvm_memory *mem;
	struct crosvm_vcpu *vcpu0, *vcpu1;
	pthread_t t0, t1;
	uint8_t *map;
	uint64_t n;
	int fd;

	setenv("VCPRR_VCPUS", "2", 0);
	EXPECT(crosvm_connect(&g_vm), 0);
	g_shutdown = crosvm_get_shutdown_eventfd(g_vm);
	CHECK(g_shutdown >= 0);
	EXPECT(crosvm_reserve_range(g_vm, CROSVM_ADDRESS_SPACE_IOPORT, IRQ_PORT, 1), 0);
	EXPECT(crosvm_reserve_range(g_vm, CROSVM_ADDRESS_SPACE_IOPORT, KILL_PORT, 1), 0);
	EXPECT(crosvm_create_irq_event(g_vm, 0, &g_irq), 0);

	fd = guest_memfd(0x2000, &map);
	memcpy(map + 0x1000, code, sizeof(code));
	EXPECT(crosvm_create_memory(g_vm, fd, 0, 0x2000, 0, false, false, &mem), 0);
	EXPECT(crosvm_get_vcpu(g_vm, 0, &vcpu0), 0);
	EXPECT(crosvm_get_vcpu(g_vm, 1, &vcpu1), 0);
	CHECK(pthread_create(&t0, NULL, vcpu0_main, vcpu0) == 0);
	CHECK(pthread_create(&t1, NULL, vcpu1_main, vcpu1) == 0);
	EXPECT(crosvm_start(g_vm), 0);
	CHECK(read(g_shutdown, &n, sizeof(n)) == 8);
	pthread_join(t0, NULL);
	pthread_join(t1, NULL);

	CHECK(map[0x500] == 1 && map[0x501] == 1);
	EXPECT(crosvm_destroy_irq_event(g_vm, &g_irq), 0);
	EXPECT(crosvm_destroy_memory(g_vm, &mem), 0);
	EXPECT(crosvm_destroy_connection(&g_vm), 0);
	return 0;
}
