/* Escaping text for JUnit XML reports. */
#include <string.h>

#include "tools/junit.h"
#include "tools/outfile.h"

/* Whether @path holds a JUnit report (what this writes begins so). */
static bool is_junit_report(const char *path)
{
	static const char head[] = JUNIT_HEAD;
	char buf[sizeof(head) - 1];
	FILE *f = fopen(path, "r");
	bool yes;

	if (!f)
		return false;
	yes = fread(buf, 1, sizeof(buf), f) == sizeof(buf) &&
	      !memcmp(buf, head, sizeof(buf));
	fclose(f);
	return yes;
}

int junit_check_output(const char *cmd, const char *path,
		       const char *const *inputs, int ninputs, bool force)
{
	bool report = strcmp(path, "-") && is_junit_report(path);

	return outfile_check(cmd, path, inputs, ninputs, force || report);
}

void junit_escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default:
			if ((unsigned char)*s >= 0x20 || *s == '\n' || *s == '\t')
				fputc(*s, f);
		}
	}
}
