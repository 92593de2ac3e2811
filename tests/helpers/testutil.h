/* Helpers shared by the cmocka tests. */
#ifndef VCPRR_TESTS_TESTUTIL_H
#define VCPRR_TESTS_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <sys/types.h>
#include <cmocka.h>

/* Path of build/guests/NAME.elf ($VCPRR_BUILD overrides "build").  The
 * returned string is static and overwritten by the next call. */
const char *guest_path(const char *name);

/* True when /dev/kvm can be opened; otherwise prints why once. */
int kvm_usable(void);

/* Skips the calling cmocka test when KVM is not usable. */
#define SKIP_WITHOUT_KVM() do { if (!kvm_usable()) { skip(); } } while (0)

/* An anonymous in-memory file (memfd) and reading it back as a string
 * (malloc'd, NUL-terminated). */
int memfd_new(const char *name);
char *fd_slurp(int fd);

/* Runs a shell command line in which $V is the vcprr binary under test
 * ($VCPRR_BUILD/vcprr).  Returns its exit status (128+N for signal N) and,
 * when out is not NULL, its combined stdout and stderr (malloc'd). */
int vcprr_sh(char **out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Starts $VCPRR_BUILD/vcprr with the NULL-terminated args (at most 14),
 * its output thrown away.  Returns the child's pid. */
pid_t vcprr_spawn(const char *const args[]);

/* A fresh folder /tmp/vcprr-NAME-XXXXXX (dir: at least 32 bytes), and
 * removing it with all it holds.  Return 0 on success. */
int scratch_dir(char *dir, size_t len, const char *name);
int scratch_dir_remove(const char *dir);

/* splitmix64: a seeded sequence for randomised tests. */
uint64_t test_rand(uint64_t *state);

/* Number of lines of text equal to line (without its newline). */
int count_lines(const char *text, const char *line);

#endif
