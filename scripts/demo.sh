#!/bin/sh
# make demo: the whole story on one racy guest.  lost-update's VCPUs add to a
# shared total without a lock; explore runs it under many seeded schedules,
# keeps the runs that lose an update, minimize shrinks one to the single
# preemption that matters, replay repeats it exactly, inspect shows it,
# analyze explains it, and gdb runs the replay backwards to the bad store.
# In the tree: scripts/demo.sh [BUILD] (make demo).  Installed, as
# PREFIX/share/vcprr/demo.sh [OUTDIR]: the guests next to it, the command
# in PREFIX/bin, the results in OUTDIR (default ./vcprr-demo).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
if [ -d "$here/guests" ]; then
	V=$here/../../bin/vcprr
	G=$here/guests
	OUT=${1:-vcprr-demo}
	if [ -e "$OUT" ]; then
		echo "demo: $OUT exists; give another output folder" >&2
		exit 2
	fi
else
	V=${1:-build}/vcprr
	G=${1:-build}/guests
	OUT=${1:-build}/demo
fi
rm -rf "$OUT"
mkdir -p "$OUT"
say() { printf '\n=== %s\n' "$*"; }

say "a guest on 4 VCPUs"
$V run $G/hello.elf --vcpus 4

say "explore: 30 PCT schedules of a racy guest, preempting after any instruction"
status=0
$V explore $G/lost-update.elf --runs 30 --seed 1 --pauses 0.01 -o "$OUT/explore" || status=$?
[ "$status" = 1 ] || { echo "demo: explore should have found the race" >&2; exit 1; }
first=$(ls "$OUT"/explore/fail-*.trace | head -n 1)

say "minimize: the smallest schedule that still loses an update"
$V minimize "$first" -o "$OUT/lost-update.trace"

say "replay: the failure, every time"
for i in 1 2 3; do $V replay "$OUT/lost-update.trace"; done

say "inspect: what happened"
$V inspect "$OUT/lost-update.trace" | sed -n '1,8p'
echo "..."
echo "the scheduling decisions and pauses:"
$V inspect dump "$OUT/lost-update.trace" --type SCHED_SWITCH,PAUSE_TAKEN,RESUMED,GUEST_ASSERT
$V export --format html "$OUT/lost-update.trace" -o "$OUT/lost-update.html"
echo "timeline: $OUT/lost-update.html"

say "analyze: the racing accesses and the decision that lets them race"
status=0
$V analyze "$OUT/lost-update.trace" || status=$?
[ "$status" = 1 ] || { echo "demo: analyze should have found the race" >&2; exit 1; }
$V analyze "$OUT/lost-update.trace" --json --html "$OUT/lost-update.analyze.html" \
	> "$OUT/lost-update.analyze.json" || [ $? = 1 ]
echo "races and decisions as JSON: $OUT/lost-update.analyze.json"
echo "the timeline with the racing accesses marked: $OUT/lost-update.analyze.html"

say "debug: gdb on the replay, running backwards from the assertion"
# explore recorded in step mode, where the trace decides every instruction,
# so gdb can go back: stop at the failed assertion, watch the total and
# reverse-continue to the store that wrote the stale value, in its VCPU, at
# its source line.
if command -v gdb >/dev/null 2>&1; then
	echo "vcprr debug $OUT/lost-update.trace"
	$V debug "$OUT/lost-update.trace" -- -batch -ex 'break vcprr_assert_fail' \
		-ex continue -ex 'watch total' -ex reverse-continue \
		-ex 'info threads' -ex 'bt 2' 2>&1 | grep -v 'No such file'
else
	echo "(skipped: gdb is not installed; make deps installs it)"
fi

say "and the correct twin never fails"
$V explore $G/lost-update-fixed.elf --runs 30 --seed 1 --pauses 0.01 -o "$OUT/explore-fixed"
