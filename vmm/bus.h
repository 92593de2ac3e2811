/* PIO and MMIO buses: devices registered by address range.  Registration
 * happens before the VCPUs start; lookups afterwards are read-only and so
 * need no lock. */
#ifndef VCPRR_VMM_BUS_H
#define VCPRR_VMM_BUS_H

#include <stdbool.h>
#include <stdint.h>

#define BUS_MAX_DEVICES 32

struct vcpu;
struct bus_device;

/* Handles one access of `size` bytes at `offset` into the device.  For reads
 * the handler fills data.  Returns 0, or -1 after reporting a fault with
 * vcpu_fault(). */
typedef int (*bus_access_fn)(struct bus_device *dev, struct vcpu *vcpu,
			     uint64_t offset, uint8_t *data, uint32_t size,
			     bool is_write);

struct bus_device {
	const char *name;
	uint64_t base, len;
	bus_access_fn access;
	void *priv;
};

struct bus {
	const char *kind;  /* "PIO" or "MMIO", for messages */
	struct bus_device *devs[BUS_MAX_DEVICES];
	int nr_devs;
};

/* Adds dev (owned by the caller, must outlive the bus).  Returns -1 when the
 * range overlaps another device or the bus is full. */
int bus_register(struct bus *bus, struct bus_device *dev);

/* The device covering [addr, addr + size), or NULL. */
struct bus_device *bus_find(const struct bus *bus, uint64_t addr, uint32_t size);

#endif
