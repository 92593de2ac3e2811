/* Trace events as text: the one decoder of what a0..a3 and the payload
 * mean for each type (event.h), used by `vcprr inspect` (text and JSON)
 * and by replay's divergence reports, so both say the same thing.
 *
 * Every function writes at most @len bytes to @buf, always NUL-terminated
 * (cut at the end when @buf is too short), and returns the length
 * written.  Bytes from the trace are escaped: the text never holds a
 * control character.  No allocation, no state: thread-safe. */
#ifndef VCPRR_TRACES_EVENT_FORMAT_H
#define VCPRR_TRACES_EVENT_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "traces/event.h"

/* The fields of @ev, each after a space: a0..a3 by name as its type
 * defines them (" port=0x510 out size=4 data=0x41"), then the payload
 * (@pl, NULL to leave it out): text quoted and escaped, at most
 * @max_text bytes of it (0: all; a cut one ends in "..."), an assertion's
 * file and expression, other payloads by size.  Unknown types show a0..a3
 * raw. */
size_t tev_fields_text(char *buf, size_t len, const struct trace_event *ev,
		       const uint8_t *pl, size_t max_text);

/* The same as JSON members, each after a comma: ,"port":"0x510",
 * "size":4,"dir":"out",...  (64-bit values in hex are strings: JSON
 * readers hold numbers as doubles). */
size_t tev_fields_json(char *buf, size_t len, const struct trace_event *ev,
		       const uint8_t *pl);

/* The body of a JSON string (no quotes) holding the @n bytes at @s. */
size_t tev_json_str(char *buf, size_t len, const uint8_t *s, size_t n);

/* How the run failed or ended, as one line for a timeline's marker:
 * "assertion failed: EXPR at FILE:LINE", "vcpu error (KVM exit 8): ...",
 * "run ended: guest-assert, code 1" (@buf is "" for other events).  Says
 * which kind of mark @ev is. */
enum tev_mark {
	TMARK_NONE,
	TMARK_FAILURE,     /* a guest assertion, a VCPU error */
	TMARK_END_FAILED,  /* VM_STOP/VM_END for another reason than a clean
	                      guest exit with code 0 */
	TMARK_END,         /* VM_STOP/VM_END/GUEST_EXIT of a clean exit */
};
enum tev_mark tev_mark(char *buf, size_t len, const struct trace_event *ev,
		       const uint8_t *pl);

/* "850ns", "12.3us", "1.234ms", "2.500s". */
const char *fmt_dur(char *buf, size_t len, uint64_t ns);

#endif
