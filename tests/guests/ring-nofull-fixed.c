/* ring-nofull with the full check: the correct twin. */
#define FIXED 1
#include "ring-nofull.c"
