/* check-then-act with a compare-and-swap claim: the correct twin. */
#define FIXED 1
#include "check-then-act.c"
