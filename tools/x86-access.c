/* x86-64 memory accesses of one instruction, over Zydis (see x86-access.h).
 *
 * Zydis rather than Capstone: Zydis reports every operand with its
 * visibility and read/write actions, including the hidden ones (the stack
 * slot of push/pop/call/ret, both sides of movs), while Capstone 4 lists
 * no memory operand at all for push/pop/call/ret and calls the destination
 * of cmpxchg and cmpxchg16b read-only; and it decodes about three times as
 * fast (x86-access measured on a real .text: ~180 vs ~560 ns per
 * instruction with operand details). */
#include <string.h>
#include <Zydis/Zydis.h>

#include "tools/x86-access.h"

/* The value of a general register (any width names its 64-bit register,
 * masked to that width); RIP-relative means relative to the next
 * instruction.  False for registers the general set does not hold. */
static bool reg_value(const struct x86_cpu *cpu, ZydisRegister r,
		      uint64_t next_rip, uint64_t *v)
{
	const struct kvm_regs *g = &cpu->regs;
	ZydisRegisterWidth w;

	if (r == ZYDIS_REGISTER_NONE) {
		*v = 0;
		return true;
	}
	if (r == ZYDIS_REGISTER_RIP || r == ZYDIS_REGISTER_EIP) {
		*v = next_rip;  /* masked to the address width by the caller */
		return true;
	}
	w = ZydisRegisterGetWidth(ZYDIS_MACHINE_MODE_LONG_64, r);
	switch (ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, r)) {
	case ZYDIS_REGISTER_RAX: *v = g->rax; break;
	case ZYDIS_REGISTER_RCX: *v = g->rcx; break;
	case ZYDIS_REGISTER_RDX: *v = g->rdx; break;
	case ZYDIS_REGISTER_RBX: *v = g->rbx; break;
	case ZYDIS_REGISTER_RSP: *v = g->rsp; break;
	case ZYDIS_REGISTER_RBP: *v = g->rbp; break;
	case ZYDIS_REGISTER_RSI: *v = g->rsi; break;
	case ZYDIS_REGISTER_RDI: *v = g->rdi; break;
	case ZYDIS_REGISTER_R8:  *v = g->r8;  break;
	case ZYDIS_REGISTER_R9:  *v = g->r9;  break;
	case ZYDIS_REGISTER_R10: *v = g->r10; break;
	case ZYDIS_REGISTER_R11: *v = g->r11; break;
	case ZYDIS_REGISTER_R12: *v = g->r12; break;
	case ZYDIS_REGISTER_R13: *v = g->r13; break;
	case ZYDIS_REGISTER_R14: *v = g->r14; break;
	case ZYDIS_REGISTER_R15: *v = g->r15; break;
	default: return false;
	}
	if (r == ZYDIS_REGISTER_AH || r == ZYDIS_REGISTER_CH ||
	    r == ZYDIS_REGISTER_DH || r == ZYDIS_REGISTER_BH)
		*v >>= 8;
	if (w && w < 64)
		*v &= (1ull << w) - 1;
	return true;
}

static uint64_t addr_mask(const ZydisDecodedInstruction *in)
{
	return in->address_width >= 64 ? ~0ull : (1ull << in->address_width) - 1;
}

/* Operands that name memory without reading or writing it. */
static bool touches_no_memory(const ZydisDecodedInstruction *in)
{
	switch (in->meta.category) {
	case ZYDIS_CATEGORY_NOP:
	case ZYDIS_CATEGORY_WIDENOP:
	case ZYDIS_CATEGORY_PREFETCH:
	case ZYDIS_CATEGORY_PREFETCHWT1:
	case ZYDIS_CATEGORY_CLFLUSHOPT:
	case ZYDIS_CATEGORY_CLWB:
	case ZYDIS_CATEGORY_CLDEMOTE:
	case ZYDIS_CATEGORY_MPX:
		return true;
	default:
		break;
	}
	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_CLFLUSH:
	case ZYDIS_MNEMONIC_INVLPG:
	case ZYDIS_MNEMONIC_INVLPGA:
	case ZYDIS_MNEMONIC_INVLPGB:
		return true;
	default:
		return false;
	}
}

static bool is_bit_test(ZydisMnemonic m)
{
	return m == ZYDIS_MNEMONIC_BT || m == ZYDIS_MNEMONIC_BTS ||
	       m == ZYDIS_MNEMONIC_BTR || m == ZYDIS_MNEMONIC_BTC;
}

/* bt/bts/btr/btc with a register bit offset address a bit string: the
 * operand-sized word holding bit (signed) offset, not the operand itself. */
static int64_t bit_string_delta(const ZydisDecodedInstruction *in,
				const ZydisDecodedOperand *ops,
				const struct x86_cpu *cpu)
{
	unsigned bits = in->operand_width;
	uint64_t off;
	int64_t s;

	if (!is_bit_test(in->mnemonic) || in->operand_count_visible < 2 ||
	    ops[1].type != ZYDIS_OPERAND_TYPE_REGISTER ||
	    !reg_value(cpu, ops[1].reg.value, 0, &off) || bits < 16)
		return 0;
	s = bits == 64 ? (int64_t)off : bits == 32 ? (int32_t)off : (int16_t)off;
	/* floor(s / bits) words of bits / 8 bytes (an arithmetic shift) */
	return (s >> (bits == 64 ? 6 : bits == 32 ? 5 : 4)) * (int64_t)(bits / 8);
}

/* The effective address of a memory operand, false if it depends on a
 * register outside the general set (VSIB). */
static bool effective_addr(const ZydisDecodedInstruction *in,
			   const ZydisDecodedOperand *op,
			   const struct x86_cpu *cpu, uint64_t rip,
			   uint64_t *addr)
{
	uint64_t next = rip + in->length, base, index;

	if (op->mem.type != ZYDIS_MEMOP_TYPE_MEM ||
	    !reg_value(cpu, op->mem.base, next, &base) ||
	    !reg_value(cpu, op->mem.index, next, &index))
		return false;
	*addr = base + index * op->mem.scale + (uint64_t)op->mem.disp.value;
	/* push, call and friends store below the stack pointer */
	if (op->visibility == ZYDIS_OPERAND_VISIBILITY_HIDDEN &&
	    (op->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE) &&
	    (op->mem.base == ZYDIS_REGISTER_RSP ||
	     op->mem.base == ZYDIS_REGISTER_ESP))
		*addr -= op->size / 8;
	*addr &= addr_mask(in);
	if (op->mem.segment == ZYDIS_REGISTER_FS)
		*addr += cpu->fs_base;
	else if (op->mem.segment == ZYDIS_REGISTER_GS)
		*addr += cpu->gs_base;
	return true;
}

static void classify(const ZydisDecodedInstruction *in,
		     const ZydisDecodedOperand *ops, const struct x86_cpu *cpu,
		     struct x86_insn *out)
{
	bool has_mem = false;

	for (unsigned i = 0; i < in->operand_count; i++)
		has_mem |= ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY;
	out->cls = X86_INSN_PLAIN;
	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_MFENCE:
		out->cls = X86_INSN_FENCE;
		out->fence = X86_FENCE_FULL;
		return;
	case ZYDIS_MNEMONIC_LFENCE:
		out->cls = X86_INSN_FENCE;
		out->fence = X86_FENCE_LOAD;
		return;
	case ZYDIS_MNEMONIC_SFENCE:
		out->cls = X86_INSN_FENCE;
		out->fence = X86_FENCE_STORE;
		return;
	default:
		break;
	}
	if ((in->attributes & ZYDIS_ATTRIB_HAS_LOCK) ||
	    (in->mnemonic == ZYDIS_MNEMONIC_XCHG && has_mem)) {
		out->cls = X86_INSN_LOCKED;  /* xchg with memory locks itself */
		out->fence = X86_FENCE_FULL;
		return;
	}
	if (in->meta.category == ZYDIS_CATEGORY_STRINGOP ||
	    in->meta.category == ZYDIS_CATEGORY_IOSTRINGOP)
		out->cls = X86_INSN_STRING;
	else if (in->meta.category == ZYDIS_CATEGORY_IO)
		out->cls = X86_INSN_IO;
	if (in->meta.category == ZYDIS_CATEGORY_IO ||
	    in->meta.category == ZYDIS_CATEGORY_IOSTRINGOP) {
		out->io_out = in->mnemonic == ZYDIS_MNEMONIC_OUT ||
			      in->mnemonic == ZYDIS_MNEMONIC_OUTSB ||
			      in->mnemonic == ZYDIS_MNEMONIC_OUTSW ||
			      in->mnemonic == ZYDIS_MNEMONIC_OUTSD;
		out->io_port = (int32_t)(cpu->regs.rdx & 0xffff);
		for (unsigned i = 0; i < in->operand_count_visible; i++)
			if (ops[i].type == ZYDIS_OPERAND_TYPE_IMMEDIATE)
				out->io_port = (int32_t)(ops[i].imm.value.u & 0xff);
	}
}

/* A rep-prefixed string instruction with a zero count does nothing. */
static bool rep_done(const ZydisDecodedInstruction *in,
		     const struct x86_cpu *cpu)
{
	if (!(in->attributes & (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE |
				ZYDIS_ATTRIB_HAS_REPNE)))
		return false;
	return (cpu->regs.rcx & addr_mask(in)) == 0;
}

static void add_accesses(const ZydisDecodedInstruction *in,
			 const ZydisDecodedOperand *ops,
			 const struct x86_cpu *cpu, struct x86_insn *out)
{
	int64_t bit_delta = bit_string_delta(in, ops, cpu);

	if (touches_no_memory(in) ||
	    (out->cls == X86_INSN_STRING && rep_done(in, cpu)))
		return;
	for (unsigned i = 0; i < in->operand_count; i++) {
		const ZydisDecodedOperand *op = &ops[i];
		struct x86_access *a;
		uint64_t addr;
		uint8_t rw = 0;

		if (op->type != ZYDIS_OPERAND_TYPE_MEMORY ||
		    op->mem.type == ZYDIS_MEMOP_TYPE_AGEN ||
		    op->mem.type == ZYDIS_MEMOP_TYPE_MIB)
			continue;
		if (!effective_addr(in, op, cpu, cpu->regs.rip, &addr) ||
		    out->naccess == X86_MAX_ACCESSES) {
			out->unknown_access = true;
			continue;
		}
		if (op->actions & ZYDIS_OPERAND_ACTION_MASK_READ)
			rw |= X86_READ;
		if (op->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE)
			rw |= X86_WRITE;
		if (!rw || !op->size)
			continue;
		a = &out->acc[out->naccess++];
		a->addr = addr;
		if (op->visibility != ZYDIS_OPERAND_VISIBILITY_HIDDEN)
			a->addr += (uint64_t)bit_delta;
		a->size = (op->size + 7) / 8;
		a->rw = rw;
		a->flags = 0;
		if (out->cls == X86_INSN_LOCKED)
			a->flags |= X86_ACC_LOCKED;
		else if (out->cls == X86_INSN_STRING)
			a->flags |= X86_ACC_STRING;
		else if (op->visibility == ZYDIS_OPERAND_VISIBILITY_HIDDEN &&
			 (op->mem.segment == ZYDIS_REGISTER_SS))
			a->flags |= X86_ACC_STACK;
	}
}

int x86_decode(const uint8_t *bytes, size_t len, const struct x86_cpu *cpu,
	       struct x86_insn *out)
{
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	ZydisDecodedInstruction in;
	ZydisDecoder dec;

	memset(out, 0, sizeof(*out));
	out->io_port = -1;
	out->mnemonic = "invalid";
	if (len > X86_MAX_INSN_LEN)
		len = X86_MAX_INSN_LEN;
	if (!ZYAN_SUCCESS(ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64,
					   ZYDIS_STACK_WIDTH_64)) ||
	    !ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, bytes, len, &in, ops)))
		return -1;
	out->length = in.length;
	out->mnemonic = ZydisMnemonicGetString(in.mnemonic);
	if (!out->mnemonic)
		out->mnemonic = "?";
	classify(&in, ops, cpu, out);
	add_accesses(&in, ops, cpu, out);
	return 0;
}
