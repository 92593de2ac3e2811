/* The memory accesses of one x86-64 instruction, for the race analysis.
 *
 * Given the bytes at RIP and the VCPU's registers *before* the instruction
 * executes, x86_decode() says what the instruction is (plain, locked
 * read-modify-write, fence, string, I/O) and which bytes of guest memory it
 * reads and writes: explicit operands, implicit ones (push/pop/call/ret,
 * leave, string instructions) and RIP-relative ones (relative to the next
 * instruction).  Guests run flat in 64-bit long mode: only FS and GS have a
 * base.  Addresses are guest-virtual (identity-mapped in vcprr guests).
 *
 * A rep-prefixed string instruction is described one iteration at a time,
 * the way single-stepping executes it (the trap flag traps after every
 * iteration, with RIP still on the instruction until RCX reaches 0): the
 * accesses at RSI/RDI of the iteration about to run, none when RCX is 0.
 *
 * The bytes are untrusted: anything undecodable is X86_INSN_INVALID, never
 * a crash.  Thread-safe (no state). */
#ifndef VCPRR_TOOLS_X86_ACCESS_H
#define VCPRR_TOOLS_X86_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>

#define X86_MAX_INSN_LEN 15
#define X86_MAX_ACCESSES 4

/* What an access does to memory. */
#define X86_READ   1u
#define X86_WRITE  2u

/* struct x86_access.flags */
#define X86_ACC_LOCKED  1u  /* part of a locked read-modify-write: atomic */
#define X86_ACC_STACK   2u  /* implicit stack access (push, pop, call, ret) */
#define X86_ACC_STRING  4u  /* one iteration of a string instruction */

struct x86_access {
	uint64_t addr;
	uint32_t size;   /* bytes */
	uint8_t rw;      /* X86_READ and/or X86_WRITE */
	uint8_t flags;   /* X86_ACC_* */
};

enum x86_insn_class {
	X86_INSN_INVALID = 0,  /* undecodable bytes: nothing is known */
	X86_INSN_PLAIN,        /* anything else, with or without memory operands */
	X86_INSN_LOCKED,       /* lock prefix or xchg with memory: atomic RMW,
				  and a full fence */
	X86_INSN_FENCE,        /* mfence, lfence, sfence */
	X86_INSN_STRING,       /* movs/stos/lods/cmps/scas/ins/outs iteration */
	X86_INSN_IO,           /* in/out (port I/O; hypercalls are outs) */
};

/* struct x86_insn.fence: what the instruction orders. */
#define X86_FENCE_LOAD   1u
#define X86_FENCE_STORE  2u
#define X86_FENCE_FULL   (X86_FENCE_LOAD | X86_FENCE_STORE)

/* The VCPU state an instruction's addresses depend on. */
struct x86_cpu {
	struct kvm_regs regs;
	uint64_t fs_base, gs_base;
};

struct x86_insn {
	enum x86_insn_class cls;
	uint8_t length;          /* bytes; 0 when invalid */
	uint8_t fence;           /* X86_FENCE_*: fences and locked instructions */
	uint8_t naccess;
	bool unknown_access;     /* touches memory at addresses the general
				    registers do not give (gathers, scatters):
				    not in acc[] */
	bool io_out;             /* X86_INSN_IO/STRING on a port: a write */
	int32_t io_port;         /* the port of in/out/ins/outs, else -1 */
	const char *mnemonic;    /* static string, "invalid" when invalid */
	struct x86_access acc[X86_MAX_ACCESSES];
};

/* Decodes the instruction in bytes[0..len) (at most X86_MAX_INSN_LEN are
 * looked at) executing at cpu->regs.rip.  Returns 0, or -1 when the bytes
 * are not a valid instruction (out->cls == X86_INSN_INVALID, no accesses). */
int x86_decode(const uint8_t *bytes, size_t len, const struct x86_cpu *cpu,
	       struct x86_insn *out);

#endif
