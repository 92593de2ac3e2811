/* Internal VM and VCPU state, shared by the files of vmm/. */
#ifndef VCPRR_VMM_VM_PRIV_H
#define VCPRR_VMM_VM_PRIV_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/guest/abi.h"
#include "vmm/vm.h"

#define CONSOLE_LINE_MAX 256

struct vcpu {
	struct vm *vm;
	unsigned id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool thread_started;
	uint64_t exit_seq;          /* returns from KVM_RUN: the position clock */
	char con_buf[CONSOLE_LINE_MAX];
	size_t con_len;
	bool done;                  /* main returned or the VM is stopping */
};

struct vm {
	struct vm_config cfg;
	int kvm_fd, vm_fd;
	int end_fd;                 /* eventfd, readable once the run ended */
	size_t run_mmap_size;
	uint8_t *mem;
	uint64_t mem_size;
	uint64_t entry;
	unsigned nr_vcpus;
	struct vcpu *vcpus;

	struct bus pio, mmio;
	struct bus_device dev_console, dev_hypercall, dev_null, dev_random,
			  dev_scratch;
	pthread_mutex_t scratch_lock;
	uint64_t scratch[VCPRR_MMIO_SCRATCH_LEN / 8];

	atomic_bool stopping;       /* set once; VCPUs leave their loops */
	atomic_uint live_vcpus;     /* VCPU threads still running */
	atomic_int first_nonzero;   /* first non-zero return from main */
	pthread_mutex_t end_lock;   /* guards result and ended */
	bool ended, joined;
	struct vm_result result;
};

/* vcpu.c */
int vcpu_init(struct vm *vm, struct vcpu *v, unsigned id, char *err, size_t errlen);
int vcpu_spawn(struct vcpu *v);
void vcpu_kick(struct vcpu *v);
void vcpu_kick_install_handler(void);
/* Ends the run as a guest fault, with the VCPU's registers in the message.
 * Only from the VCPU's own thread. */
void vcpu_fault(struct vcpu *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void vcpu_free(struct vcpu *v);

/* console.c / hypercall.c / devices.c */
void console_write(struct vcpu *v, const char *buf, size_t len);
void console_flush(struct vcpu *v);
void console_register(struct vm *vm);
void hypercall_register(struct vm *vm);
void devices_register(struct vm *vm);

/* vm.c: a VCPU thread leaving its loop calls this. */
void vm_vcpu_finished(struct vm *vm);

#endif
