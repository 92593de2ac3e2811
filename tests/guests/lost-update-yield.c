/* lost-update with a yield at the top of main: PCT must still find it. */
#define YIELD_FIRST 1
#include "lost-update.c"
