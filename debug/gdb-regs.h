/* The x86-64 registers as gdb numbers them, from KVM's register sets, and
 * the target description (qXfer:features:read:target.xml) naming them with
 * gdb's amd64 features: i386.core, i386.sse and i386.segments. */
#ifndef VCPRR_DEBUG_GDB_REGS_H
#define VCPRR_DEBUG_GDB_REGS_H

#include <stddef.h>

#include "debug/debug-target.h"

#define GDB_NR_REGS 59

/* The target description, a NUL-terminated XML document. */
extern const char gdb_target_xml[];

/* Register @regno (0..GDB_NR_REGS-1) of @r as gdb's hex (target byte
 * order) into out, NUL-terminated: the number of digits, or 0 when regno
 * is unknown.  out needs 2 * 16 + 1 bytes. */
size_t gdb_reg_hex(const struct debug_regs *r, unsigned regno, char *out);

/* Every register, in order (the 'g' reply): the number of digits, or 0
 * when out (cap bytes) is too small. */
size_t gdb_regs_hex(const struct debug_regs *r, char *out, size_t cap);

#endif
