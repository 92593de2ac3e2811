/* Pause scripts: a small text language that drives the controller API.
 *
 *   # comment
 *   pause MASK [DATA]        request a pause with DATA and kick each VCPU
 *   request VCPU [DATA]      store a request without kicking
 *   wait MASK [TIMEOUT]      wait until every VCPU of MASK is paused (5s)
 *   set VCPU REG VALUE       set a general register of a paused VCPU
 *   print VCPU               print a paused VCPU's registers
 *   resume MASK [DATA]       resume the paused VCPUs of MASK
 *   sleep DURATION           e.g. 10ms, 2s
 *
 * MASK is `all`, a list of ids and ranges (`0,2-5`) or a bit mask (`0x5`).
 * REG is one of rax rbx rcx rdx rsi rdi rbp rsp r8..r15 rip rflags.
 * Numbers are decimal or 0x-hex.  VCPUs still paused when the script ends
 * are resumed. */
#ifndef VCPRR_TOOLS_PAUSE_SCRIPT_H
#define VCPRR_TOOLS_PAUSE_SCRIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vmm/controller.h"

#define SCRIPT_MAX_BYTES    (1u << 20)
#define SCRIPT_MAX_COMMANDS 100000

enum script_op {
	SCRIPT_PAUSE, SCRIPT_REQUEST, SCRIPT_WAIT, SCRIPT_SET, SCRIPT_PRINT,
	SCRIPT_RESUME, SCRIPT_SLEEP,
};

struct script_cmd {
	enum script_op op;
	int line;
	vcpu_mask_t mask;    /* pause, wait, resume */
	bool all;            /* the mask was `all`: whatever the VM has */
	unsigned vcpu;       /* request, set, print */
	int reg;             /* set: index into struct kvm_regs as u64s */
	uint64_t value;      /* data, register value, or timeout/sleep ns */
};

struct pause_script {
	char name[256];
	struct script_cmd *cmds;  /* owned; pause_script_free() frees */
	int n;
};

/* Parses text (not NUL-terminated, len bytes).  Errors name
 * "NAME:LINE: problem".  Returns 0 or -1. */
int pause_script_parse(const char *name, const char *text, size_t len,
		       struct pause_script *s, char *err, size_t errlen);
int pause_script_load(const char *path, struct pause_script *s,
		      char *err, size_t errlen);
void pause_script_free(struct pause_script *s);

/* Refuses a script that names a VCPU a VM of @nr_vcpus does not have
 * ("NAME:LINE: VCPU 7 does not exist ...").  0 or -1. */
int pause_script_check(const struct pause_script *s, unsigned nr_vcpus,
		       char *err, size_t errlen);

/* Runs the script against a started VM; `print` output goes to out.
 * Returns 0, 1 when the run ended first, or -1 with a message. */
int pause_script_run(const struct pause_script *s, struct vm *vm, FILE *out,
		     char *err, size_t errlen);

#endif
