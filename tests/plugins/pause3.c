/* Three pauses in a row on a VCPU spinning in a loop that never exits:
 *  1. a pause, taken with its user pointer;
 *  2. a second pause while the VCPU is paused: no deadlock, and the VCPU
 *     takes it as soon as it is resumed;
 *  3. a pause sent just as the VCPU leaves the second one: not missed.
 * The third resume edits rbx so that the guest leaves its loop. */
#include "plugin-util.h"  /* first: it asks for _GNU_SOURCE */

#include <pthread.h>

static const uint8_t code[] = {
	0x00, 0xd8,             /* 0: add al, bl */
	0x80, 0xfb, 0x01,       /*    cmp bl, 1 */
	0x75, 0xf9,             /*    jne 0 */
	0xba, 0xf9, 0x03,       /*    mov dx, 0x3f9 */
	0xb0, 0x01,             /*    mov al, 1 */
	0xee,                   /*    out dx, al */
	0xf4,                   /*    hlt */
};

static int g_shutdown;
static int g_tags[3];
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cond = PTHREAD_COND_INITIALIZER;
static int g_paused;       /* pauses reported so far */
static int g_released;     /* pauses main allowed to resume */
static int g_resumed;      /* resumes done */

static void *vcpu_main(void *arg)
{
	struct crosvm_vcpu *vcpu = arg;
	struct crosvm_vcpu_event e;
	uint64_t one = 1;

	while (crosvm_vcpu_wait(vcpu, &e) == 0) {
		if (e.kind == CROSVM_VCPU_EVENT_KIND_INIT) {
			struct kvm_regs regs;
			init_real_mode(vcpu, 0x1000);
			EXPECT(crosvm_vcpu_get_regs(vcpu, &regs), 0);
			regs.rax = 1;
			regs.rbx = 7;
			EXPECT(crosvm_vcpu_set_regs(vcpu, &regs), 0);
		} else if (e.kind == CROSVM_VCPU_EVENT_KIND_PAUSED) {
			pthread_mutex_lock(&g_lock);
			CHECK(g_paused < 3 && e.user == &g_tags[g_paused]);
			g_paused++;
			pthread_cond_broadcast(&g_cond);
			while (g_released < g_paused)
				pthread_cond_wait(&g_cond, &g_lock);
			if (g_paused == 3) {
				struct kvm_regs regs;
				EXPECT(crosvm_vcpu_get_regs(vcpu, &regs), 0);
				CHECK(regs.rbx == 7);
				regs.rbx = 1;  /* leave the loop */
				EXPECT(crosvm_vcpu_set_regs(vcpu, &regs), 0);
			}
			pthread_mutex_unlock(&g_lock);
		} else if (is_kill(&e)) {
			CHECK(write(g_shutdown, &one, sizeof(one)) == 8);
			return NULL;
		} else {
			CHECK(!"unexpected event");
		}
		EXPECT(crosvm_vcpu_resume(vcpu), 0);
		pthread_mutex_lock(&g_lock);
		g_resumed++;
		pthread_cond_broadcast(&g_cond);
		pthread_mutex_unlock(&g_lock);
	}
	return NULL;
}

static void wait_until(int *what, int value)
{
	pthread_mutex_lock(&g_lock);
	while (*what < value)
		pthread_cond_wait(&g_cond, &g_lock);
	pthread_mutex_unlock(&g_lock);
}

static void release(int n)
{
	pthread_mutex_lock(&g_lock);
	g_released = n;
	pthread_cond_broadcast(&g_cond);
	pthread_mutex_unlock(&g_lock);
}

int main(void)
{
	struct crosvm *vm;
	struct crosvm_memory *mem;
	struct crosvm_vcpu *vcpu;
	pthread_t thread;
	uint8_t *map;
	uint64_t n;
	int fd;

	EXPECT(crosvm_connect(&vm), 0);
	g_shutdown = crosvm_get_shutdown_eventfd(vm);
	CHECK(g_shutdown >= 0);
	EXPECT(crosvm_reserve_range(vm, CROSVM_ADDRESS_SPACE_IOPORT, KILL_PORT, 1), 0);
	fd = guest_memfd(0x1000, &map);
	memcpy(map, code, sizeof(code));
	EXPECT(crosvm_create_memory(vm, fd, 0, 0x1000, 0x1000, false, false, &mem), 0);
	EXPECT(crosvm_get_vcpu(vm, 0, &vcpu), 0);
	CHECK(pthread_create(&thread, NULL, vcpu_main, vcpu) == 0);
	EXPECT(crosvm_start(vm), 0);
	wait_until(&g_resumed, 1);                  /* INIT done: spinning */

	EXPECT(crosvm_pause_vcpus(vm, 1, &g_tags[0]), 0);
	wait_until(&g_paused, 1);
	/* 2: while paused; must neither block nor be lost. */
	EXPECT(crosvm_pause_vcpus(vm, 1, &g_tags[1]), 0);
	release(1);
	wait_until(&g_paused, 2);
	release(2);
	/* 3: as the VCPU leaves pause 2 (mask bits past the VCPUs ignored). */
	EXPECT(crosvm_pause_vcpus(vm, ~0ull, &g_tags[2]), 0);
	wait_until(&g_paused, 3);
	release(3);

	CHECK(read(g_shutdown, &n, sizeof(n)) == 8);
	pthread_join(thread, NULL);
	CHECK(g_paused == 3);
	EXPECT(crosvm_destroy_memory(vm, &mem), 0);
	EXPECT(crosvm_destroy_connection(&vm), 0);
	return 0;
}
