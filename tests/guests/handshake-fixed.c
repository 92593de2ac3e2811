/* handshake without the lease: the correct twin, which never fails. */
#define FIXED 1
#include "handshake.c"
