/* An interrupt raised while the guest runs: the main thread signals an
 * irqfd once the VCPU has left INIT, and the guest, spinning with IF set,
 * takes it somewhere in its loop.  The run is fine; its recording cannot
 * say at which instruction the interrupt arrived, so `vcprr replay` must
 * refuse it at once (exit 126) instead of spinning forever. */
#include "plugin-util.h"  /* first: it asks for _GNU_SOURCE */

#include <pthread.h>

static const uint8_t code[] = {   /* at 0x1000 */
	0xfa,                         /* cli */
	0xc7, 0x06, 0x00, 0x00, 0x1d, 0x10,  /* mov word [0], h0   vector 0 */
	0xc7, 0x06, 0x02, 0x00, 0x00, 0x00,  /* mov word [2], 0 */
	0xfb,                         /* sti */
	0x80, 0x3e, 0x00, 0x05, 0x01, /* w0: cmp byte [0x500], 1 */
	0x75, 0xf9,                   /* jne w0 */
	0xfa,                         /* cli */
	0xba, 0xf9, 0x03,             /* mov dx, KILL_PORT */
	0xb0, 0x01,                   /* mov al, 1 */
	0xee,                         /* out dx, al */
	0xf4,                         /* hlt */
	0xc6, 0x06, 0x00, 0x05, 0x01, /* h0 (0x101d): mov byte [0x500], 1 */
	0xb0, 0x20,                   /* mov al, 0x20 */
	0xe6, 0x20,                   /* out 0x20, al      PIC EOI */
	0xcf,                         /* iret */
};

static int g_shutdown;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cond = PTHREAD_COND_INITIALIZER;
static bool g_running;

static void *vcpu_main(void *arg)
{
	struct crosvm_vcpu *vcpu = arg;
	struct crosvm_vcpu_event e;
	uint64_t one = 1;

	while (crosvm_vcpu_wait(vcpu, &e) == 0) {
		if (e.kind == CROSVM_VCPU_EVENT_KIND_INIT)
			init_real_mode_stack(vcpu, 0x1000, 0x2000);
		if (is_kill(&e)) {
			CHECK(write(g_shutdown, &one, sizeof(one)) == 8);
			return NULL;
		}
		EXPECT(crosvm_vcpu_resume(vcpu), 0);
		pthread_mutex_lock(&g_lock);
		g_running = true;  /* it runs until it has taken the interrupt */
		pthread_cond_broadcast(&g_cond);
		pthread_mutex_unlock(&g_lock);
	}
	return NULL;
}

int main(void)
{
	struct crosvm *vm;
	struct crosvm_memory *mem;
	struct crosvm_vcpu *vcpu;
	struct crosvm_irq *irq;
	pthread_t thread;
	uint64_t n, one = 1;
	uint8_t *map;
	int fd;

	EXPECT(crosvm_connect(&vm), 0);
	g_shutdown = crosvm_get_shutdown_eventfd(vm);
	CHECK(g_shutdown >= 0);
	EXPECT(crosvm_reserve_range(vm, CROSVM_ADDRESS_SPACE_IOPORT, KILL_PORT, 1), 0);
	EXPECT(crosvm_create_irq_event(vm, 0, &irq), 0);
	fd = guest_memfd(0x2000, &map);
	memcpy(map + 0x1000, code, sizeof(code));
	EXPECT(crosvm_create_memory(vm, fd, 0, 0x2000, 0, false, false, &mem), 0);
	EXPECT(crosvm_get_vcpu(vm, 0, &vcpu), 0);
	CHECK(pthread_create(&thread, NULL, vcpu_main, vcpu) == 0);
	EXPECT(crosvm_start(vm), 0);

	pthread_mutex_lock(&g_lock);
	while (!g_running)
		pthread_cond_wait(&g_cond, &g_lock);
	pthread_mutex_unlock(&g_lock);
	CHECK(write(crosvm_irq_event_get_fd(irq), &one, 8) == 8);
	CHECK(read(g_shutdown, &n, sizeof(n)) == 8);
	pthread_join(thread, NULL);
	CHECK(map[0x500] == 1);
	EXPECT(crosvm_destroy_irq_event(vm, &irq), 0);
	EXPECT(crosvm_destroy_memory(vm, &mem), 0);
	EXPECT(crosvm_destroy_connection(&vm), 0);
	return 0;
}
