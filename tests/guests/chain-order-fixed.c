/* chain-order without the order violation: the correct twin. */
#define FIXED 1
#include "chain-order.c"
