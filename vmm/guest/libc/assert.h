/* vcprr guest runtime: assert() is a failed guest assertion (the run ends
 * with exit status 124, the expression, file and line in the trace);
 * NDEBUG turns it off as usual. */
#undef assert
#ifdef NDEBUG
#define assert(e) ((void)0)
#else
__attribute__((noreturn)) void vcprr_assert_fail(const char *expr,
						 const char *file, int line);
#define assert(e) ((e) ? (void)0 : vcprr_assert_fail(#e, __FILE__, __LINE__))
#endif

#if !defined(__cplusplus) && !defined(static_assert)
#define static_assert _Static_assert
#endif
