/* lost-update with atomic adds: the correct twin, which never fails. */
#define FIXED 1
#include "lost-update.c"
