#!/bin/sh
# Runs every test binary, shows its cmocka output and ends with one summary
# line ("N passed, N failed") for CI.  Arguments after "--" are shell
# command lines run as one test each (the corpus replay, the install
# test): they pass when they exit 0.  Exit status is non-zero if any failed.
build=$1; shift
passed=0; failed=0; failed_bins=""
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
	t=$1; shift
	echo "=== $t"
	out=$("$t" 2>&1); rc=$?
	printf '%s\n' "$out"
	p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
	passed=$((passed + p)); failed=$((failed + f))
	if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then failed=$((failed + 1)); fi
	[ $rc -ne 0 ] && failed_bins="$failed_bins $t"
done
[ "$1" = "--" ] && shift
for cmd in "$@"; do
	echo "=== $cmd"
	if sh -c "$cmd" 2>&1; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		failed_bins="$failed_bins '$cmd'"
	fi
done
[ -n "$failed_bins" ] && echo "failing test programs:$failed_bins"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ -z "$failed_bins" ]
