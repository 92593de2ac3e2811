#!/bin/sh
# Replay fidelity of serial and step recordings, with pauses on.
#
# Records every project guest that runs under --sched serial or step, in
# both modes, with each policy (rr, random, pct:3) and the built-in pause
# controller (--pause-every, and two pause scripts), then replays every
# recording twice while the machine is kept busy.  Every replay must say
# `same`, with the same event count both times.  Failing recordings are
# kept, and the command to replay them printed.
#
# With -p, parallel recordings instead: guests whose VCPUs share no data,
# with pauses (--pause-every, the pause scripts) or none, ended every way
# a run ends (a clean exit, an assertion, a fault, vcprr_exit, all VCPUs
# halted, --timeout, SIGTERM), so that the end of each run, where the
# stop caught every VCPU, is replayed too.
#
#   tests/soak-fidelity.sh [-q] [-p] [-b BUILD] [-n SEEDS] [-s FIRST_SEED] [-j JOBS] [-k DIR]
#
#   -q         quick: one policy per guest and mode, in turn (make test)
#   -p         parallel recordings (see above)
#   -n SEEDS   rounds (default 1); every recording gets a seed of its own
#   -s SEED    the first seed (default 1)
#   -j JOBS    recordings in flight at once (default 2)
#   -k DIR     where failing recordings are kept (default: a new folder
#              under /tmp, removed when nothing failed)
# make test runs one quick round; a CI soak tier runs more (-n 10: about
# 1,100 recordings).  Exit status 0 when every replay was `same`, 1
# otherwise, 2 on a usage error.
set -u

build=build seeds=1 first=1 jobs=2 keep= quick= parallel=
while getopts qpb:n:s:j:k: o; do
	case $o in
	q) quick=1 ;;
	p) parallel=1 ;;
	b) build=$OPTARG ;;
	n) seeds=$OPTARG ;;
	s) first=$OPTARG ;;
	j) jobs=$OPTARG ;;
	k) keep=$OPTARG ;;
	*) echo "usage: $0 [-q] [-p] [-b BUILD] [-n SEEDS] [-s FIRST_SEED] [-j JOBS] [-k DIR]" >&2
	   exit 2 ;;
	esac
done
case "$seeds$first$jobs" in *[!0-9]*|'')
	echo "$0: -n, -s and -j take numbers" >&2; exit 2 ;;
esac
v=$build/vcprr
g=$build/guests
[ -x "$v" ] || { echo "$0: $v: not built (run make)" >&2; exit 2; }

work=$(mktemp -d /tmp/vcprr-soak-XXXXXX) || exit 2
[ -n "$keep" ] || keep=$work/failed
mkdir -p "$keep" || exit 2
printf 'sleep 2ms\npause 1 0x11\nwait 1\npause 1 0x22\nresume 1\n' >"$work/late.script"
printf 'sleep 1ms\npause 1 0x11\nwait 1\npause 1 0x22\nresume 1\nwait 1\nsleep 1ms\nresume 1\n' \
	>"$work/twice.script"

# guest, VCPUs, extra options; each runs to an end of its own under a
# serial scheduler (a clean exit, an assertion, a fault, vcprr_exit).
guests() {
	cat <<EOF
hello 3
rng 2
assert 2
triple 2
exitcode 3
counter 2
handshake 2
handshake-fixed 2
lost-update 3
lost-update-fixed 2
lost-update-yield 2
tas-lock 2
xchg-lock 2
chain-order 3
chain-order-fixed 3
pio 2 --arg 300
hostile 2 --arg 0x100
hostile 2 --arg 0x1
hostile 2 --arg 0x204
EOF
}

# Parallel: guest, VCPUs, how the run ends, extra options.  No two VCPUs
# of these share data (a cross-VCPU race is no replay's to repeat).
parallel_guests() {
	cat <<EOF
pio 4 exit --arg 3000
hello 3 exit
exitcode 3 exit
assert 2 exit
triple 2 exit
idle 2 halt
staggered 3 exit --arg 2000
spin 2 timeout --timeout 40ms
exit-spin 3 timeout --timeout 40ms
storm 3 timeout --timeout 60ms
pio 2 term --arg 100000000
staggered 3 term --arg 100000000
storm 4 term
EOF
}

# Some load of our own, so that thread timing differs from run to run.
load() {
	i=0
	while [ $i -lt 2 ]; do
		sh -c 'while :; do :; done' &
		echo $! >>"$work/load.pids"
		i=$((i + 1))
	done
}

stop_load() {
	[ -f "$work/load.pids" ] && kill $(cat "$work/load.pids") 2>/dev/null
	rm -f "$work/load.pids"
}
trap 'stop_load; exit 130' INT TERM

# One recording and its two replays; one result line on stdout.
one() {
	name=$1 vcpus=$2 mode=$3 policy=$4 seed=$5 ctl=$6; shift 6
	t=$work/$name-$mode-$(echo "$policy" | tr -d :)-$seed-$ctl.trace
	case $ctl in
	every) c="--pause-every 1ms --hold 100us" ;;
	often) c="--pause-every 50us" ;;
	late) c="--pause-script $work/late.script" ;;
	twice) c="--pause-script $work/twice.script" ;;
	none) c= ;;
	esac
	# Parallel: `policy` says how the run ends.
	if [ "$mode" = parallel ]; then
		set -- --sched parallel "$@"
	else
		set -- --sched "$mode" --policy "$policy" "$@"
	fi
	expect=-1
	if [ "$policy" = term ]; then
		# Stopped from outside: status 128 + SIGTERM.
		"$v" record -o "$t" "$g/$name.elf" --vcpus "$vcpus" "$@" \
			--seed "$seed" $c >/dev/null 2>"$t.rec" &
		sleep 0.1
		kill -TERM $!
		wait $!
		rc=$?
		expect=143
	else
		# (--preserve-status: a timeout is 143, not 124 like an assertion)
		timeout --preserve-status 120 "$v" record -o "$t" "$g/$name.elf" \
			--vcpus "$vcpus" "$@" --seed "$seed" $c >/dev/null 2>"$t.rec"
		rc=$?
	fi
	if { [ $rc -ge 128 ] && [ $rc -ne $expect ]; } || [ ! -s "$t" ]; then
		cp "$t" "$t.rec" "$keep/" 2>/dev/null
		echo "FAIL record $name $mode $policy seed $seed $ctl: status $rc: $(tail -1 "$t.rec")"
		return
	fi
	r1=$(timeout --preserve-status 120 "$v" replay -q "$t" 2>&1 | head -1)
	r2=$(timeout --preserve-status 120 "$v" replay -q "$t" 2>&1 | head -1)
	n1=$(echo "$r1" | sed -n 's/.*: same (.*, \([0-9]*\) events).*/\1/p')
	n2=$(echo "$r2" | sed -n 's/.*: same (.*, \([0-9]*\) events).*/\1/p')
	if [ -n "$n1" ] && [ "$n1" = "$n2" ]; then
		echo "ok $name $mode $policy seed $seed $ctl ($n1 events)"
		rm -f "$t" "$t.rec"
		return
	fi
	cp "$t" "$keep/"
	echo "FAIL $name $mode $policy seed $seed $ctl: $v replay $keep/$(basename "$t")"
	echo "  1st: $r1"
	echo "  2nd: $r2"
}

start=$(date +%s)
load
list=$work/list
: >"$list"
n=0
s=0
while [ -n "$parallel" ] && [ $s -lt "$seeds" ]; do
	parallel_guests | while read -r name vcpus end extra; do
		for ctl in often every late twice none; do
			n=$((n + 1))
			[ -n "$quick" ] && [ $(((n + s) % 3)) -ne 0 ] && continue
			# (A controller keeps halted VCPUs from ending the run.)
			[ "$end" = halt ] && [ $ctl != none ] && continue
			echo "$name $vcpus parallel $end $((first + s * 1000 + n)) $ctl $extra"
		done
	done >>"$list"
	s=$((s + 1))
done
while [ -z "$parallel" ] && [ $s -lt "$seeds" ]; do
	guests | while read -r name vcpus extra; do
		for mode in serial step; do
			# Step mode single-steps every instruction: counter's
			# 100,000 additions per VCPU take minutes there.
			[ "$mode" = step ] && [ "$name" = counter ] && continue
			for policy in rr random pct:3; do
				n=$((n + 1))
				# Quick: rr, random, pct:3 in turn over the list.
				[ -n "$quick" ] && [ $(((n + s) % 3)) -ne 0 ] && continue
				ctl=every
				case $((n % 8)) in 3) ctl=late ;; 6) ctl=twice ;; esac
				[ "$vcpus" -lt 2 ] && ctl=every
				echo "$name $vcpus $mode $policy $((first + s * 1000 + n)) $ctl $extra"
			done
		done
	done >>"$list"
	s=$((s + 1))
done
total=$(wc -l <"$list")
results=$work/results
# Run the list $jobs at a time (waiting for those, not for the load).
i=0
pids=
while read -r name vcpus mode policy seed ctl extra; do
	one "$name" "$vcpus" "$mode" "$policy" "$seed" "$ctl" $extra >>"$results.$((i % jobs))" &
	pids="$pids $!"
	i=$((i + 1))
	if [ $((i % jobs)) -eq 0 ]; then
		wait $pids
		pids=
	fi
done <"$list"
[ -z "$pids" ] || wait $pids
stop_load
cat "$results".* >"$results"
failed=$(grep -c '^FAIL' "$results")
grep -A2 '^FAIL' "$results"
echo "fidelity: $total recordings, $((2 * total)) replays, $failed failed, $(($(date +%s) - start)) s"
if [ "$failed" -eq 0 ]; then
	rm -rf "$work"
	exit 0
fi
echo "fidelity: failing recordings kept in $keep"
rm -f "$work"/*.trace "$work"/*.rec
exit 1
