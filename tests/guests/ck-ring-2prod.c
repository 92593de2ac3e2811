/* ck-ring with two producers on the single-producer ring (see
 * ck-ring.c); run it with --vcpus 3. */
#define TWO_PRODUCERS 1
#include "ck-ring.c"
