#!/bin/sh
# Fuzz smoke test: builds the libFuzzer targets (make fuzz) and runs each
# for a short while on a scratch copy of its seed corpus.  Skips (exit 0)
# when clang or the libFuzzer runtime is missing.
#   tests/fuzz/smoke.sh [seconds per target, default 20]
secs=${1:-20}
cd "$(dirname "$0")/../.." || exit 1
if ! command -v clang >/dev/null 2>&1; then
	echo "fuzz smoke: skipped (clang not found)"
	exit 0
fi
probe=$(mktemp -d) || exit 1
trap 'rm -rf "$probe"' EXIT
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n){return 0;}\n' >"$probe/p.c"
if ! clang -fsanitize=fuzzer -o "$probe/p" "$probe/p.c" >/dev/null 2>&1; then
	echo "fuzz smoke: skipped (libFuzzer runtime missing: apt-get install libclang-rt-dev)"
	exit 0
fi
make -s fuzz >"$probe/build.log" 2>&1 || { cat "$probe/build.log"; echo "fuzz smoke: build failed"; exit 1; }
rc=0
for bin in build/fuzz/fuzz_*; do
	[ -x "$bin" ] || continue
	name=$(basename "$bin"); name=${name#fuzz_}
	corpus="$probe/corpus-$name"
	mkdir -p "$corpus"
	[ -d "tests/fuzz/corpus/$name" ] && cp tests/fuzz/corpus/"$name"/* "$corpus"/ 2>/dev/null
	echo "fuzz smoke: $bin for ${secs}s"
	if ! "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=512 \
	     -artifact_prefix="$probe/" "$corpus" >"$probe/$name.log" 2>&1; then
		tail -40 "$probe/$name.log"
		for a in "$probe"/crash-* "$probe"/timeout-* "$probe"/oom-*; do
			[ -e "$a" ] && cp "$a" build/ && echo "fuzz smoke: saved build/$(basename "$a")"
		done
		rc=1
	else
		grep -E '^#[0-9]+.*DONE|Done [0-9]+ runs' "$probe/$name.log" | tail -1
	fi
done
[ $rc -eq 0 ] && echo "fuzz smoke: ok"
exit $rc
