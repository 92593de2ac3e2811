/* JUnit XML, the report CI systems read: the one escaping of text for it,
 * used by replay --check and explore. */
#ifndef VCPRR_TOOLS_JUNIT_H
#define VCPRR_TOOLS_JUNIT_H

#include <stdio.h>

/* Writes @s to @f as XML text or attribute value: markup characters
 * escaped, control characters other than newline and tab dropped. */
void junit_escape(FILE *f, const char *s);

#endif
