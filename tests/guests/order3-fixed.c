/* order3 with VCPU 2 waiting for the handler: the correct twin. */
#define FIXED 1
#include "order3.c"
