#!/bin/sh
# Renders the page of `vcprr export --format html` in headless Chromium and
# checks that the timeline drew a lane per VCPU with state slices.
# Usage: tests/html-render.sh [BUILD]   (BUILD defaults to "build")
# Needs /dev/kvm to record a trace and chromium to render it; installs
# Debian's chromium with apt when running as root and it is missing.
# Skips (exit 0, with a message) when either cannot be had.
# Set KEEP=DIR to keep the trace, page, DOM and screenshot in DIR.
build=${1:-build}
vcprr=$build/vcprr

skip() { echo "html-render: SKIPPED: $*"; exit 0; }
fail() { echo "html-render: FAILED: $*"; exit 1; }

find_chromium() {
	for c in chromium chromium-browser google-chrome; do
		command -v "$c" >/dev/null 2>&1 && { echo "$c"; return; }
	done
}

[ -x "$vcprr" ] || fail "$vcprr not built (run make)"
chrome=$(find_chromium)
if [ -z "$chrome" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
	echo "html-render: installing chromium"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
		>/dev/null 2>&1 || true
	chrome=$(find_chromium)
fi
[ -n "$chrome" ] || skip "chromium is not installed (apt-get install chromium)"

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$vcprr" record -o "$dir/t.trace" "$build/guests/counter.elf" --vcpus 4 \
	--pause-every 500us --hold 100us --seed 5 >"$dir/record.log" 2>&1 ||
	skip "cannot record a trace here: $(tail -1 "$dir/record.log")"
"$vcprr" export --format html "$dir/t.trace" -o "$dir/t.html" ||
	fail "export --format html failed"

flags="--headless --no-sandbox --disable-gpu --disable-background-networking \
--disable-component-update --disable-sync --no-first-run \
--user-data-dir=$dir/profile --window-size=1400,420"
# shellcheck disable=SC2086
timeout 60 "$chrome" $flags --dump-dom "file://$dir/t.html" \
	>"$dir/dom.html" 2>"$dir/chrome.log" || fail "chromium --dump-dom failed"
# shellcheck disable=SC2086
timeout 60 "$chrome" $flags --screenshot="$dir/t.png" "file://$dir/t.html" \
	>>"$dir/chrome.log" 2>&1 || fail "chromium --screenshot failed"

lanes=$(grep -o '<g class="lane"' "$dir/dom.html" | wc -l)
pauses=$(grep -o 'class="pause"' "$dir/dom.html" | wc -l)
running=$(grep -o 'class="running"' "$dir/dom.html" | wc -l)
[ -n "$KEEP" ] && mkdir -p "$KEEP" && cp "$dir"/t.* "$dir/dom.html" "$KEEP"/
[ "$lanes" -eq 4 ] || fail "expected 4 VCPU lanes in the DOM, found $lanes"
[ "$running" -gt 0 ] || fail "no running slices drawn"
[ "$pauses" -gt 0 ] || fail "no pauses drawn"
[ -s "$dir/t.png" ] || fail "no screenshot"
echo "html-render: OK ($lanes lanes, $running running slices, $pauses pauses drawn)"
