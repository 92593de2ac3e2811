#!/bin/sh
# Re-records the regression corpus that `make test` replays with
# `vcprr replay --check tests/corpus`.  Run from the top of the tree after
# `make`, when the trace format or a guest changes:
#     tests/corpus/record.sh
# Guest paths are recorded relative to the top of the tree.
set -eu
cd "$(dirname "$0")/../.."
v=build/vcprr
g=build/guests
out=tests/corpus
rec() {
	name=$1; shift
	# Guests that end with a fault or a non-zero code are part of the corpus.
	"$v" record -f -o "$out/$name.trace" "$@" >/dev/null 2>&1 || true
	echo "recorded $out/$name.trace"
}
rm -f "$out"/*.trace
rec hello-parallel    $g/hello.elf --vcpus 4
rec hello-serial      $g/hello.elf --vcpus 4 --sched serial
rec hello-step        $g/hello.elf --vcpus 2 --sched step
rec rng-parallel      $g/rng.elf --vcpus 2
rec rng-serial        $g/rng.elf --vcpus 2 --sched serial --policy random --seed 7
rec counter-serial-rr $g/counter.elf --vcpus 4 --sched serial --pause-every 1ms --hold 100us --seed 3
rec counter-serial-pct $g/counter.elf --vcpus 4 --sched serial --policy pct:3 --pause-every 1ms --seed 5
rec pio-serial-random $g/pio.elf --vcpus 2 --arg 3000 --sched serial --policy random --pause-every 1ms --hold 200us --seed 9
rec pio-parallel      $g/pio.elf --vcpus 2 --arg 20000 --pause-every 2ms --hold 200us --seed 4
rec triple-parallel   $g/triple.elf --vcpus 2
rec assert-step       $g/assert.elf --sched step
