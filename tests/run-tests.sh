#!/bin/sh
# Runs every test binary, shows its cmocka output and ends with one summary
# line ("N passed, N failed") for CI.  Arguments after "--" are shell
# command lines run as one test each (the corpus replay, the install
# test): they pass when they exit 0.  Exit status is non-zero if any failed.
#   TEST_JOBS=N   run N test binaries at a time (default 1); each one's
#                 output is still shown whole, in order, with its time
build=$1; shift
jobs=${TEST_JOBS:-1}
passed=0; failed=0; failed_bins=""
out_dir=$(mktemp -d "${TMPDIR:-/tmp}/vcprr-tests.XXXXXX") || exit 2
trap 'rm -rf "$out_dir"' EXIT

# Runs test binary $2 into $out_dir/$1.out, its status into $1.rc.
run_one() {
	t0=$(date +%s)
	"$2" >"$out_dir/$1.out" 2>&1
	echo "$? $(($(date +%s) - t0))" >"$out_dir/$1.rc"
}

# Shows test $1 (binary $2) once it has finished, and counts it.
collect() {
	while [ ! -s "$out_dir/$1.rc" ]; do sleep 0.2; done
	read -r rc secs <"$out_dir/$1.rc"
	echo "=== $2 (${secs} s)"
	cat "$out_dir/$1.out"
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out_dir/$1.out" | awk '{s+=$1} END {print s+0}')
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out_dir/$1.out" | awk '{s+=$1} END {print s+0}')
	passed=$((passed + p)); failed=$((failed + f))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then failed=$((failed + 1)); fi
	[ "$rc" -ne 0 ] && failed_bins="$failed_bins $2"
}

n=0; shown=0
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
	n=$((n + 1))
	eval "bin_$n=\$1"; shift
	eval "run_one $n \"\$bin_$n\"" &
	# at most $jobs running: show the oldest before starting more
	if [ $((n - shown)) -ge "$jobs" ]; then
		shown=$((shown + 1))
		eval "collect $shown \"\$bin_$shown\""
	fi
done
while [ "$shown" -lt "$n" ]; do
	shown=$((shown + 1))
	eval "collect $shown \"\$bin_$shown\""
done
wait
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
