/* JUnit XML, the report CI systems read: the one escaping of text for it,
 * used by replay --check and explore. */
#ifndef VCPRR_TOOLS_JUNIT_H
#define VCPRR_TOOLS_JUNIT_H

#include <stdbool.h>
#include <stdio.h>

/* How every report begins (and how an earlier one is recognised). */
#define JUNIT_HEAD "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites"

/* Writes @s to @f as XML text or attribute value: markup characters
 * escaped, control characters other than newline and tab dropped. */
void junit_escape(FILE *f, const char *s);

/* outfile_check() for a report: an existing JUnit report (an earlier
 * run's) is replaced, any other existing file only with @force.  0 or -1
 * (printed). */
int junit_check_output(const char *cmd, const char *path,
		       const char *const *inputs, int ninputs, bool force);

#endif
