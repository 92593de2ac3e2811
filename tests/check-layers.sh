#!/bin/sh
# Checks the layering of docs/ARCHITECTURE.md against the code:
#  1. folders: traces <- vmm <- replay <- debug <- tools (crosvm uses vmm
#     and traces): no file includes a header of a folder above its own;
#  2. inside vmm/ and replay/: each file calls only files listed before it
#     below (its object's undefined symbols, resolved against the other
#     objects), so there is no call circle;
#  3. the installed headers (the Makefile's PUBLIC_HEADERS) compile alone
#     and declare nothing of the replay or test-hook interfaces.
#   tests/check-layers.sh [BUILD]       (after make; from the top folder)
set -u
build=${1:-build}
cc=${CC:-cc}
fail=0
cd "$(dirname "$0")/.." || exit 2

bad() { echo "check-layers: $*"; fail=1; }

# 1. Folders and what they may include.
above() {
	case $1 in
	traces) echo "vmm replay debug tools crosvm" ;;
	vmm) echo "replay debug tools crosvm" ;;
	replay) echo "debug tools crosvm" ;;
	debug) echo "tools crosvm" ;;
	crosvm) echo "replay debug tools" ;;
	esac
}
for dir in traces vmm replay debug crosvm; do
	for up in $(above $dir); do
		grep -Hn "#include \"$up/" $(find $dir -name '*.[ch]') 2>/dev/null |
		while read -r hit; do
			echo "check-layers: $hit: $dir/ includes a header of $up/"
			echo x >>"$build/.layers-failed"
		done
	done
done
[ -f "$build/.layers-failed" ] && fail=1 && rm -f "$build/.layers-failed"

# 2. Calls inside vmm/ and inside replay/, bottom first.  A file may call
# those before it.
vmm_order="kvm elf longmode bus pause sched-plan vcpu-state page-tree step-observer
vtrace kick
handshake
end
memory
sched-policy sched-inject sched-watchdog sched sched-state land
mode
vcpu-stop debug-stop
console hypercall devices raw
vcpu
snapshot
vm
controller
run-desc
guest-id
recording
run-drive"
replay_order="stream
load
raw-input
check
land-hooks sched-source
mark
verdict
watch
replay"
check_calls() {  # folder, its order
	objs=$build/obj/$1
	[ -d "$objs" ] || { echo "check-layers: $objs: not built (run make)"; exit 2; }
	rank=0
	ranks=$build/.layers-ranks
	: >"$ranks"
	for m in $2; do
		rank=$((rank + 1))
		echo "$m $rank" >>"$ranks"
	done
	for o in "$objs"/*.o; do
		m=$(basename "$o" .o)
		grep -q "^$m " "$ranks" || bad "$1/$m.c is not in the layer order"
	done
	defs=$build/.layers-defs
	for o in "$objs"/*.o; do
		nm --defined-only "$o" | awk -v m="$(basename "$o" .o)" \
			'$2 ~ /^[TDRB]$/ { print $3, m }'
	done | sort >"$defs"
	for o in "$objs"/*.o; do
		m=$(basename "$o" .o)
		r=$(awk -v m="$m" '$1 == m { print $2 }' "$ranks")
		nm -u "$o" | awk '{ print $2 }' | sort | join - "$defs" |
		while read -r sym callee; do
			[ "$callee" = "$m" ] && continue
			cr=$(awk -v m="$callee" '$1 == m { print $2 }' "$ranks")
			[ "$cr" -lt "$r" ] && continue
			echo "check-layers: $1/$m.c calls $sym of $1/$callee.c, a" \
			     "layer above it or beside it"
			echo x >>"$build/.layers-failed"
		done
	done
	rm -f "$ranks" "$defs"
}
check_calls vmm "$vmm_order"
check_calls replay "$replay_order"
[ -f "$build/.layers-failed" ] && fail=1 && rm -f "$build/.layers-failed"

# 3. The installed headers.
headers=$(sed -n '/^PUBLIC_HEADERS :=/,/[^\\]$/p' Makefile |
	  sed 's/^PUBLIC_HEADERS :=//; s/\\$//')
[ -n "$headers" ] || bad "no PUBLIC_HEADERS in the Makefile"
for h in $headers; do
	flags=$(pkg-config --cflags liburcu-memb libzstd 2>/dev/null)
	echo "#include \"$h\"" | $cc -std=gnu11 -D_GNU_SOURCE -Wall -Wextra \
		-Werror -I. $flags -fsyntax-only -x c - 2>"$build/.layers-cc" ||
		{ bad "$h does not compile alone:"; cat "$build/.layers-cc"; }
	grep -En 'replay_hooks|replay_pause|replay_check|replay_attach|sched_source|vm_apply_recorded|await_recorded|stage_edits|test_hook|hook_point|VCPU_HOOK_' "$h" |
	while read -r hit; do
		echo "check-layers: $h:$hit: an installed header declares a replay" \
		     "or test-hook interface"
		echo x >>"$build/.layers-failed"
	done
done
rm -f "$build/.layers-cc"
[ -f "$build/.layers-failed" ] && fail=1 && rm -f "$build/.layers-failed"
[ $fail -eq 0 ] && echo "check-layers: folders, vmm/ and replay/ calls and installed headers: OK"
exit $fail
