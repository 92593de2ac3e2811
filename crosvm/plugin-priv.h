/* Internal state of the crosvm plugin library, shared by the files of crosvm/. */
#ifndef VCPRR_CROSVM_PLUGIN_PRIV_H
#define VCPRR_CROSVM_PLUGIN_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "crosvm/crosvm.h"
#include "vmm/controller.h"
#include "vmm/vm.h"

#define PLUGIN_MAX_RANGES 64
#define PLUGIN_ASYNC_QUEUE 64   /* async-write notifications per VCPU */
#define PLUGIN_MAX_VCPUS   64   /* crosvm_pause_vcpus takes a 64-bit mask */

struct plugin_range {
	bool used, async;
	unsigned space;
	uint64_t start, len;
};

struct plugin_async {
	unsigned space;
	uint32_t len;
	uint64_t addr;
	uint8_t data[8];
};

struct crosvm_vcpu {
	struct plugin *p;
	unsigned id;
	/* Wakes crosvm_vcpu_wait: the VCPU stopped, an async write was
	 * queued, or the run ended. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct plugin_async queue[PLUGIN_ASYNC_QUEUE];
	unsigned qhead, qlen;
	uint64_t async_dropped;
	/* The last event returned by wait (plugin thread only). */
	uint32_t last_kind;
	bool last_async, last_read;
	uint8_t io_data[8];     /* event data; a read's answer */
	uint8_t async_data[8];
};

struct plugin {
	pthread_mutex_t lock;       /* VM-wide calls and the fields below */
	struct vm *vm;
	unsigned nr_vcpus;
	struct crosvm_vcpu *vcpus;
	int shutdown_fd;            /* eventfd */
	bool started;
	bool ended;                 /* the run is over (watcher) */
	pthread_t watcher;
	uint64_t mem_limit, mem_used;
	struct vm_raw_hooks hooks;

	pthread_rwlock_t range_lock;  /* read by VCPU threads at every exit */
	struct plugin_range ranges[PLUGIN_MAX_RANGES];

	/* Recording: irqfds passed on to KVM (plugin-irq.c). */
	pthread_mutex_t irq_lock;
	struct crosvm_irq *irqs;
	int irq_wake_fd;            /* wakes the forwarder; -1: none yet */
	bool irq_off;               /* the run is over: nothing passed on */

	struct crosvm_hint hint;    /* kept, without details (no effect) */
	bool has_hint;

	struct trace_writer *trace; /* VCPRR_RECORD */
	bool recording;             /* set once, before any VCPU exists */
	char trace_path[512];
};

struct crosvm {
	struct plugin *p;
};

/* plugin.c */
/* A number from the environment (K, M, G suffixes): @def when unset;
 * -EINVAL, said on stderr, when it is not a number. */
int plugin_env_size(const char *name, uint64_t def, uint64_t *v);

/* plugin-record.c: VCPRR_RECORD */
int plugin_record_open(struct plugin *p, char *err, size_t errlen);
void plugin_record_close(struct plugin *p, int status);

/* plugin-io.c: reserved ranges, the VMM's raw hooks */
enum vm_io_claim plugin_claim_io(void *arg, unsigned vcpu, unsigned space,
				 uint64_t addr, uint32_t len, bool is_write,
				 const uint8_t *data);
void plugin_vcpu_stopped(void *arg, unsigned vcpu);
void plugin_wake_vcpus(struct plugin *p);

/* plugin-irq.c: recording passes the plugin's irqfd signals on to KVM.
 * flush: those made so far (before a resume); close: no more, for good. */
void plugin_irq_flush(struct plugin *p);
void plugin_irq_close(struct plugin *p);

#endif
