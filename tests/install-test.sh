#!/bin/sh
# Installs vcprr into a scratch prefix as a user would and checks the result:
# exactly the expected files, with their modes; a program built with
# `pkg-config --static --cflags --libs vcprr` that uses the installed
# library (writes a trace and reads it back; with a usable /dev/kvm also
# boots a guest, records it and drives another with the controller API); a
# crosvm plugin built against the installed crosvm.h and libcrosvm_plugin;
# the installed vcprr and its man page; DESTDIR staging with other
# directories; and that `make uninstall` removes everything install put
# there.
# Usage: tests/install-test.sh [BUILD]   (BUILD defaults to "build"; CC and
# SAN are used as in the Makefile, so a sanitizer build's library links)
# Set KEEP=DIR to keep the scratch folder in DIR.
build=${1:-build}
cd "$(dirname "$0")/.." || exit 1
CC=${CC:-cc}

fail() { echo "install-test: FAILED: $*"; exit 1; }
note() { echo "install-test: $*"; }

[ -x "$build/vcprr" ] || fail "$build/vcprr not built (run make)"
command -v pkg-config >/dev/null 2>&1 || fail "pkg-config not found"

tmp=$(mktemp -d) || exit 1
cleanup() {
	if [ -n "$KEEP" ]; then mkdir -p "$KEEP" && cp -R "$tmp"/. "$KEEP"/; fi
	rm -rf "$tmp"
}
trap cleanup EXIT
prefix=$tmp/prefix
work=$tmp/work
mkdir -p "$work"
guests=$(cd "$build/guests" && pwd)
kvm=

# Our own make, not a job of the one that may be running this script (its
# job server is not ours); BUILD and SAN pick the build to install.
unset MAKEFLAGS MFLAGS MAKELEVEL
mk() {
	log=$work/make.log
	make -s BUILD="$build" SAN="$SAN" "$@" >"$log" 2>&1 ||
		{ cat "$log"; fail "make $* failed"; }
}

# What install puts under a prefix, with modes (PATH MODE).
expected() {
	cat <<EOF
$1/bin/vcprr 755
$2/libcrosvm_plugin.a 644
$2/libcrosvm_plugin.so 644
$2/libvcprr.a 644
$2/pkgconfig/crosvm_plugin.pc 644
$2/pkgconfig/vcprr.pc 644
$1/include/crosvm.h 644
$1/include/vcprr/traces/event.h 644
$1/include/vcprr/traces/trace.h 644
$1/include/vcprr/vmm/controller.h 644
$1/include/vcprr/vmm/recording.h 644
$1/include/vcprr/vmm/run-desc.h 644
$1/include/vcprr/vmm/sched.h 644
$1/include/vcprr/vmm/vm.h 644
$1/share/man/man1/vcprr.1 644
$2/pkgconfig/vcprr-guest.pc 644
$1/share/vcprr/demo.sh 755
$1/share/vcprr/examples/Makefile 644
EOF
	for f in guest.ld libvcprr-guest.a vcprr-guest.specs; do
		echo "$2/vcprr-guest/$f 644"; done
	for f in abi.h vcprr_guest.h vcprr_sync.h; do
		echo "$1/include/vcprr-guest/$f 644"; done
	for f in vmm/guest/libc/*.h; do
		echo "$1/include/vcprr-guest/libc/${f##*/} 644"; done
	for f in tests/guests/*.c; do
		n=${f##*/}
		echo "$1/share/vcprr/examples/$n 644"
		echo "$1/share/vcprr/guests/${n%.c}.elf 644"
	done
}

# check_installed ROOT PREFIX LIBDIR (ROOT: the folder installed into, the
# others as given to make): every expected file with its mode, and
# nothing else under ROOT.
check_installed() {
	expected "$1$2" "$1$3" | sort >"$work/want"
	find "$1" ! -type d | sort | while read -r f; do
		echo "$f $(stat -c %a "$f")"
	done >"$work/got"
	diff -u "$work/want" "$work/got" >"$work/diff" ||
		{ cat "$work/diff"; fail "installed files differ from the expected ones (- expected, + installed)"; }
}

# check_uninstalled ROOT: no file left, and no include/vcprr folder.
check_uninstalled() {
	left=$(find "$1" ! -type d)
	[ -z "$left" ] || fail "make uninstall left: $left"
	left=$(find "$1" -path '*/include/vcprr*')
	[ -z "$left" ] || fail "make uninstall left: $left"
}

# ---- install into a prefix
mk install PREFIX="$prefix"
check_installed "$prefix" "" /lib
note "installed $(wc -l <"$work/want") files under PREFIX"

export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
version=$("$prefix/bin/vcprr" --version) || fail "installed vcprr --version failed"
case $version in
"vcprr $(pkg-config --modversion vcprr) "*) ;;
*) fail "vcprr --version says '$version', vcprr.pc says $(pkg-config --modversion vcprr)" ;;
esac
[ "$(pkg-config --variable=prefix vcprr)" = "$prefix" ] ||
	fail "vcprr.pc: prefix is $(pkg-config --variable=prefix vcprr)"
cflags=$(pkg-config --cflags vcprr) || fail "pkg-config --cflags vcprr failed"
libs=$(pkg-config --static --libs vcprr) || fail "pkg-config --static --libs vcprr failed"
note "$version; pkg-config --cflags vcprr: $cflags"
note "pkg-config --static --libs vcprr: $libs"

# Every public header compiles on its own from the installed tree only.
for h in vmm/vm.h vmm/controller.h vmm/sched.h vmm/run-desc.h vmm/recording.h \
	 traces/trace.h traces/event.h; do
	printf '#include <%s>\n' "$h" >"$work/h.c"
	# shellcheck disable=SC2086
	(cd "$work" && $CC -std=c11 -Wall -Wextra -Werror $cflags -fsyntax-only h.c) ||
		fail "installed header $h does not compile on its own"
done

# ---- a program using the installed library
cat >"$work/user.c" <<'EOF'
/* Uses the installed libvcprr: a trace written and read back, and with a
 * guest folder: hello on two VCPUs recorded to a trace, and regwait driven
 * by the controller API (pause, set rbx, resume). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <traces/trace.h>
#include <vmm/controller.h>
#include <vmm/recording.h>
#include <vmm/run-desc.h>
#include <vmm/vm.h>

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "user.c:%d: check " \
	"failed: %s\n", __LINE__, #c); exit(1); } } while (0)
#define CHECK_MSG(c, msg) do { if (!(c)) { fprintf(stderr, "user.c:%d: " \
	"%s: %s\n", __LINE__, #c, msg); exit(1); } } while (0)

static char err[1024];

static void trace_roundtrip(const char *path)
{
	struct trace_header h = { .start_time_ns = 42 };
	struct trace_writer *w;
	struct trace_producer *p;
	struct trace_reader *r;
	struct trace_event ev;
	const uint8_t *payload;
	uint64_t n = 0, first = 0;

	strcpy(h.desc, "any text the program likes\n");
	w = trace_writer_open(path, &h, NULL, err, sizeof(err));
	CHECK_MSG(w, err);
	p = trace_producer_new(w);
	CHECK(p);
	for (unsigned i = 0; i < 1000; i++) {
		struct trace_event e = { .type = TEV_GUEST_LOG, .vcpu = i % 2,
					 .a0 = i, .payload_len = 5 };
		CHECK(trace_emit(p, &e, "hello") == 0);
	}
	CHECK(trace_writer_close(w, TEND_GUEST_EXIT, 7, 0x1234) == 0);

	r = trace_reader_open(path, err, sizeof(err));
	CHECK_MSG(r, err);
	CHECK(trace_reader_header(r)->version == TRACE_FORMAT_VERSION);
	CHECK(trace_reader_header(r)->start_time_ns == 42);
	CHECK(!strcmp(trace_reader_header(r)->desc, "any text the program likes\n"));
	CHECK(!trace_reader_truncated(r));
	while (trace_reader_next(r, &ev, &payload) == 1 && ev.type == TEV_GUEST_LOG) {
		if (!n)
			first = ev.seq;
		CHECK(ev.seq == first + n && ev.a0 == n && ev.vcpu == n % 2);
		CHECK(ev.payload_len == 5 && !memcmp(payload, "hello", 5));
		n++;
	}
	CHECK(n == 1000);
	CHECK(ev.type == TEV_VM_END && ev.a0 == TEND_GUEST_EXIT && ev.a1 == 7 &&
	      ev.a2 == 0x1234);
	CHECK(!strcmp(trace_event_name(ev.type), "VM_END"));
	CHECK(trace_reader_next(r, &ev, NULL) == 0 && !trace_reader_error(r));
	CHECK(trace_reader_nr_events(r) == 1001);
	trace_reader_close(r);
	printf("trace: 1000 events written and read back\n");
}

static char *slurp(int fd)
{
	static char buf[4096];
	ssize_t len = pread(fd, buf, sizeof(buf) - 1, 0);

	buf[len > 0 ? len : 0] = 0;
	return buf;
}

/* hello on two VCPUs, console captured, every event recorded in a trace
 * vcprr replay takes. */
static void run_hello(const char *guest, const char *dir)
{
	struct vm_config cfg;
	struct run_desc d;
	struct vm_result res;
	struct trace_reader *r;
	struct trace_event ev;
	unsigned starts = 0;
	uint64_t digest, events;
	struct vm *vm;
	char path[4096];

	run_desc_init(&d);
	d.nr_vcpus = 2;
	run_desc_vm_config(&d, &cfg);
	snprintf(path, sizeof(path), "%s/hello.console", dir);
	cfg.console_fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(cfg.console_fd >= 0);
	snprintf(path, sizeof(path), "%s/hello.trace", dir);
	cfg.trace = recording_open(path, &d, guest, err, sizeof(err));
	CHECK_MSG(cfg.trace, err);
	vm = vm_create(&cfg, guest, err, sizeof(err));
	CHECK_MSG(vm, err);
	CHECK(vm_nr_vcpus(vm) == 2);
	CHECK(vm_start(vm) == 0);
	CHECK(vm_wait(vm, 30000) == 0);
	res = *vm_result(vm);
	digest = vm_memory_digest(vm);
	vm_destroy(vm);  /* first: its VCPU threads are the trace's producers */
	CHECK_MSG(res.reason == TEND_GUEST_EXIT && res.exit_code == 0, res.diag);
	CHECK(recording_close(cfg.trace, path, res.reason, res.exit_code, digest,
			      NULL, err, sizeof(err)) == 0);
	CHECK(strstr(slurp(cfg.console_fd), "[vcpu 0] hello from vcpu 0 of 2\n"));
	CHECK(strstr(slurp(cfg.console_fd), "[vcpu 1] hello from vcpu 1 of 2\n"));
	close(cfg.console_fd);

	r = trace_reader_open(path, err, sizeof(err));
	CHECK_MSG(r, err);
	CHECK(run_desc_decode(trace_reader_header(r), &d, err, sizeof(err)) == 0);
	CHECK(d.nr_vcpus == 2 && !strcmp(d.guest.path, guest));
	while (trace_reader_next(r, &ev, NULL) == 1)
		starts += ev.type == TEV_VCPU_START;
	CHECK(starts == 2 && ev.type == TEV_VM_END && ev.a2 == digest);
	CHECK(!trace_reader_error(r) && !trace_reader_truncated(r));
	events = trace_reader_events_read(r);
	trace_reader_close(r);
	printf("vm: hello ran on 2 VCPUs, %llu events recorded and read back\n",
	       (unsigned long long)events);
}

/* regwait spins until rbx is set: pause VCPU 0, set rbx, resume.  The
 * guest clears rbx as it starts, so a pause that lands before that is
 * made again. */
static void run_regwait(const char *guest)
{
	struct vm_config cfg = { .nr_vcpus = 1 };
	vcpu_mask_t all = vcpu_mask_first(1);
	struct kvm_regs regs;
	struct vm *vm = vm_create(&cfg, guest, err, sizeof(err));
	int tries = 0;

	CHECK_MSG(vm, err);
	CHECK(vm_start(vm) == 0);
	do {
		CHECK(++tries <= 100);
		CHECK(vm_pause_vcpus(vm, &all, 0x42) == 0);
		CHECK(vm_wait_paused(vm, &all, 10000, NULL) == 0);
		CHECK(vcpu_get_regs(vm, 0, &regs) == 0);
		regs.rbx = 77;
		CHECK(vcpu_set_regs(vm, 0, &regs) == 0);
		CHECK(vcpu_resume(vm, 0, 0) == 0);
	} while (vm_wait(vm, 100) != 0);
	CHECK_MSG(vm_result(vm)->reason == TEND_GUEST_EXIT, vm_result(vm)->diag);
	CHECK(vm_result(vm)->exit_code == 77);
	vm_destroy(vm);
	printf("controller: paused, set rbx, resumed: the guest exited with 77\n");
}

int main(int argc, char **argv)
{
	char path[4096];

	if (argc < 2) {
		fprintf(stderr, "usage: user SCRATCH_DIR [GUESTS_DIR]\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/roundtrip.trace", argv[1]);
	trace_roundtrip(path);
	if (argc > 2) {
		snprintf(path, sizeof(path), "%s/hello.elf", argv[2]);
		run_hello(path, argv[1]);
		snprintf(path, sizeof(path), "%s/regwait.elf", argv[2]);
		run_regwait(path);
	}
	return 0;
}
EOF
# shellcheck disable=SC2086
(cd "$work" && $CC -std=gnu11 -Wall -Wextra -Werror $SAN -o user user.c $cflags $libs) ||
	fail "a program using <vmm/vm.h>, <vmm/controller.h> and <traces/trace.h> does not build with pkg-config's flags"
# Nothing outside the prefix (say, the source tree) may supply a vcprr header.
# shellcheck disable=SC2086
deps=$(cd "$work" && $CC -MM $cflags user.c | sed 's/[:\\]/ /g' | tr '\n' ' ')
for d in $deps; do
	case $d in
	user.o | user.c | "$prefix"/include/*) ;;
	*) fail "user.c uses $d, which is not installed" ;;
	esac
done
case " $deps " in
*" $prefix/include/vcprr/vmm/vm.h "*) ;;
*) fail "cc -MM does not list the installed vmm/vm.h for user.c: $deps" ;;
esac

# Is KVM usable?  The installed vcprr says, and is tested for real doing so:
# only its "cannot run" status (126) with a word about KVM means no.
"$prefix/bin/vcprr" run "$guests/hello.elf" >"$work/run.log" 2>&1
rc=$?
if [ $rc -eq 0 ]; then
	kvm=yes
	grep -q 'hello from vcpu 0 of 1' "$work/run.log" ||
		fail "installed vcprr run printed: $(cat "$work/run.log")"
	set -- "$guests"
elif [ $rc -eq 126 ] && grep -qi kvm "$work/run.log"; then
	note "SKIPPED the guest runs: KVM is not usable here ($(tail -1 "$work/run.log"))"
	set --
else
	fail "installed vcprr run hello.elf exited $rc: $(cat "$work/run.log")"
fi
"$work/user" "$work" "$@" >"$work/user.log" 2>&1 ||
	{ cat "$work/user.log"; fail "the program using the installed library failed"; }
sed 's/^/install-test: program: /' "$work/user.log"
if [ "$kvm" = yes ]; then
	"$prefix/bin/vcprr" replay "$work/hello.trace" >"$work/replay.log" 2>&1 ||
		{ cat "$work/replay.log"; fail "the installed vcprr does not replay the program's trace"; }
	note "program: $(head -1 "$work/replay.log")"
fi

# ---- a crosvm plugin against the installed header and library
cflags=$(pkg-config --cflags crosvm_plugin) || fail "pkg-config --cflags crosvm_plugin failed"
libs=$(pkg-config --libs crosvm_plugin) || fail "pkg-config --libs crosvm_plugin failed"
# shellcheck disable=SC2086
$CC -Wall -Wextra -Werror $SAN -o "$work/adder" tests/plugins/adder.c $cflags $libs ||
	fail "tests/plugins/adder.c does not build against the installed crosvm.h and libcrosvm_plugin"
# shellcheck disable=SC2086
deps=$($CC -MM $cflags tests/plugins/adder.c | grep -o '[^ ]*crosvm\.h')
[ "$deps" = "$prefix/include/crosvm.h" ] || fail "adder.c uses $deps, not the installed crosvm.h"
so=$(LD_LIBRARY_PATH=$prefix/lib ldd "$work/adder" | awk '$1 == "libcrosvm_plugin.so" { print $3 }')
[ "$so" = "$prefix/lib/libcrosvm_plugin.so" ] || fail "adder links '$so', not the installed library"
nm "$prefix/lib/libcrosvm_plugin.a" | grep -q ' T crosvm_connect$' ||
	fail "the installed libcrosvm_plugin.a has no crosvm_connect"
if [ -n "$kvm" ]; then
	(cd "$work" && VCPRR_RECORD=adder.trace LD_LIBRARY_PATH=$prefix/lib ./adder) ||
		fail "the plugin built against the installed library failed"
	"$prefix/bin/vcprr" replay "$work/adder.trace" >"$work/replay.log" 2>&1 ||
		{ cat "$work/replay.log"; fail "the installed vcprr does not replay the plugin's trace"; }
	note "plugin: adder ran and was recorded; $(head -1 "$work/replay.log")"
else
	note "plugin: adder built and linked (not run: no /dev/kvm)"
fi

# ---- guests built out of tree with only the installed SDK, run from
# another folder.  A host whose KVM cannot run FPU code in guests (vcprr
# says so) gets them built with the SDK's nofpu_cflags, sse.c left out.
ex=$work/examples
cp -R "$prefix/share/vcprr/examples" "$ex"
(cd "$ex" && make -s sse.elf >"$work/ex.log" 2>&1) ||
	{ cat "$work/ex.log"; fail "examples: sse.c does not build with vcprr-guest.pc"; }
nofpu=
if [ -n "$kvm" ]; then
	st=0
	(cd / && "$prefix/bin/vcprr" run "$ex/sse.elf" --vcpus 2) >"$work/sse.out" 2>&1 || st=$?
	if [ $st = 125 ] && grep -q 'cannot run x87/SSE/AVX' "$work/sse.out"; then
		nofpu=1
		rm "$ex/sse.c" "$ex/sse.elf"
		note "examples: this host's KVM cannot run SSE in guests; built with nofpu_cflags"
	elif [ $st != 0 ]; then
		cat "$work/sse.out"; fail "examples: sse.elf failed ($st)"
	else
		note "examples: sse.elf (SSE/AVX, plain -O2) ran"
	fi
fi
(cd "$ex" && make -s NOFPU=$nofpu >"$work/ex.log" 2>&1) ||
	{ cat "$work/ex.log"; fail "examples: make with the installed SDK failed"; }
readelf -S "$ex/ck-ring.elf" | grep -q debug_line || fail "examples: no debug info"
note "examples: $(ls "$ex"/*.elf | wc -l) guests built out of tree"
if [ -n "$kvm" ]; then
	top=$(pwd)
	mkdir -p "$work/elsewhere"
	cd "$work/elsewhere"
	v=$prefix/bin/vcprr
	"$v" run "$ex/runtime.elf" --vcpus 3 >"$work/rt.out" 2>&1 ||
		{ cat "$work/rt.out"; fail "examples: runtime.elf failed"; }
	st=0
	"$v" explore "$ex/ck-ring-2prod.elf" --vcpus 3 --runs 60 --seed 1 -j 2 \
		-o found >"$work/ex.out" 2>&1 || st=$?
	[ $st = 1 ] || { cat "$work/ex.out"; fail "explore did not find ck-ring-2prod's bug ($st)"; }
	"$v" explore "$ex/ck-ring.elf" --vcpus 3 --runs 30 --seed 1 -j 2 \
		-o clean >"$work/ex.out" 2>&1 || { cat "$work/ex.out"; fail "explore failed ck-ring"; }
	t=$(ls found/fail-*.trace | head -n 1)
	"$v" replay "$t" >"$work/ex.out" 2>&1 || true
	grep -q same "$work/ex.out" || { cat "$work/ex.out"; fail "replay of $t"; }
	"$v" record -o ring.trace "$ex/ck-ring.elf" --vcpus 2 --sched serial >/dev/null 2>&1 ||
		fail "record of ck-ring failed"
	"$v" replay ring.trace | grep -q same || fail "replay of ring.trace"
	"$v" inspect ring.trace >/dev/null || fail "inspect ring.trace"
	printf 'from the command line\n' >in.bin
	"$v" record -o args.trace "$ex/args.elf" --arg 3 --arg 0x2a --data in.bin \
		--sched serial >"$work/args.out" 2>&1 ||
		{ cat "$work/args.out"; fail "record of args.elf with --arg and --data"; }
	grep -q 'argv\[1\] 42' "$work/args.out" &&
		grep -q "first line 'from the command line'" "$work/args.out" ||
		{ cat "$work/args.out"; fail "args.elf did not read its --arg and --data"; }
	rm in.bin
	"$v" replay args.trace | grep -q same || fail "replay of args.trace without its --data file"
	cd "$top"
	note "examples: run, explore (bug found, twin clean), record, replay, inspect from another folder; --arg and --data reach a guest and its trace"
fi

# ---- the man page
page=$prefix/share/man/man1/vcprr.1
if command -v man >/dev/null 2>&1; then
	MANWIDTH=80 man -M "$prefix/share/man" vcprr >"$work/man.txt" 2>"$work/man.err" ||
		fail "man -M PREFIX/share/man vcprr failed: $(cat "$work/man.err")"
	[ ! -s "$work/man.err" ] || fail "man warns: $(cat "$work/man.err")"
	grep -q '^NAME' "$work/man.txt" || fail "the man page did not render"
	note "man page: $(wc -l <"$work/man.txt") lines"
fi
if command -v groff >/dev/null 2>&1; then
	groff -man -Tutf8 -ww -z "$page" >"$work/groff.err" 2>&1 ||
		fail "groff cannot format vcprr.1: $(cat "$work/groff.err")"
	[ ! -s "$work/groff.err" ] || fail "groff warns about vcprr.1: $(cat "$work/groff.err")"
fi
command -v man >/dev/null 2>&1 || command -v groff >/dev/null 2>&1 ||
	note "SKIPPED rendering the man page: neither man nor groff is installed"
# The page documents the version it comes with.
grep -q "^\.TH VCPRR 1 [^ ]* \"${version% (*}\"" "$page" ||
	fail "vcprr.1's .TH line does not name ${version% (*}"

mk uninstall PREFIX="$prefix"
check_uninstalled "$prefix"
note "uninstall removed every file"

# ---- DESTDIR staging, with Debian-style directories
stage=$tmp/stage
mk install DESTDIR="$stage" PREFIX=/usr LIBDIR=/usr/lib/multiarch MANDIR=/usr/share/man
check_installed "$stage" /usr /usr/lib/multiarch
grep -rq "$stage" "$stage" && fail "an installed file names the DESTDIR: $(grep -rl "$stage" "$stage")"
pc=$stage/usr/lib/multiarch/pkgconfig/vcprr.pc
# shellcheck disable=SC2016
if ! grep -qx 'prefix=/usr' "$pc" || ! grep -qx 'libdir=${prefix}/lib/multiarch' "$pc"; then
	fail "vcprr.pc under DESTDIR: $(grep -v '^#' "$pc")"
fi
mk uninstall DESTDIR="$stage" PREFIX=/usr LIBDIR=/usr/lib/multiarch MANDIR=/usr/share/man
check_uninstalled "$stage"
note "DESTDIR staging: installed and uninstalled"
echo "install-test: OK"
