/* Helpers shared by vcprr's crosvm plugin test programs.  Each program is an
 * ordinary crosvm plugin: it includes crosvm.h, links -lcrosvm_plugin and
 * exits 0 when every check passed. */
#ifndef VCPRR_TESTS_PLUGIN_UTIL_H
#define VCPRR_TESTS_PLUGIN_UTIL_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "crosvm.h"

#define CHECK(cond) do { if (!(cond)) { \
	fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
	exit(1); } } while (0)
/* A call that must return want (0 or a negative errno). */
#define EXPECT(call, want) do { int r_ = (call); if (r_ != (want)) { \
	fprintf(stderr, "%s:%d: %s returned %d, expected %d\n", __FILE__, \
		__LINE__, #call, r_, (int)(want)); exit(1); } } while (0)

#define KILL_PORT 0x3f9  /* the guests write 1 here when they are done */

/* A sealed memfd of len bytes, mapped shared at *map. */
static inline int guest_memfd(size_t len, uint8_t **map)
{
	int fd = memfd_create("guest", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	CHECK(fd >= 0);
	CHECK(ftruncate(fd, len) == 0);
	CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) == 0);
	*map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(*map != MAP_FAILED);
	return fd;
}

/* INIT: real mode, flat CS at 0, code at ip. */
static inline void init_real_mode(struct crosvm_vcpu *vcpu, uint64_t ip)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	EXPECT(crosvm_vcpu_get_sregs(vcpu, &sregs), 0);
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	sregs.ds.base = 0;
	sregs.ds.selector = 0;
	EXPECT(crosvm_vcpu_set_sregs(vcpu, &sregs), 0);
	EXPECT(crosvm_vcpu_get_regs(vcpu, &regs), 0);
	regs.rip = ip;
	regs.rflags = 2;
	EXPECT(crosvm_vcpu_set_regs(vcpu, &regs), 0);
}

/* INIT: as init_real_mode, with a stack at SS = 0, SP = sp (for guests
 * that take interrupts). */
static inline void init_real_mode_stack(struct crosvm_vcpu *vcpu, uint64_t ip,
					uint64_t sp)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	init_real_mode(vcpu, ip);
	EXPECT(crosvm_vcpu_get_sregs(vcpu, &sregs), 0);
	sregs.ss.base = 0;
	sregs.ss.selector = 0;
	EXPECT(crosvm_vcpu_set_sregs(vcpu, &sregs), 0);
	EXPECT(crosvm_vcpu_get_regs(vcpu, &regs), 0);
	regs.rsp = sp;
	EXPECT(crosvm_vcpu_set_regs(vcpu, &regs), 0);
}

static inline int is_kill(const struct crosvm_vcpu_event *e)
{
	return e->kind == CROSVM_VCPU_EVENT_KIND_IO_ACCESS &&
	       e->io_access.address_space == CROSVM_ADDRESS_SPACE_IOPORT &&
	       e->io_access.address == KILL_PORT && e->io_access.is_write;
}

#endif
