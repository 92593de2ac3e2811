/* The run description: everything that decides how a run goes, stored in
 * its trace's header so that replay, minimize and inspect rebuild the very
 * run that was recorded.  One struct, one encoder, one decoder.
 *
 * Encoding: "key=value\n" lines, every key of the table in run-desc.c
 * that its version has, in the table's order, starting with
 * "desc_version=N".  Numbers are decimal, bools 0 or 1, names as the
 * command line spells them, the guest's SHA-256 as 64 hex digits, paths as
 * they are (a path holding a newline cannot be recorded), the guest's
 * arguments as decimal numbers separated by commas, its data in base64
 * (RFC 4648, padded).
 *
 * Versions: 1 had one guest argument ("arg"); 2 has several ("args") and
 * the data ("data").  Both are read.  The encoder writes 2, or 1 for a run
 * whose guest input is version 1's (input.arg_only: a run taken from such
 * a trace), so that the boot info its replay writes is the recorded one.
 *
 * The decoder is strict on purpose: an unknown key, a key given twice, a
 * missing key or a malformed value make the description unreadable, the
 * message naming the key and its byte offset in the file.  A reader that
 * skipped a key it does not know, or guessed one that is missing, would
 * rebuild another run than the recorded one and could call it "same".  A
 * new key therefore comes with a new desc_version.
 *
 * Plain data and pure functions: thread-safe, no allocation. */
#ifndef VCPRR_VMM_RUN_DESC_H
#define VCPRR_VMM_RUN_DESC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "traces/trace.h"
#include "vmm/sched.h"
#include "vmm/vm.h"

#define RUN_DESC_VERSION 2
#define RUN_PATH_LEN     1024   /* bytes of a recorded path, NUL included */

enum run_kind {
	RUN_KIND_GUEST = 0,      /* an ELF guest run by vcprr */
	RUN_KIND_CROSVM_PLUGIN,  /* a crosvm plugin's raw-mode VM: the guest
				    is the memory the plugin set up, logged
				    in the trace */
};

/* Which guest image a run ran (see vmm/guest-id.h for the one rule that
 * finds it again). */
struct run_guest {
	char path[RUN_PATH_LEN];        /* as given to record */
	char from_trace[RUN_PATH_LEN];  /* relative to the trace's folder, ""
					   when it was not known */
	uint8_t sha256[32];             /* all zero: no image was read */
};

struct run_desc {
	enum run_kind kind;
	unsigned nr_vcpus;
	uint64_t mem_size;
	struct vm_guest_input input;     /* --arg ..., --data */
	struct sched_config sched;       /* mode, policy and seed ...; the
					    plan of VM_POLICY_PLAN is not
					    recorded (NULL once decoded) */
	uint64_t timeout_ns;             /* 0: none */
	uint64_t pause_every_ns, hold_ns;  /* the built-in pause controller */
	char pause_script[RUN_PATH_LEN]; /* "" for none */
	bool lossy;
	uint64_t max_trace;              /* bytes, 0: no limit */
	struct run_guest guest;
	uint64_t mem_limit;              /* crosvm plugin runs */
	char program[RUN_PATH_LEN];      /* crosvm plugin runs: for people */
};

/* A guest run with vcprr's defaults: 1 VCPU, VM_DEFAULT_MEM, parallel,
 * round-robin. */
void run_desc_init(struct run_desc *d);

/* Writes @d as the description of @h (h->desc).  0, or -1 with a message
 * (a path too long or holding a newline, a name out of range). */
int run_desc_encode(const struct run_desc *d, struct trace_header *h,
		    char *err, size_t errlen);

/* Reads the description of @h into @d.  0, or -1 with a message naming
 * the byte offset (in the trace file) of what is wrong.  Text from the
 * trace reaches the message escaped (\xNN). */
int run_desc_decode(const struct trace_header *h, struct run_desc *d,
		    char *err, size_t errlen);

/* Text from a trace (@n bytes at most of @s, up to a NUL) for a message:
 * printable ASCII as it is, other bytes and backslashes as \xNN; cut to
 * fit @len. */
void run_desc_escape(char *out, size_t len, const char *s, size_t n);

/* The VM configuration of the run @d describes (VCPUs, memory, input,
 * scheduler, controlled); what only a caller knows (trace, console, hooks)
 * is left zero. */
void run_desc_vm_config(const struct run_desc *d, struct vm_config *cfg);

#endif
