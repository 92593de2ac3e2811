/* gdb remote protocol framing (see gdb-packet.h). */
#include <string.h>

#include "debug/gdb-packet.h"

enum { WAIT_START, IN_DATA, IN_ESCAPE, IN_REPEAT, IN_CSUM1, IN_CSUM2 };

void gdb_packet_reader_init(struct gdb_packet_reader *r)
{
	memset(r, 0, sizeof(*r));
	r->state = WAIT_START;
}

static int hex_digit(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void put(struct gdb_packet_reader *r, char c)
{
	if (r->len >= GDB_PACKET_MAX) {
		r->bad = true;
		return;
	}
	r->data[r->len++] = c;
}

/* "X*n": n - 29 more copies of the last character (gdb sends n in 32..126
 * and never '#' or '$'). */
static void repeat(struct gdb_packet_reader *r, uint8_t n)
{
	if (r->len == 0 || n < 32 || n > 126) {
		r->bad = true;
		return;
	}
	for (int i = 0; i < n - 29 && !r->bad; i++)
		put(r, r->data[r->len - 1]);
}

static enum gdb_input start(struct gdb_packet_reader *r, uint8_t c)
{
	switch (c) {
	case '$':
		r->state = IN_DATA;
		r->len = 0;
		r->sum = 0;
		r->bad = false;
		return GDB_IN_NONE;
	case 0x03:
		return GDB_IN_INTERRUPT;
	case '+':
		return GDB_IN_ACK;
	case '-':
		return GDB_IN_NACK;
	default:
		return GDB_IN_NONE;  /* noise between packets */
	}
}

static enum gdb_input finish(struct gdb_packet_reader *r)
{
	r->state = WAIT_START;
	r->data[r->len] = '\0';
	if (r->bad)
		return GDB_IN_MALFORMED;
	return r->csum == r->sum ? GDB_IN_PACKET : GDB_IN_BAD_CHECKSUM;
}

enum gdb_input gdb_packet_feed(struct gdb_packet_reader *r, uint8_t c)
{
	int d;

	switch (r->state) {
	case WAIT_START:
		return start(r, c);
	case IN_DATA:
		if (c == '#') {
			r->state = IN_CSUM1;
			return GDB_IN_NONE;
		}
		r->sum += c;
		if (c == '$') {  /* a new packet: the peer gave up on this one */
			r->state = WAIT_START;
			return start(r, c);
		}
		if (c == '}')
			r->state = IN_ESCAPE;
		else if (c == '*')
			r->state = IN_REPEAT;
		else
			put(r, (char)c);
		return GDB_IN_NONE;
	case IN_ESCAPE:
		r->sum += c;
		put(r, (char)(c ^ 0x20));
		r->state = IN_DATA;
		return GDB_IN_NONE;
	case IN_REPEAT:
		r->sum += c;
		repeat(r, c);
		r->state = IN_DATA;
		return GDB_IN_NONE;
	case IN_CSUM1:
		d = hex_digit(c);
		if (d < 0)
			r->bad = true;
		r->csum = (uint8_t)((d < 0 ? 0 : d) << 4);
		r->state = IN_CSUM2;
		return GDB_IN_NONE;
	default:  /* IN_CSUM2 */
		d = hex_digit(c);
		if (d < 0)
			r->bad = true;
		r->csum |= (uint8_t)(d < 0 ? 0 : d);
		return finish(r);
	}
}

static bool needs_escape(char c)
{
	return c == '$' || c == '#' || c == '}' || c == '*';
}

size_t gdb_packet_frame(const void *data, size_t len, bool binary, char *out,
			size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	const char *in = data;
	uint8_t sum = 0;
	size_t n = 0;

	if (cap < 4)
		return 0;
	out[n++] = '$';
	for (size_t i = 0; i < len; i++) {
		char c = in[i];

		if (n + 2 > cap - 3)
			return 0;
		if (binary && needs_escape(c)) {
			out[n++] = '}';
			sum += '}';
			c ^= 0x20;
		}
		out[n++] = c;
		sum += (uint8_t)c;
	}
	out[n++] = '#';
	out[n++] = hex[sum >> 4];
	out[n++] = hex[sum & 15];
	return n;
}

void gdb_hex_encode(const void *data, size_t len, char *out)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *p = data;

	for (size_t i = 0; i < len; i++) {
		*out++ = hex[p[i] >> 4];
		*out++ = hex[p[i] & 15];
	}
	*out = '\0';
}

long gdb_hex_decode(const char *hex, void *out, size_t len)
{
	uint8_t *p = out;
	size_t i;

	for (i = 0; i < len && hex[0] && hex[1]; i++, hex += 2) {
		int hi = hex_digit((uint8_t)hex[0]), lo = hex_digit((uint8_t)hex[1]);

		if (hi < 0 || lo < 0)
			return -1;
		p[i] = (uint8_t)(hi << 4 | lo);
	}
	return (long)i;
}

int gdb_hex_u64(const char **s, uint64_t *v)
{
	const char *p = *s;
	uint64_t x = 0;
	int d, n = 0;

	while ((d = hex_digit((uint8_t)*p)) >= 0) {
		if (x >> 60)
			return -1;
		x = x << 4 | (uint64_t)d;
		p++;
		n++;
	}
	if (!n)
		return -1;
	*s = p;
	*v = x;
	return 0;
}
