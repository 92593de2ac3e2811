/* A minimal gdb remote-protocol client for the debugger's tests. */
#ifndef VCPRR_TESTS_GDB_CLIENT_H
#define VCPRR_TESTS_GDB_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

/* Reads the next packet's data into out (cap bytes, NUL-terminated),
 * skipping '+' acks, unless !acks (then an ack fails the test).  Fails
 * the test after 30 s without one. */
void gdb_client_read(int fd, char *out, size_t cap, bool acks);

/* Sends pkt framed and returns the reply's data (a static buffer,
 * overwritten by the next call). */
const char *gdb_client_ask(int fd, const char *pkt);

/* Whether gdb is on PATH; prints that the test skips when not. */
int gdb_installed(void);

/* Skips the calling cmocka test without KVM or gdb. */
#define SKIP_WITHOUT_GDB() \
	do { SKIP_WITHOUT_KVM(); if (!gdb_installed()) skip(); } while (0)

#endif
