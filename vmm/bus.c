/* Address-range device lookup.  A handful of devices: a linear scan is the
 * fastest and simplest structure. */
#include <stddef.h>

#include "vmm/bus.h"

int bus_register(struct bus *bus, struct bus_device *dev)
{
	if (bus->nr_devs == BUS_MAX_DEVICES || dev->len == 0)
		return -1;
	for (int i = 0; i < bus->nr_devs; i++) {
		const struct bus_device *d = bus->devs[i];
		if (dev->base < d->base + d->len && d->base < dev->base + dev->len)
			return -1;
	}
	bus->devs[bus->nr_devs++] = dev;
	return 0;
}

struct bus_device *bus_find(const struct bus *bus, uint64_t addr, uint32_t size)
{
	for (int i = 0; i < bus->nr_devs; i++) {
		struct bus_device *d = bus->devs[i];
		if (addr >= d->base && addr - d->base < d->len &&
		    size <= d->len - (addr - d->base))
			return d;
	}
	return NULL;
}
