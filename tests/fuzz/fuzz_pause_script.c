/* libFuzzer target: the pause-script parser on arbitrary text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tools/pause-script.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct pause_script s;
	char err[512] = "";

	if (pause_script_parse("fuzz.txt", (const char *)data, len, &s, err,
			       sizeof(err)) == 0) {
		for (int i = 0; i < s.n; i++)
			if (s.cmds[i].line < 1 || s.cmds[i].op > SCRIPT_SLEEP)
				abort();
		pause_script_free(&s);
	} else if (strncmp(err, "fuzz.txt:", 9)) {
		abort();  /* every error names the file (and line) */
	}
	return 0;
}
