#!/bin/sh
# The exports seen as a person would see them: the demo's failing trace
# (lost-update, explored and minimized as scripts/demo.sh does) and a
# 64-VCPU serial trace are exported; the Chrome JSON goes through the
# Trace Event Format checker; headless Chromium renders each page and
# tests/html-view.mjs checks it from the DOM (lanes, holds-the-CPU tracks,
# the failure marker, the legend, the flows; on analyze's page of the demo
# trace, the racing accesses and their link) and drives wheel zoom, WASD,
# search and clicks.  Screenshots and pages stay in BUILD/html-render/.
# Usage: tests/html-render.sh [BUILD]   (BUILD defaults to "build")
# Needs /dev/kvm, Node.js and Chromium; installs Debian's chromium and
# nodejs with apt when running as root and they are missing.  Skips (exit
# 0, with a message) when they cannot be had, except under CI (CI set).
build=${1:-build}
vcprr=$build/vcprr
guests=$build/guests
out=$build/html-render

skip() {
	[ -n "$CI" ] && fail "$*"
	echo "html-render: SKIPPED: $*"
	exit 0
}
fail() { echo "html-render: FAILED: $*"; exit 1; }

find_chromium() {
	for c in chromium chromium-browser google-chrome; do
		command -v "$c" >/dev/null 2>&1 && { command -v "$c"; return; }
	done
}

install_missing() {
	pkgs=""
	[ -n "$(find_chromium)" ] || pkgs="chromium"
	command -v node >/dev/null 2>&1 || pkgs="$pkgs nodejs"
	[ -n "$pkgs" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || return 0
	echo "html-render: installing$pkgs"
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $pkgs \
		>/dev/null 2>&1 || {
		apt-get update -qq >/dev/null 2>&1
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $pkgs \
			>/dev/null 2>&1
	} || true
}

[ -x "$vcprr" ] || fail "$vcprr not built (run make)"
install_missing
chrome=$(find_chromium)
[ -n "$chrome" ] || skip "chromium is not installed (apt-get install chromium)"
command -v node >/dev/null 2>&1 || skip "node is not installed (apt-get install nodejs)"
rm -rf "$out"
mkdir -p "$out"

# The demo's trace: a lost update found by explore, minimized.
"$vcprr" explore "$guests/lost-update.elf" --runs 30 --seed 1 --pauses 0.01 \
	-o "$out/explore" >"$out/explore.log" 2>&1
status=$?
[ "$status" = 1 ] || {
	grep -q "/dev/kvm" "$out/explore.log" && skip "no KVM here"
	fail "explore should have found the lost update (exit $status)"
}
first=$(ls "$out"/explore/fail-*.trace | head -n 1)
"$vcprr" minimize "$first" -o "$out/demo.trace" >"$out/minimize.log" 2>&1 ||
	fail "minimize: $(tail -1 "$out/minimize.log")"
# 64 VCPUs taking turns, paused again and again (pio runs long enough for
# the pause controller to be heard however loaded the machine is).
"$vcprr" record -o "$out/vcpus64.trace" "$guests/pio.elf" --arg 100 --vcpus 64 \
	--sched serial --pause-every 100us --hold 20us --seed 3 \
	>"$out/record.log" 2>&1 || fail "record: $(tail -1 "$out/record.log")"

# analyze's page of the demo's trace: the racing accesses marked.
"$vcprr" analyze "$out/demo.trace" --html "$out/analyze.html" \
	>"$out/analyze.log" 2>&1
[ $? = 1 ] || fail "analyze --html: $(tail -1 "$out/analyze.log")"

for t in demo vcpus64; do
	"$vcprr" export --format html "$out/$t.trace" -o "$out/$t.html" ||
		fail "export --format html $t"
	"$vcprr" export --format chrome "$out/$t.trace" -o "$out/$t.json" ||
		fail "export --format chrome $t"
	node tests/trace-event-check.mjs "$out/$t.json" ||
		fail "$t.json breaks the Trace Event Format's rules"
	echo "html-render: $t: $(wc -c <"$out/$t.html") bytes of HTML," \
		"$(wc -c <"$out/$t.json") bytes of JSON"
done

node tests/html-view.mjs "$chrome" "$out/demo.html" "$out/demo.png" \
	--vcpus 2 --serial --failure "assertion failed" --lost "paused at main+" \
	--flows --search PAUSE_TAKEN || fail "the demo's page"
node tests/html-view.mjs "$chrome" "$out/analyze.html" "$out/analyze.png" \
	--vcpus 2 --serial --failure "assertion failed" --race total \
	--race-source lost-update.c || fail "analyze's page"
node tests/html-view.mjs "$chrome" "$out/vcpus64.html" "$out/vcpus64.png" \
	--vcpus 64 --serial --flows --search KICK || fail "the 64-VCPU page"
rm -rf "$out/explore"
echo "html-render: OK (screenshots in $out/)"
