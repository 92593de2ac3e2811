/* libFuzzer target: the gdb packet reader on arbitrary bytes.  Every
 * packet it yields fits its buffer and is NUL-terminated, and framing a
 * packet's data again reads back as the same data. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "debug/gdb-packet.h"

static struct gdb_packet_reader reader, again;
static char framed[2 * GDB_PACKET_MAX + 8];

static void roundtrip(const char *data, size_t len)
{
	size_t n = gdb_packet_frame(data, len, true, framed, sizeof(framed));
	enum gdb_input in = GDB_IN_NONE;

	if (!n)
		abort();  /* the buffer holds any packet, escaped */
	gdb_packet_reader_init(&again);
	for (size_t i = 0; i < n; i++)
		in = gdb_packet_feed(&again, (uint8_t)framed[i]);
	if (in != GDB_IN_PACKET || again.len != len ||
	    memcmp(again.data, data, len))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	gdb_packet_reader_init(&reader);
	for (size_t i = 0; i < len; i++) {
		enum gdb_input in = gdb_packet_feed(&reader, data[i]);

		if (reader.len > GDB_PACKET_MAX)
			abort();
		if (in != GDB_IN_PACKET)
			continue;
		if (reader.data[reader.len] != '\0')
			abort();
		roundtrip(reader.data, reader.len);
	}
	return 0;
}
