/* The console port and per-VCPU line buffering: output from several VCPUs
 * never interleaves mid-line. */
#ifndef VCPRR_VMM_CONSOLE_H
#define VCPRR_VMM_CONSOLE_H

#include "vmm/vm-state.h"

void console_register(struct vm *vm);
/* From the VCPU's thread. */
void console_write(struct vcpu *v, const char *buf, size_t len);
void console_flush(struct vcpu *v);

#endif
