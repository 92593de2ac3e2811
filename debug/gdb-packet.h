/* The gdb remote serial protocol's framing: "$data#xx" packets with a
 * modulo-256 checksum, '+'/'-' acknowledgements (until no-ack mode), '}'
 * escapes, run-length encoding ("X*n": n - 29 more copies of X) on input,
 * and the out-of-band interrupt byte 0x03.
 *
 * The reader is a byte-at-a-time state machine over a bounded buffer: any
 * input, however hostile, yields packets of at most GDB_PACKET_MAX bytes or
 * an error, never more memory.  One reader per connection; not thread-safe. */
#ifndef VCPRR_DEBUG_GDB_PACKET_H
#define VCPRR_DEBUG_GDB_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GDB_PACKET_MAX 16384   /* advertised as PacketSize */

enum gdb_input {
	GDB_IN_NONE = 0,      /* byte consumed, nothing complete yet */
	GDB_IN_PACKET,        /* a packet: reader->data, reader->len */
	GDB_IN_BAD_CHECKSUM,  /* a whole packet whose checksum is wrong */
	GDB_IN_MALFORMED,     /* too long, or a bad escape or repeat count */
	GDB_IN_INTERRUPT,     /* 0x03 outside a packet: stop the target */
	GDB_IN_ACK,           /* '+' */
	GDB_IN_NACK,          /* '-': the peer wants our last packet again */
};

struct gdb_packet_reader {
	int state;
	bool bad;             /* the packet being read is malformed */
	uint8_t sum, csum;
	size_t len;
	char data[GDB_PACKET_MAX + 1];  /* decoded, NUL-terminated */
};

void gdb_packet_reader_init(struct gdb_packet_reader *r);
/* Feeds one byte; a packet stays valid until the next call. */
enum gdb_input gdb_packet_feed(struct gdb_packet_reader *r, uint8_t c);

/* Frames @len bytes of @data into @out ("$...#xx"), escaping '$', '#',
 * '}' and '*' when @binary (binary replies such as qXfer); text replies
 * contain none of those.  Returns the framed length, or 0 when it would not
 * fit in @cap bytes. */
size_t gdb_packet_frame(const void *data, size_t len, bool binary, char *out,
			size_t cap);

/* Hex helpers.  gdb_hex_encode writes 2 * len digits and a NUL (out needs
 * 2 * len + 1 bytes).  gdb_hex_decode reads pairs of digits until @len
 * bytes or the string's end: the count decoded, or -1 on a non-digit. */
void gdb_hex_encode(const void *data, size_t len, char *out);
long gdb_hex_decode(const char *hex, void *out, size_t len);
/* A hex number at *s, advancing *s past it: -1 when there is none or it
 * overflows 64 bits. */
int gdb_hex_u64(const char **s, uint64_t *v);

#endif
