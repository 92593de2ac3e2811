/* Small devices: the null port (benchmarks), the random port (a source of
 * nondeterministic input that replay must feed back) and an MMIO scratch
 * register file. */
#include <string.h>
#include <sys/random.h>

#include "vmm/console.h"
#include "vmm/devices.h"
#include "vmm/hypercall.h"

static int null_access(struct bus_device *dev, struct vcpu *v, uint64_t offset,
		       uint8_t *data, uint32_t size, bool is_write)
{
	if (!is_write)
		memset(data, 0, size);
	return 0;
}

static int random_access(struct bus_device *dev, struct vcpu *v, uint64_t offset,
			 uint8_t *data, uint32_t size, bool is_write)
{
	if (is_write)
		return 0;
	if (getrandom(data, size, 0) != (ssize_t)size)
		memset(data, 0x5a, size);
	return 0;
}

static int scratch_access(struct bus_device *dev, struct vcpu *v, uint64_t offset,
			  uint8_t *data, uint32_t size, bool is_write)
{
	struct vm *vm = v->vm;
	uint8_t *regs = (uint8_t *)vm->scratch;

	pthread_mutex_lock(&vm->scratch_lock);
	if (is_write)
		memcpy(regs + offset, data, size);
	else
		memcpy(data, regs + offset, size);
	pthread_mutex_unlock(&vm->scratch_lock);
	return 0;
}

void devices_register(struct vm *vm)
{
	console_register(vm);
	hypercall_register(vm);
	vm->dev_null = (struct bus_device){
		.name = "null", .base = VCPRR_PORT_NULL, .len = 4,
		.access = null_access,
	};
	vm->dev_random = (struct bus_device){
		.name = "random", .base = VCPRR_PORT_RANDOM, .len = 4,
		.access = random_access,
	};
	vm->dev_scratch = (struct bus_device){
		.name = "scratch", .base = VCPRR_MMIO_BASE,
		.len = VCPRR_MMIO_SCRATCH_LEN, .access = scratch_access,
	};
	bus_register(&vm->pio, &vm->dev_null);
	bus_register(&vm->pio, &vm->dev_random);
	bus_register(&vm->mmio, &vm->dev_scratch);
}
