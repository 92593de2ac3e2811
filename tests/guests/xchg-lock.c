/* tas-lock with an atomic exchange: the correct twin, which never fails. */
#define FIXED 1
#include "tas-lock.c"
