# vcprr build.  `make` builds build/vcprr, build/libvcprr.a, every guest
# under tests/guests/ as build/guests/NAME.elf, the crosvm plugin library
# (build/libcrosvm_plugin.{a,so}, header build/include/crosvm.h) and the
# plugin programs of tests/plugins/ as build/plugins/NAME.  `make test` runs
# the suite.  `make install` installs the command, the libraries, their
# headers and pkg-config files and the man page (see "install" below).
# Dependencies (liburcu, libzstd, cmocka) come from pkg-config, Zydis (the
# x86 decoder of the race analysis, which ships no .pc file) from its
# header; `make deps` installs the Debian packages, and `make test` /
# `make demo` do so by themselves when one is missing.

BUILD    ?= build
CC       ?= gcc
PKGS     := liburcu-memb libzstd
DEBPKGS  := pkg-config liburcu-dev libzstd-dev libcmocka-dev libzydis-dev libck-dev \
	    nodejs gdb
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

WARN     := -Wall -Wextra -Wno-unused-parameter
# CFLAGS/LDFLAGS are the user's (optimisation, extra flags); the project's
# own flags are added in ALL_CFLAGS so that `make CFLAGS=-O1` keeps them.
CFLAGS   ?= -O2 -g
SAN      ?=
ALL_CFLAGS = $(CFLAGS) -std=gnu11 $(WARN) -I. -D_GNU_SOURCE -pthread $(SAN) $(DEP_CFLAGS)
ALL_LDFLAGS = $(LDFLAGS) -pthread $(SAN)

# Only probe pkg-config for targets that compile something.
NODEP_GOALS := deps clean help uninstall
ifneq ($(filter-out $(NODEP_GOALS),$(or $(MAKECMDGOALS),all)),)
  HAVE_PKGCONFIG := $(shell command -v pkg-config >/dev/null 2>&1 && echo yes)
  HAVE_ZYDIS := $(shell printf '\043include <Zydis/Zydis.h>\n' | $(CC) -E -x c - >/dev/null 2>&1 && echo yes)
  HAVE_CK := $(shell printf '\043include <ck_ring.h>\n' | gcc -E -x c - >/dev/null 2>&1 && echo yes)
  MISSING := $(strip $(if $(HAVE_PKGCONFIG),$(foreach p,$(PKGS) cmocka,$(if $(shell pkg-config --exists $(p) && echo ok),,$(p))),pkg-config) $(if $(HAVE_ZYDIS),,zydis) $(if $(HAVE_CK),,libck))
endif
DEP_CFLAGS := $(if $(MISSING),,$(shell pkg-config --cflags $(PKGS)))
DEP_LIBS   := $(if $(MISSING),,$(shell pkg-config --libs $(PKGS)))
CMOCKA_LIBS := $(if $(MISSING),,$(shell pkg-config --libs cmocka))
# The tools (not libvcprr) decode x86 instructions.
TOOL_LIBS  := -lZydis

LIB_SRCS  := $(sort $(wildcard traces/*.c vmm/*.c replay/*.c debug/*.c))
TOOL_SRCS := $(sort $(wildcard tools/*.c))
TEST_SRCS := $(sort $(wildcard tests/test_*.c))
TEST_HELPER_SRCS := $(sort $(wildcard tests/helpers/*.c))
GUEST_SRCS := $(sort $(wildcard tests/guests/*.c))
CROSVM_SRCS := $(sort $(wildcard crosvm/*.c))
PLUGIN_SRCS := $(sort $(wildcard tests/plugins/*.c))

LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
TOOL_OBJS := $(TOOL_SRCS:%.c=$(BUILD)/obj/%.o)
TEST_HELPER_OBJS := $(TEST_HELPER_SRCS:%.c=$(BUILD)/obj/%.o)
TEST_BINS := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)
GUESTS    := $(GUEST_SRCS:tests/guests/%.c=$(BUILD)/guests/%.elf)
# The plugin library is position-independent code of its own: the crosvm
# API over the VMM and the trace writer (not replay/).
PIC_SRCS  := $(sort $(wildcard traces/*.c vmm/*.c) $(CROSVM_SRCS))
PIC_OBJS  := $(PIC_SRCS:%.c=$(BUILD)/pic/%.o)
PLUGINS   := $(PLUGIN_SRCS:tests/plugins/%.c=$(BUILD)/plugins/%)
CROSVM_LIBS := $(BUILD)/libcrosvm_plugin.a $(BUILD)/libcrosvm_plugin.so \
	$(BUILD)/include/crosvm.h

PC_FILES  := $(BUILD)/vcprr.pc $(BUILD)/crosvm_plugin.pc $(BUILD)/vcprr-guest.pc

.PHONY: all deps check-deps test demo clean fuzz tsan check-asan help \
	install install-guest-sdk install-strip uninstall FORCE
all: check-deps $(BUILD)/vcprr $(BUILD)/libvcprr.a $(GUESTS) $(GUEST_SDK_FILES) $(CROSVM_LIBS) \
	$(PLUGINS) $(PC_FILES)

help:
	@echo "make          build build/vcprr, build/libvcprr.a and the guests"
	@echo "make demo     explore a racy guest, minimize, replay and inspect the failure"
	@echo "make test     run the whole test suite (installs deps if missing)"
	@echo "make deps     install the Debian packages: $(DEBPKGS)"
	@echo "make fuzz     build the libFuzzer targets with clang"
	@echo "make tsan     run the concurrency tests under ThreadSanitizer"
	@echo "make check-asan  run the suite under ASan+UBSan"
	@echo "make install  install vcprr, its libraries, headers, pkg-config files and"
	@echo "              man page under PREFIX (default /usr/local; DESTDIR, BINDIR,"
	@echo "              LIBDIR, INCLUDEDIR, MANDIR, PKGCONFIGDIR override)"
	@echo "make install-strip  the same with a stripped binary"
	@echo "make uninstall  remove what make install installed (same variables)"

check-deps:
ifneq ($(MISSING),)
	@echo "vcprr: missing build dependencies: $(MISSING)" >&2
	@echo "vcprr: install them with 'make deps' (apt-get install $(DEBPKGS))" >&2
	@exit 1
endif

deps:
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEBPKGS)

# test and demo install what is missing first, then re-enter make so that
# pkg-config is probed again with the packages present.
ifneq ($(MISSING),)
ifneq ($(DEPS_TRIED),)
test demo: check-deps
else
test demo:
	@echo "vcprr: installing missing dependencies ($(MISSING))"
	$(MAKE) deps
	$(MAKE) DEPS_TRIED=1 $@
endif
else
# The corpus replay and the install test count as tests of the suite, so
# that its closing line "N passed, N failed" is the last line printed.
test: all $(TEST_BINS)
	@VCPRR_BUILD=$(BUILD) tests/run-tests.sh $(BUILD) $(TEST_BINS) -- \
		"$(BUILD)/vcprr replay --check tests/corpus --timeout 60s" \
		"CC='$(CC)' SAN='$(SAN)' tests/install-test.sh $(BUILD)"

demo: all
	scripts/demo.sh $(BUILD)
endif

$(BUILD)/libvcprr.a: $(LIB_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/vcprr: $(TOOL_OBJS) $(BUILD)/libvcprr.a
	$(CC) $(ALL_LDFLAGS) -o $@ $(TOOL_OBJS) $(BUILD)/libvcprr.a $(DEP_LIBS) $(TOOL_LIBS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

# The HTML export's page is embedded with .incbin (the compiler does not
# see those files).
$(BUILD)/obj/tools/export-html-page.o: tools/export-html-page.html \
	tools/export-html-page.js

# --- crosvm plugin compatibility library (crosvm/crosvm.h)
$(BUILD)/pic/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -fPIC -MMD -MP -c -o $@ $<

$(BUILD)/libcrosvm_plugin.a: $(PIC_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

# Only the crosvm_* API is exported (crosvm/plugin.map).
$(BUILD)/libcrosvm_plugin.so: $(PIC_OBJS) crosvm/plugin.map
	$(CC) $(ALL_LDFLAGS) -shared -Wl,--version-script=crosvm/plugin.map \
		-Wl,-soname,libcrosvm_plugin.so -o $@ $(PIC_OBJS) $(DEP_LIBS)

$(BUILD)/include/crosvm.h: crosvm/crosvm.h
	@mkdir -p $(@D)
	cp $< $@

# Plugin programs build like any crosvm plugin: the header and -lcrosvm_plugin.
$(BUILD)/plugins/%: tests/plugins/%.c $(CROSVM_LIBS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) -Wall -Wextra -I$(BUILD)/include -o $@ $< \
		-L$(BUILD) -lcrosvm_plugin -pthread -Wl,-rpath,$(abspath $(BUILD))

# Tests link the library, the test helpers and the tool objects except main
# (so CLI code is testable in-process).
TOOL_LIB_OBJS := $(filter-out $(BUILD)/obj/tools/vcprr.o,$(TOOL_OBJS))
$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(TEST_HELPER_OBJS) $(TOOL_LIB_OBJS) $(BUILD)/libvcprr.a
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(TEST_HELPER_OBJS) $(TOOL_LIB_OBJS) $(BUILD)/libvcprr.a $(DEP_LIBS) $(TOOL_LIBS) $(CMOCKA_LIBS)

# --- guests, and the guest SDK they are built with as users build theirs:
# the flags of vcprr-guest.pc (GUEST_SDK_CFLAGS, GUEST_SDK_LIBS over
# build/guest-sdk/: the runtime archive, the linker script and the GCC
# specs that put the archive and libgcc at the end of any link).
# Freestanding x86-64 C with SSE, linked at the runtime's address.  The
# runtime and the scenario guests use no FPU registers (GUEST_NOFPU): they
# run on hosts whose KVM cannot run x87/SSE code in guests (kvm_pvm); the
# guests of GUEST_FPU_NAMES use SSE/AVX on purpose.
GUEST_NOFPU := -mgeneral-regs-only
GUEST_FPU_NAMES := sse
GUEST_SDK_CFLAGS := -ffreestanding -fno-pic -fno-pie -mno-red-zone \
	-fno-stack-protector -fno-asynchronous-unwind-tables -fcf-protection=none -g
GUEST_SDK_LIBS = -specs=$(1)/vcprr-guest.specs -static -no-pie -L$(1) \
	-Wl,-T,$(1)/guest.ld -Wl,-u,_start -Wl,--build-id=none
GUEST_SDK := $(BUILD)/guest-sdk
GUEST_RT_SRCS := vmm/guest/entry.S $(sort $(wildcard vmm/guest/*.c))
GUEST_RT_OBJS := $(GUEST_RT_SRCS:vmm/guest/%=$(BUILD)/guest-rt/%.o)
GUEST_HEADERS := vmm/guest/vcprr_guest.h vmm/guest/vcprr_sync.h vmm/guest/abi.h
GUEST_LIBC_HEADERS := $(sort $(wildcard vmm/guest/libc/*.h))
GUEST_SDK_FILES := $(GUEST_SDK)/libvcprr-guest.a $(GUEST_SDK)/guest.ld \
	$(GUEST_SDK)/vcprr-guest.specs
GUEST_CFLAGS := -std=gnu11 -O2 -Wall -Wextra $(GUEST_SDK_CFLAGS) \
	-Ivmm/guest -isystem vmm/guest/libc -ffile-prefix-map=$(CURDIR)=.
# The runtime's own loops must not become calls to memcpy/memset.
GUEST_RT_CFLAGS := $(GUEST_CFLAGS) $(GUEST_NOFPU) -fno-tree-loop-distribute-patterns

$(BUILD)/guest-rt/%.S.o: vmm/guest/%.S
	@mkdir -p $(@D)
	gcc $(GUEST_RT_CFLAGS) -c -o $@ $<
$(BUILD)/guest-rt/%.c.o: vmm/guest/%.c $(GUEST_HEADERS) $(GUEST_LIBC_HEADERS) vmm/guest/rt.h
	@mkdir -p $(@D)
	gcc $(GUEST_RT_CFLAGS) -c -o $@ $<
$(GUEST_SDK)/libvcprr-guest.a: $(GUEST_RT_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^
$(GUEST_SDK)/%: vmm/guest/%
	@mkdir -p $(@D)
	cp $< $@
.SECONDARY: $(GUEST_RT_OBJS) $(GUEST_SDK_FILES) $(TEST_SRCS:%.c=$(BUILD)/obj/%.o) \
	$(TEST_HELPER_OBJS)
$(BUILD)/guests/%.elf: tests/guests/%.c $(GUEST_SDK_FILES) $(GUEST_HEADERS) $(GUEST_LIBC_HEADERS)
	@mkdir -p $(@D)
	gcc $(GUEST_CFLAGS) $(if $(filter $(GUEST_FPU_NAMES),$*),,$(GUEST_NOFPU)) \
		-MMD -MP -MF $@.d -o $@ $< $(call GUEST_SDK_LIBS,$(GUEST_SDK))
-include $(GUESTS:%=%.d)

# --- install (GNU conventions: DESTDIR staging, overridable directories)
PREFIX       ?= /usr/local
BINDIR       ?= $(PREFIX)/bin
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
DATADIR      ?= $(PREFIX)/share
MANDIR       ?= $(DATADIR)/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
INSTALL      ?= install
INSTALL_PROGRAM ?= $(INSTALL) -m 755
INSTALL_DATA    ?= $(INSTALL) -m 644
VERSION := $(shell sed -n 's/^\#define VCPRR_VERSION "\(.*\)"/\1/p' tools/vcprr.c)

# libvcprr's API and every header it includes (gcc -M vmm/vm.h
# vmm/controller.h traces/trace.h).  They include each other as
# "traces/event.h", so they keep their folders under include/vcprr/ and
# vcprr.pc adds -I$(INCLUDEDIR)/vcprr: a program includes <vmm/vm.h> as
# vcprr's own sources do.
PUBLIC_HEADERS := vmm/vm.h vmm/controller.h vmm/sched.h vmm/run-desc.h \
	vmm/recording.h traces/trace.h \
	traces/event.h
VCPRR_INCDIR   := $(INCLUDEDIR)/vcprr

# The .pc files hold the install paths, so they are rewritten whenever those
# change (FORCE), but only touched when their text does.  Paths under PREFIX
# are written relative to ${prefix} (pkg-config --define-prefix works).
pc_path = $(patsubst $(PREFIX)/%,$${prefix}/%,$(1))
$(BUILD)/vcprr.pc: vcprr.pc.in FORCE
$(BUILD)/crosvm_plugin.pc: crosvm/crosvm_plugin.pc.in FORCE
$(BUILD)/vcprr-guest.pc: vcprr-guest.pc.in FORCE
$(PC_FILES):
	@mkdir -p $(@D)
	@sed -e 's|@prefix@|$(PREFIX)|' -e 's|@libdir@|$(call pc_path,$(LIBDIR))|' \
	     -e 's|@includedir@|$(call pc_path,$(INCLUDEDIR))|' \
	     -e 's|@datadir@|$(call pc_path,$(DATADIR))|' \
	     -e 's|@version@|$(VERSION)|' $< >$@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv -f $@.tmp $@; fi
FORCE:

# The guest SDK: headers under include/vcprr-guest/ (the libc subset in
# its libc/ folder, an -isystem folder), the runtime, guest.ld and the
# specs under lib/vcprr-guest/, vcprr-guest.pc; the scenario guests, their
# sources with a Makefile that uses only the installed SDK, and the demo
# under share/vcprr/ (vcprr bench and the demo look there).
GUEST_INCDIR := $(INCLUDEDIR)/vcprr-guest
GUEST_LIBDIR := $(LIBDIR)/vcprr-guest
VCPRR_DATADIR := $(DATADIR)/vcprr
INSTALLED_GUEST_FILES := $(addprefix $(GUEST_INCDIR)/,$(notdir $(GUEST_HEADERS))) \
	$(addprefix $(GUEST_INCDIR)/libc/,$(notdir $(GUEST_LIBC_HEADERS))) \
	$(addprefix $(GUEST_LIBDIR)/,$(notdir $(GUEST_SDK_FILES))) \
	$(addprefix $(VCPRR_DATADIR)/guests/,$(notdir $(GUESTS))) \
	$(addprefix $(VCPRR_DATADIR)/examples/,$(notdir $(GUEST_SRCS)) Makefile) \
	$(VCPRR_DATADIR)/demo.sh $(PKGCONFIGDIR)/vcprr-guest.pc

install-guest-sdk: all
	$(INSTALL) -d $(DESTDIR)$(GUEST_INCDIR)/libc $(DESTDIR)$(GUEST_LIBDIR) \
		$(DESTDIR)$(VCPRR_DATADIR)/guests $(DESTDIR)$(VCPRR_DATADIR)/examples
	$(INSTALL_DATA) $(GUEST_HEADERS) $(DESTDIR)$(GUEST_INCDIR)/
	$(INSTALL_DATA) $(GUEST_LIBC_HEADERS) $(DESTDIR)$(GUEST_INCDIR)/libc/
	$(INSTALL_DATA) $(GUEST_SDK_FILES) $(DESTDIR)$(GUEST_LIBDIR)/
	$(INSTALL_DATA) $(GUESTS) $(DESTDIR)$(VCPRR_DATADIR)/guests/
	$(INSTALL_DATA) $(GUEST_SRCS) tests/guests/Makefile.examples \
		$(DESTDIR)$(VCPRR_DATADIR)/examples/
	mv -f $(DESTDIR)$(VCPRR_DATADIR)/examples/Makefile.examples \
		$(DESTDIR)$(VCPRR_DATADIR)/examples/Makefile
	$(INSTALL_PROGRAM) scripts/demo.sh $(DESTDIR)$(VCPRR_DATADIR)/demo.sh

# install builds nothing itself (everything comes from `all`), so that
# `make && sudo make install` leaves no root-owned files in build/.
install: all install-guest-sdk
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) \
		$(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(INCLUDEDIR) \
		$(DESTDIR)$(VCPRR_INCDIR)/vmm $(DESTDIR)$(VCPRR_INCDIR)/traces \
		$(DESTDIR)$(MANDIR)/man1
	$(INSTALL_PROGRAM) $(BUILD)/vcprr $(DESTDIR)$(BINDIR)/vcprr
	$(INSTALL_DATA) $(BUILD)/libvcprr.a $(BUILD)/libcrosvm_plugin.a \
		$(BUILD)/libcrosvm_plugin.so $(DESTDIR)$(LIBDIR)/
	$(INSTALL_DATA) $(filter vmm/%,$(PUBLIC_HEADERS)) $(DESTDIR)$(VCPRR_INCDIR)/vmm/
	$(INSTALL_DATA) $(filter traces/%,$(PUBLIC_HEADERS)) $(DESTDIR)$(VCPRR_INCDIR)/traces/
	$(INSTALL_DATA) crosvm/crosvm.h $(DESTDIR)$(INCLUDEDIR)/crosvm.h
	$(INSTALL_DATA) $(PC_FILES) $(DESTDIR)$(PKGCONFIGDIR)/
	$(INSTALL_DATA) docs/vcprr.1 $(DESTDIR)$(MANDIR)/man1/vcprr.1

install-strip:
	$(MAKE) INSTALL_PROGRAM='$(INSTALL_PROGRAM) -s' install

# Removes exactly the files install put there, then vcprr's own include
# folders if they are empty; the shared folders (bin, lib ...) stay.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/vcprr \
		$(addprefix $(DESTDIR)$(LIBDIR)/,libvcprr.a libcrosvm_plugin.a libcrosvm_plugin.so) \
		$(addprefix $(DESTDIR)$(VCPRR_INCDIR)/,$(PUBLIC_HEADERS)) \
		$(DESTDIR)$(INCLUDEDIR)/crosvm.h \
		$(addprefix $(DESTDIR)$(PKGCONFIGDIR)/,vcprr.pc crosvm_plugin.pc) \
		$(DESTDIR)$(MANDIR)/man1/vcprr.1 \
		$(addprefix $(DESTDIR),$(INSTALLED_GUEST_FILES))
	for d in $(addprefix $(DESTDIR)$(VCPRR_INCDIR),/vmm /traces /) \
		$(addprefix $(DESTDIR),$(GUEST_INCDIR)/libc $(GUEST_INCDIR) \
		$(GUEST_LIBDIR) $(VCPRR_DATADIR)/guests $(VCPRR_DATADIR)/examples \
		$(VCPRR_DATADIR)); do \
		if [ -d $$d ]; then rmdir --ignore-fail-on-non-empty $$d; fi; done

# --- sanitizer and fuzz tiers
check-asan:
	$(MAKE) BUILD=build/asan SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" test

# The concurrency tests (pause protocol, trace writers) under TSan.
TSAN_TESTS = test_pause test_pause_windows test_vcpu_threads test_parallel_end test_replay test_replay_stream test_explore test_snapshot test_debug_protocol test_debug_live test_debug_reverse test_debug_checkpoints test_analyze_run $(notdir $(basename $(wildcard tests/test_trace_writer*.c tests/test_trace_threads*.c)))
tsan: check-deps
	$(MAKE) BUILD=build/tsan SAN="-fsanitize=thread" CFLAGS="-O1 -g" \
		build/tsan/vcprr $(GUESTS) $(TSAN_TESTS:%=build/tsan/tests/%)
	TSAN_OPTIONS="suppressions=tests/tsan.supp halt_on_error=1" VCPRR_BUILD=$(BUILD) \
		tests/run-tests.sh build/tsan $(TSAN_TESTS:%=build/tsan/tests/%)

FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_LIB_SRCS := $(filter-out vmm/vcpu.c,$(LIB_SRCS))
# CLI parsers with fuzz targets of their own live in tools/, and so do
# the inspect and export tools (fuzz_trace_tools) and the analysis's
# decoder and guest debug-info readers.
FUZZ_TOOL_SRCS := tools/pause-script.c tools/cli.c tools/builtin-inspect.c tools/outfile.c \
	$(sort $(wildcard tools/inspect-*.c tools/export-*.c)) tools/symbols.c \
	tools/elf-sections.c tools/dwarf-line.c tools/x86-access.c \
	tools/u64-map.c tools/race-hb.c tools/analyze-log.c \
	tools/analyze-report.c tools/analyze-names.c
fuzz: check-deps
	$(MAKE) -j2 CC=clang BUILD=build/fuzz-objs SAN="-fsanitize=fuzzer-no-link,address,undefined" \
		build/fuzz-objs/libvcprr.a $(FUZZ_TOOL_SRCS:%.c=build/fuzz-objs/obj/%.o)
	@mkdir -p $(BUILD)/fuzz
	@for s in $(FUZZ_SRCS); do n=$$(basename $$s .c); \
	  echo "  FUZZ $$n"; \
	  clang $(ALL_CFLAGS) -fsanitize=fuzzer,address,undefined -o $(BUILD)/fuzz/$$n $$s \
	    $(FUZZ_TOOL_SRCS:%.c=build/fuzz-objs/obj/%.o) build/fuzz-objs/libvcprr.a $(DEP_LIBS) $(TOOL_LIBS) || exit 1; \
	done

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj $(BUILD)/pic -name '*.d' 2>/dev/null)
