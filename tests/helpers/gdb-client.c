/* A minimal gdb remote-protocol client (see gdb-client.h). */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "debug/gdb-packet.h"
#include "tests/helpers/gdb-client.h"
#include "tests/helpers/testutil.h"

void gdb_client_read(int fd, char *out, size_t cap, bool acks)
{
	struct gdb_packet_reader *r = malloc(sizeof(*r));
	struct pollfd p = { .fd = fd, .events = POLLIN };
	enum gdb_input in;
	char c;

	assert_non_null(r);
	gdb_packet_reader_init(r);
	do {
		if (poll(&p, 1, 30000) != 1 || read(fd, &c, 1) != 1)
			fail_msg("no reply from the gdb server");
		in = gdb_packet_feed(r, (uint8_t)c);
		if (in == GDB_IN_ACK && !acks)
			fail_msg("an ack in no-ack mode");
	} while (in != GDB_IN_PACKET);
	snprintf(out, cap, "%s", r->data);
	free(r);
}

const char *gdb_client_ask(int fd, const char *pkt)
{
	static char reply[GDB_PACKET_MAX + 1];
	char framed[1024];
	size_t n = gdb_packet_frame(pkt, strlen(pkt), false, framed,
				    sizeof(framed));

	assert_true(n > 0);
	assert_int_equal(write(fd, framed, n), (ssize_t)n);
	gdb_client_read(fd, reply, sizeof(reply), true);
	return reply;
}

int gdb_installed(void)
{
	if (system("command -v gdb >/dev/null 2>&1") == 0)
		return 1;
	print_message("gdb not installed: skipping\n");
	return 0;
}
