/* x86-64 registers for gdb (see gdb-regs.h).  The numbering follows the
 * order of the registers in gdb_target_xml. */
#include <stdint.h>
#include <string.h>

#include "debug/gdb-packet.h"
#include "debug/gdb-regs.h"

#define GPR(n)  "<reg name=\"" n "\" bitsize=\"64\" type=\"int64\"/>"
#define SEG(n)  "<reg name=\"" n "\" bitsize=\"32\" type=\"int32\"/>"
#define ST(n)   "<reg name=\"st" n "\" bitsize=\"80\" type=\"i387_ext\"/>"
#define FPC(n)  "<reg name=\"" n "\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
#define XMM(n)  "<reg name=\"xmm" n "\" bitsize=\"128\" type=\"vec128\"/>"
#define FLAG(n, b) "<field name=\"" n "\" start=\"" b "\" end=\"" b "\"/>"

const char gdb_target_xml[] =
"<?xml version=\"1.0\"?>\n"
"<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n"
"<target version=\"1.0\">\n"
"<architecture>i386:x86-64</architecture>\n"
"<feature name=\"org.gnu.gdb.i386.core\">\n"
"<flags id=\"i386_eflags\" size=\"4\">"
FLAG("CF", "0") FLAG("", "1") FLAG("PF", "2") FLAG("AF", "4") FLAG("ZF", "6")
FLAG("SF", "7") FLAG("TF", "8") FLAG("IF", "9") FLAG("DF", "10")
FLAG("OF", "11") FLAG("NT", "14") FLAG("RF", "16") FLAG("VM", "17")
FLAG("AC", "18") FLAG("VIF", "19") FLAG("VIP", "20") FLAG("ID", "21")
"</flags>\n"
GPR("rax") GPR("rbx") GPR("rcx") GPR("rdx") GPR("rsi") GPR("rdi")
"<reg name=\"rbp\" bitsize=\"64\" type=\"data_ptr\"/>"
"<reg name=\"rsp\" bitsize=\"64\" type=\"data_ptr\"/>\n"
GPR("r8") GPR("r9") GPR("r10") GPR("r11") GPR("r12") GPR("r13") GPR("r14")
GPR("r15") "\n"
"<reg name=\"rip\" bitsize=\"64\" type=\"code_ptr\"/>"
"<reg name=\"eflags\" bitsize=\"32\" type=\"i386_eflags\"/>\n"
SEG("cs") SEG("ss") SEG("ds") SEG("es") SEG("fs") SEG("gs") "\n"
ST("0") ST("1") ST("2") ST("3") ST("4") ST("5") ST("6") ST("7") "\n"
FPC("fctrl") FPC("fstat") FPC("ftag") FPC("fiseg") FPC("fioff") FPC("foseg")
FPC("fooff") FPC("fop") "\n"
"</feature>\n"
"<feature name=\"org.gnu.gdb.i386.sse\">\n"
"<vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/>"
"<vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>"
"<vector id=\"v16i8\" type=\"int8\" count=\"16\"/>"
"<vector id=\"v8i16\" type=\"int16\" count=\"8\"/>"
"<vector id=\"v4i32\" type=\"int32\" count=\"4\"/>"
"<vector id=\"v2i64\" type=\"int64\" count=\"2\"/>\n"
"<union id=\"vec128\">"
"<field name=\"v4_float\" type=\"v4f\"/>"
"<field name=\"v2_double\" type=\"v2d\"/>"
"<field name=\"v16_int8\" type=\"v16i8\"/>"
"<field name=\"v8_int16\" type=\"v8i16\"/>"
"<field name=\"v4_int32\" type=\"v4i32\"/>"
"<field name=\"v2_int64\" type=\"v2i64\"/>"
"<field name=\"uint128\" type=\"uint128\"/>"
"</union>\n"
"<flags id=\"i386_mxcsr\" size=\"4\">"
FLAG("IE", "0") FLAG("DE", "1") FLAG("ZE", "2") FLAG("OE", "3")
FLAG("UE", "4") FLAG("PE", "5") FLAG("DAZ", "6") FLAG("IM", "7")
FLAG("DM", "8") FLAG("ZM", "9") FLAG("OM", "10") FLAG("UM", "11")
FLAG("PM", "12") FLAG("FZ", "15")
"</flags>\n"
XMM("0") XMM("1") XMM("2") XMM("3") XMM("4") XMM("5") XMM("6") XMM("7")
XMM("8") XMM("9") XMM("10") XMM("11") XMM("12") XMM("13") XMM("14")
XMM("15") "\n"
"<reg name=\"mxcsr\" bitsize=\"32\" type=\"i386_mxcsr\" group=\"vector\"/>\n"
"</feature>\n"
"<feature name=\"org.gnu.gdb.i386.segments\">\n"
"<reg name=\"fs_base\" bitsize=\"64\" type=\"int\"/>"
"<reg name=\"gs_base\" bitsize=\"64\" type=\"int\"/>\n"
"</feature>\n"
"</target>\n";

enum {
	REG_RIP = 16, REG_EFLAGS, REG_CS, REG_ST0 = 24, REG_FCTRL = 32,
	REG_XMM0 = 40, REG_MXCSR = 56, REG_FS_BASE, REG_GS_BASE,
};

/* The full x87 tag word from FXSAVE's abridged one: 11 (empty) or 00
 * (valid; gdb recomputes zero/special from the value). */
static uint32_t full_tag(uint8_t abridged)
{
	uint32_t tag = 0;

	for (int i = 0; i < 8; i++)
		if (!(abridged & (1u << i)))
			tag |= 3u << (i * 2);
	return tag;
}

static void fpu_ctl(const struct kvm_fpu *f, unsigned i, uint32_t *v)
{
	switch (i) {
	case 0: *v = f->fcw; break;
	case 1: *v = f->fsw; break;
	case 2: *v = full_tag(f->ftwx); break;
	case 3: *v = (uint32_t)(f->last_ip >> 32); break;
	case 4: *v = (uint32_t)f->last_ip; break;
	case 5: *v = (uint32_t)(f->last_dp >> 32); break;
	case 6: *v = (uint32_t)f->last_dp; break;
	default: *v = f->last_opcode; break;
	}
}

/* Register regno's bytes: its size, 0 when unknown. */
static size_t reg_bytes(const struct debug_regs *r, unsigned regno,
			uint8_t buf[16])
{
	const struct kvm_regs *g = &r->regs;
	const uint64_t gprs[16] = {
		g->rax, g->rbx, g->rcx, g->rdx, g->rsi, g->rdi, g->rbp, g->rsp,
		g->r8, g->r9, g->r10, g->r11, g->r12, g->r13, g->r14, g->r15,
	};
	const struct kvm_segment *segs[6] = {
		&r->sregs.cs, &r->sregs.ss, &r->sregs.ds, &r->sregs.es,
		&r->sregs.fs, &r->sregs.gs,
	};
	uint64_t v64;
	uint32_t v32;

	if (regno < 16 || regno == REG_RIP || regno == REG_FS_BASE ||
	    regno == REG_GS_BASE) {
		v64 = regno < 16 ? gprs[regno] : regno == REG_RIP ? g->rip :
		      regno == REG_FS_BASE ? r->sregs.fs.base : r->sregs.gs.base;
		memcpy(buf, &v64, 8);
		return 8;
	}
	if (regno >= REG_ST0 && regno < REG_FCTRL) {
		memcpy(buf, r->fpu.fpr[regno - REG_ST0], 10);
		return 10;
	}
	if (regno >= REG_XMM0 && regno < REG_MXCSR) {
		memcpy(buf, r->fpu.xmm[regno - REG_XMM0], 16);
		return 16;
	}
	if (regno == REG_EFLAGS)
		v32 = (uint32_t)g->rflags;
	else if (regno >= REG_CS && regno < REG_ST0)
		v32 = segs[regno - REG_CS]->selector;
	else if (regno >= REG_FCTRL && regno < REG_XMM0)
		fpu_ctl(&r->fpu, regno - REG_FCTRL, &v32);
	else if (regno == REG_MXCSR)
		v32 = r->fpu.mxcsr;
	else
		return 0;
	memcpy(buf, &v32, 4);
	return 4;
}

size_t gdb_reg_hex(const struct debug_regs *r, unsigned regno, char *out)
{
	uint8_t buf[16];
	size_t n = reg_bytes(r, regno, buf);

	if (!n)
		return 0;
	gdb_hex_encode(buf, n, out);
	return 2 * n;
}

size_t gdb_regs_hex(const struct debug_regs *r, char *out, size_t cap)
{
	size_t n = 0;
	char hex[33];

	for (unsigned i = 0; i < GDB_NR_REGS; i++) {
		size_t k = gdb_reg_hex(r, i, hex);

		if (n + k + 1 > cap)
			return 0;
		memcpy(out + n, hex, k + 1);
		n += k;
	}
	return n;
}
