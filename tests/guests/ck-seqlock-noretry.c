/* ck-seqlock with a reader that skips the retry (see ck-seqlock.c). */
#define NORETRY 1
#include "ck-seqlock.c"
