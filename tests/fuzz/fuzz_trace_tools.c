/* libFuzzer target: the inspect and export tools on well-formed traces with
 * hostile contents.
 *
 * Byte mutations of a trace file seldom get past zstd's checksums, so this
 * target builds a valid trace from the input instead: a 32-byte header
 * record (mode, VCPU count, memory size, seed, config, guest file, frame
 * size, end reason) and then 16-byte event records (type, VCPU, how time,
 * req_seq, exit_seq, RIP and digest move, payload), plus two macros: a
 * whole pause cycle with steps dropped or swapped, and a repeat of the last
 * records.  At most MAX_EVENTS events and MAX_PAYLOAD_BYTES of payload
 * per input.  The trace writer writes it (trace_emit__any_type, so types
 * past TEV__COUNT get in too) to a scratch folder of this process under
 * $TMPDIR (or /tmp), with a second copy with one event changed, and every
 * inspect/export command runs on it in-process with stdout and stderr on
 * /dev/null.  Non-zero exit statuses are fine; a crash, sanitizer report,
 * leak or hang is a bug.
 *
 * VCPRR_FUZZ_WRITE_SEEDS=DIR writes the seed corpus (realistic traces:
 * pauses, resumes, exits) to DIR and exits; VCPRR_FUZZ_VERBOSE=1 shows
 * each command and its output and keeps the scratch folder (to see what
 * an input does, and to run build/vcprr on its traces). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <elf.h>
#include <sanitizer/common_interface_defs.h>

#include "tools/inspect.h"
#include "traces/clock.h"
#include "traces/sha256.h"
#include "traces/trace.h"
#include "traces/writer-internal.h"
#include "vmm/run-desc.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_EVENTS 4096
#define MAX_PAYLOAD_BYTES (256u << 10)  /* per trace: keeps runs fast */
#define HDR_BYTES  32
#define REC_BYTES  16
#define NSTATE     8      /* VCPUs whose req/exit/rip state is tracked */
#define BIG_VCPUS  4096   /* INSPECT_MAX_VCPUS: the tools' per-VCPU limit */

/* Record kinds: below K_OOR a known type, then: */
#define K_OOR     0xf0    /* 0xf0..0xf7: a type past TEV__COUNT */
#define K_CYCLE   0xf8    /* 0xf8..0xfe: a pause cycle */
#define K_REPEAT  0xff    /* repeat the last records */

struct hdr {
	uint8_t flags;    /* bits 0-1 mode, 2-4 guest file, 5-7 frame size */
	uint8_t vsel;     /* how nr_vcpus is chosen */
	uint8_t cfg;      /* a valid run description or which text */
	uint8_t misc;     /* 0-1 diff change, 2 wrong hash, 3 plugin run,
			     4-7 end reason */
	uint32_t vcpus;
	uint64_t mem_size, seed;
	uint32_t follow, change;
};

struct rec {
	uint8_t kind, vsel;
	uint8_t mode;     /* 0-1 time, 2-3 req_seq, 4-5 exit_seq, 6 digest,
			     7 raw rip */
	uint8_t plsel;    /* 0-1 payload length kind, 2-6 short length,
			     7 no NUL bytes */
	uint32_t x;
	uint64_t y;
};

struct vstate {
	uint64_t req, exit_seq;
};

struct gen {
	const uint8_t *data;
	size_t size;
	struct hdr h;
	uint32_t nr_vcpus;   /* as the header will say */
	uint64_t time;
	struct vstate st[NSTATE];
	struct trace_event ev[MAX_EVENTS];
	uint32_t pl_off[MAX_EVENTS];
	bool nonul[MAX_EVENTS];
	unsigned n;
	uint64_t pl_bytes;
};

static char dir[256], path_a[300], path_b[300], path_elf[300],
	    path_fifo[300], path_missing[300];
static int null_fd = -1, keep_out = -1, keep_err = -1;
static bool verbose;   /* VCPRR_FUZZ_VERBOSE: show the commands' output */
static struct gen g;

/* ------------------------------------------------------------ scratch */

static void cleanup(void)
{
	unlink(path_a);
	unlink(path_b);
	unlink(path_elf);
	unlink(path_fifo);
	rmdir(dir);
}

static int scratch_init(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/vcprr-fuzz-tools.%d",
		 tmp && *tmp ? tmp : "/tmp", (int)getpid());
	if (mkdir(dir, 0700) && errno != EEXIST)
		return -1;
	snprintf(path_a, sizeof(path_a), "%s/a.trace", dir);
	snprintf(path_b, sizeof(path_b), "%s/b.trace", dir);
	snprintf(path_elf, sizeof(path_elf), "%s/guest.elf", dir);
	snprintf(path_fifo, sizeof(path_fifo), "%s/fifo", dir);
	snprintf(path_missing, sizeof(path_missing), "%s/missing/guest.elf",
		 dir);
	unlink(path_fifo);
	if (mkfifo(path_fifo, 0600))
		return -1;
	if (!verbose)
		atexit(cleanup);
	return 0;
}

/* ------------------------------------------------------------ guest ELF */

/* A small valid ELF64 with a symbol table whose addresses and sizes come
 * from the input (overlapping, unsized, far away). */
static size_t make_elf(uint8_t *buf, const struct hdr *h)
{
	enum { NSYM = 9, STR = 64 };
	Elf64_Ehdr *eh = (Elf64_Ehdr *)buf;
	Elf64_Sym *sym = (Elf64_Sym *)(buf + sizeof(*eh));
	char *str = (char *)(sym + NSYM);
	Elf64_Shdr *sh = (Elf64_Shdr *)(str + STR);
	size_t stroff = 1;

	memset(buf, 0, sizeof(*eh) + NSYM * sizeof(*sym) + STR + 3 * sizeof(*sh));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_ehsize = sizeof(*eh);
	eh->e_shentsize = sizeof(*sh);
	eh->e_shnum = 3;
	eh->e_shoff = (uint64_t)((uint8_t *)sh - buf);
	for (int i = 1; i < NSYM; i++) {
		uint8_t b = (uint8_t)(h->seed >> (8 * (i - 1)));

		sym[i].st_name = (uint32_t)stroff;
		stroff += (size_t)snprintf(str + stroff, STR - stroff, "f%d", i) + 1;
		sym[i].st_info = ELF64_ST_INFO(i & 1 ? STB_GLOBAL : STB_LOCAL,
					       b & 0x80 ? STT_NOTYPE : STT_FUNC);
		sym[i].st_shndx = 1;
		sym[i].st_value = i == NSYM - 1 ? h->mem_size :
				  0x100000 + 0x40 * (uint64_t)(i - 1) + (b & 0x30);
		sym[i].st_size = b & 0x40 ? 0 : (b & 0x3f) * 4;
	}
	sh[1] = (Elf64_Shdr){ .sh_type = SHT_SYMTAB, .sh_link = 2,
		.sh_offset = sizeof(*eh), .sh_size = NSYM * sizeof(*sym),
		.sh_entsize = sizeof(*sym) };
	sh[2] = (Elf64_Shdr){ .sh_type = SHT_STRTAB,
		.sh_offset = (uint64_t)((uint8_t *)str - buf), .sh_size = STR };
	return (size_t)((uint8_t *)(sh + 3) - buf);
}

static int write_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int ret = -1;

	if (fd < 0)
		return -1;
	if (write(fd, buf, len) == (ssize_t)len)
		ret = 0;
	close(fd);
	return ret;
}

/* Fills the guest's path (and hash) as the header's flags say. */
static void pick_guest(struct run_guest *gu, const struct hdr *h)
{
	static uint8_t elf[2048];
	const char *path = "";
	size_t len;

	switch ((h->flags >> 2) & 7) {
	case 1: path = path_missing; break;
	case 2: path = dir; break;            /* a directory */
	case 3: path = path_fifo; break;      /* nobody ever writes to it */
	case 4: path = "/dev/null"; break;
	case 5: path = path_a; break;         /* the trace: not an ELF */
	case 6:
	case 7:
		len = make_elf(elf, h);
		if (write_file(path_elf, elf, len))
			break;
		path = path_elf;
		if (((h->flags >> 2) & 7) == 7)
			sha256(elf, len, gu->sha256);
		break;
	}
	snprintf(gu->path, sizeof(gu->path), "%s", path);
	if (h->misc & 4)  /* a hash no file has */
		memcpy(gu->sha256, &h->seed, sizeof(h->seed));
}

/* ------------------------------------------------------------ header */

/* Mostly a run description from the one encoder; else (cfg % 8 of 6 or
 * 7) hostile text the decoder must refuse cleanly.  True for the latter. */
static bool pick_raw_desc(char *desc, size_t len, const struct gen *gn)
{
	static const char *const texts[] = {
		"vcpus=2\nmem=64M\nsched=parallel\nseed=5\n",
		"",
		"no equals sign here\njust words",
		("desc_version=1\nvcpus=99999999999999999999999999\n"
		 "mem=18446744073709551616\ntimeout=-1\n=\n==\nkey=\n"),
		"desc_version=1\nkind=crosvm-plugin\nvcpus=0\n",
		"desc_version=1\ndesc_version=1\n",
		"desc_version=2\n",
	};
	uint8_t sel = gn->h.cfg % 8;
	size_t n = 0;

	if (sel < 6)
		return false;
	if (sel == 6) {
		snprintf(desc, len, "%s", texts[(gn->h.cfg >> 3) % 7]);
		return true;
	}
	/* the input's own bytes, NUL-free: the longest line possible */
	for (; n + 1 < len; n++)
		desc[n] = gn->size ? (char)(gn->data[n % gn->size] | 1) : 'x';
	desc[n] = '\0';
	return true;
}

static uint32_t pick_nr_vcpus(const struct hdr *h)
{
	switch (h->vsel & 3) {
	case 0: return h->vsel >> 2;
	case 1: return h->vcpus;
	case 2: return 0;
	}
	return UINT32_MAX >> (h->vsel >> 3);
}

static void make_header(struct trace_header *th, const struct gen *gn)
{
	const struct hdr *h = &gn->h;
	struct run_desc d;
	char err[256];

	memset(th, 0, sizeof(*th));
	th->start_time_ns = h->seed ^ h->mem_size;
	if (pick_raw_desc(th->desc, sizeof(th->desc), gn))
		return;
	run_desc_init(&d);
	d.kind = h->misc & 8 ? RUN_KIND_CROSVM_PLUGIN : RUN_KIND_GUEST;
	d.sched.mode = (enum vm_sched_mode)((h->flags & 3) % 3);
	d.sched.seed = h->seed;
	d.nr_vcpus = gn->nr_vcpus;  /* 0 or past the limit: refused */
	d.mem_size = h->mem_size;
	pick_guest(&d.guest, h);
	if (run_desc_encode(&d, th, err, sizeof(err))) {
		fprintf(stderr, "fuzz_trace_tools: %s\n", err);
		abort();
	}
}

static uint32_t frame_events(const struct hdr *h)
{
	static const uint32_t sizes[] = { 0, 1, 2, 5, 16, 64, 1000 };
	unsigned sel = h->flags >> 5;

	return sel < 7 ? sizes[sel] : 1 + h->change % 97;
}

/* ------------------------------------------------------------ events */

static uint32_t pick_vcpu(uint8_t sel, uint32_t x, uint32_t nr)
{
	if (sel < 0xc0)
		return sel % 8;
	if (sel < 0xd0)
		return TRACE_VCPU_NONE;
	switch (sel) {
	case 0xd0: return nr;              /* just past the header's count */
	case 0xd1: return nr - 1;
	case 0xd2: return BIG_VCPUS - 1;
	case 0xd3: return BIG_VCPUS;
	case 0xd4: return TRACE_VCPU_NONE - 1;
	case 0xd5: return 64;              /* the codec's slot count */
	case 0xd6: return 63;
	}
	if (sel < 0xe0)
		return x;
	return x % BIG_VCPUS;              /* many distinct ids */
}

static struct vstate *state_of(uint32_t vcpu)
{
	return &g.st[vcpu % NSTATE];
}

static uint64_t pick_time(const struct rec *r)
{
	switch (r->mode & 3) {
	case 0: g.time += r->x & 0xfff; break;
	case 1: g.time += (uint64_t)r->x << 8; break;
	case 2: g.time -= r->x & 0xffff; break;  /* backwards */
	case 3: g.time = r->y; break;
	}
	return g.time;
}

static uint64_t pick_req(const struct rec *r, struct vstate *st,
			 uint32_t type)
{
	switch ((r->mode >> 2) & 3) {
	case 0:
		return type == TEV_PAUSE_REQUEST ? ++st->req : st->req;
	case 1:
		return st->req + 1;  /* a request that was never made */
	case 2:
		return st->req - 1;  /* backwards (or wrapping at 0) */
	}
	return r->x;
}

static uint64_t pick_exit(const struct rec *r, struct vstate *st)
{
	switch ((r->mode >> 4) & 3) {
	case 1: st->exit_seq++; break;
	case 2: st->exit_seq += r->x; break;
	case 3: st->exit_seq = r->y; break;
	}
	return st->exit_seq;
}

static void set_args(struct trace_event *ev, const struct rec *r,
		     struct vstate *st)
{
	uint64_t req = pick_req(r, st, ev->type);

	ev->a0 = r->y;
	ev->a1 = r->x;
	ev->a2 = r->y ^ r->x;
	ev->a3 = r->x >> 16;
	switch (ev->type) {
	case TEV_PAUSE_REQUEST:
	case TEV_PAUSE_TAKEN:
		ev->a1 = req;
		break;
	case TEV_SIGNAL_SENT:
		ev->a0 = req;
		break;
	case TEV_PAUSE_COALESCED:
		ev->a0 = req;
		ev->a1 = req + (r->x & 7);
		break;
	case TEV_RESUME_REQUEST:
		ev->a1 = r->x & 0x100 ? r->x : r->x & 7;  /* edit mask */
		break;
	case TEV_SCHED_SWITCH:
		ev->a0 = pick_vcpu((uint8_t)r->x, r->x >> 8, 8);
		ev->a1 = r->y;
		ev->a2 = r->x >> 24;
		break;
	case TEV_VM_END:
	case TEV_VM_STOP:
		ev->a0 = r->x & 0x80 ? r->x : r->x & 7;
		break;
	}
}

static uint32_t pick_payload(const struct rec *r, unsigned i)
{
	uint32_t len = 0;

	switch (r->plsel & 3) {
	case 1: len = (r->plsel >> 2) & 31; break;
	case 2: len = r->x % (TRACE_MAX_PAYLOAD + 1); break;
	case 3: len = TRACE_MAX_PAYLOAD; break;
	}
	if (!g.size || g.pl_bytes + len > MAX_PAYLOAD_BYTES)
		return 0;
	g.pl_bytes += len;
	g.pl_off[i] = (uint32_t)(r->y % g.size);
	g.nonul[i] = r->plsel & 0x80;
	return len;
}

static struct trace_event *add_event(uint32_t type, uint32_t vcpu)
{
	struct trace_event *ev;

	if (g.n == MAX_EVENTS)
		return NULL;
	ev = &g.ev[g.n];
	memset(ev, 0, sizeof(*ev));
	ev->type = type;
	ev->vcpu = vcpu;
	g.pl_off[g.n] = 0;
	g.nonul[g.n] = false;
	g.n++;
	return ev;
}

static void gen_event(const struct rec *r, uint32_t type)
{
	uint32_t vcpu = pick_vcpu(r->vsel, r->x, g.nr_vcpus);
	struct vstate *st = state_of(vcpu);
	struct trace_event *ev = add_event(type, vcpu);

	if (!ev)
		return;
	ev->time_ns = pick_time(r);
	set_args(ev, r, st);
	ev->exit_seq = pick_exit(r, st);
	ev->rip = r->mode & 0x80 ? r->y : 0x100000 + (r->x & 0x1ff);
	ev->digest = r->mode & 0x40 ? r->y * 0x9e3779b97f4a7c15ull | 1 : 0;
	ev->payload_len = pick_payload(r, g.n - 1);
}

/* request, signal, kick, taken, resume request, resumed; mode & 7 drops
 * step (mode & 7) - 1, mode bit 3 swaps taken and resumed. */
static void gen_cycle(const struct rec *r)
{
	static const uint32_t steps[] = { TEV_PAUSE_REQUEST, TEV_SIGNAL_SENT,
		TEV_KICK, TEV_PAUSE_TAKEN, TEV_RESUME_REQUEST, TEV_RESUMED };
	uint32_t vcpu = pick_vcpu(r->vsel, r->x, g.nr_vcpus);
	struct vstate *st = state_of(vcpu);
	unsigned drop = (r->mode & 7) - 1;   /* UINT_MAX: none */
	uint64_t req = ++st->req;

	st->exit_seq++;
	for (unsigned i = 0; i < 6; i++) {
		unsigned k = i;
		struct trace_event *ev;

		if (r->mode & 8 && (i == 3 || i == 5))
			k = 8 - i;
		if (k == drop)
			continue;
		ev = add_event(steps[k], vcpu);
		if (!ev)
			return;
		g.time += 100 + (r->x >> (4 * i) & 0xf) * 50;
		ev->time_ns = g.time;
		ev->a0 = steps[k] == TEV_SIGNAL_SENT ? req : r->y + (k == 5);
		ev->a1 = steps[k] == TEV_PAUSE_REQUEST ||
			 steps[k] == TEV_PAUSE_TAKEN ? req : 0;
		if (steps[k] == TEV_KICK || steps[k] >= TEV_PAUSE_TAKEN)
			ev->exit_seq = st->exit_seq;
		if (steps[k] == TEV_PAUSE_TAKEN)
			ev->digest = r->y | 1;
		ev->rip = steps[k] >= TEV_PAUSE_TAKEN ? 0x100000 + (r->x & 0x1ff) : 0;
	}
}

static void gen_record(const struct rec *r)
{
	if (r->kind < K_OOR)
		gen_event(r, 1 + r->kind % (TEV__COUNT - 1));
	else if (r->kind < K_CYCLE)  /* unknown types, or any non-zero one */
		gen_event(r, r->kind == K_OOR + 7 ? r->x | 1 :
			  TEV__COUNT + (r->x & 0xff));
	else if (r->kind < K_REPEAT)
		gen_cycle(r);
}

static void get_rec(struct rec *r, const uint8_t *p)
{
	r->kind = p[0];
	r->vsel = p[1];
	r->mode = p[2];
	r->plsel = p[3];
	memcpy(&r->x, p + 4, 4);
	memcpy(&r->y, p + 8, 8);
}

/* The last (vsel % 8 + 1) records again, x % MAX_EVENTS times: long runs
 * (thousands of pauses, one VCPU id after another) from a few bytes. */
static void gen_repeat(const uint8_t *recs, unsigned idx, const struct rec *r)
{
	unsigned back = r->vsel % 8 + 1;
	struct rec rr;

	if (back > idx)
		back = idx;
	for (uint32_t k = 0; k < r->x % MAX_EVENTS && g.n < MAX_EVENTS; k++)
		for (unsigned j = idx - back; j < idx; j++) {
			get_rec(&rr, recs + (size_t)j * REC_BYTES);
			if (rr.kind == K_REPEAT)
				continue;
			if (rr.vsel >= 0xe0)   /* walk through the ids */
				rr.x += k;
			gen_record(&rr);
		}
}

static void generate(const uint8_t *data, size_t size)
{
	uint8_t h[HDR_BYTES] = { 0 };
	const uint8_t *recs;
	unsigned nrec;

	memset(&g.h, 0, sizeof(g.h));
	memset(g.st, 0, sizeof(g.st));
	g.data = data;
	g.size = size;
	g.n = 0;
	g.pl_bytes = 0;
	g.time = 1000000000;
	memcpy(h, data, size < HDR_BYTES ? size : HDR_BYTES);
	g.h.flags = h[0];
	g.h.vsel = h[1];
	g.h.cfg = h[2];
	g.h.misc = h[3];
	memcpy(&g.h.vcpus, h + 4, 4);
	memcpy(&g.h.mem_size, h + 8, 8);
	memcpy(&g.h.seed, h + 16, 8);
	memcpy(&g.h.follow, h + 24, 4);
	memcpy(&g.h.change, h + 28, 4);
	g.nr_vcpus = pick_nr_vcpus(&g.h);
	recs = data + HDR_BYTES;
	nrec = size > HDR_BYTES ? (unsigned)((size - HDR_BYTES) / REC_BYTES) : 0;
	for (unsigned i = 0; i < nrec && g.n < MAX_EVENTS; i++) {
		struct rec r;

		get_rec(&r, recs + (size_t)i * REC_BYTES);
		if (r.kind == K_REPEAT)
			gen_repeat(recs, i, &r);
		else
			gen_record(&r);
	}
}

/* ------------------------------------------------------------ writing */

static const uint8_t *payload_of(unsigned i, uint8_t *buf)
{
	const struct trace_event *ev = &g.ev[i];

	for (uint32_t k = 0; k < ev->payload_len; k++) {
		buf[k] = g.data[(g.pl_off[i] + k) % g.size];
		if (g.nonul[i] && !buf[k])
			buf[k] = 'x';
	}
	return buf;
}

/* The other trace for diff: event @change altered as misc & 3 says. */
static void alter(struct trace_event *ev)
{
	switch (g.h.misc & 3) {
	case 0: ev->a2 ^= 1; break;
	case 1: ev->type = 1 + ev->type % (TEV__COUNT - 1); break;
	case 2: ev->vcpu ^= 1; break;
	}
}

/* The writer takes any header and events, so a failure is this machine's
 * (the scratch folder gone, a full disk): stop loudly rather than go on
 * fuzzing nothing. */
static void write_trace(const char *path, long change)
{
	static uint8_t pl[TRACE_MAX_PAYLOAD];
	struct trace_writer_opts o = { .frame_events = frame_events(&g.h) };
	struct trace_header th;
	struct trace_writer *w;
	struct trace_producer *p;
	char err[256];

	make_header(&th, &g);
	w = trace_writer_open(path, &th, &o, err, sizeof(err));
	if (!w) {
		fprintf(stderr, "fuzz_trace_tools: %s\n", err);
		abort();
	}
	p = trace_producer_new(w);
	for (unsigned i = 0; p && i < g.n; i++) {
		struct trace_event ev = g.ev[i];

		if ((long)i == change && (g.h.misc & 3) == 3)
			continue;   /* dropped */
		if ((long)i == change)
			alter(&ev);
		trace_emit__any_type(p, &ev, payload_of(i, pl));
	}
	if (!p || trace_writer_close_err(w, g.h.misc >> 4, (int64_t)g.h.seed,
					 g.h.mem_size, err, sizeof(err))) {
		fprintf(stderr, "fuzz_trace_tools: %s: %s\n", path,
			p ? err : "no producer");
		abort();
	}
}

/* ------------------------------------------------------------ running */

static void quiet(bool on)
{
	if (verbose)
		return;
	fflush(stdout);
	fflush(stderr);
	dup2(on ? null_fd : keep_out, 1);
	dup2(on ? null_fd : keep_err, 2);
}

static void run(int (*fn)(int, char **), char **argv)
{
	uint64_t t0;
	int argc = 0, rc;

	while (argv[argc])
		argc++;
	if (verbose) {
		fprintf(stderr, "=== vcprr");
		for (int i = 0; i < argc; i++)
			fprintf(stderr, " %s", argv[i]);
		fputc('\n', stderr);
	}
	quiet(true);
	t0 = mono_ns();
	rc = fn(argc, argv);
	quiet(false);
	if (verbose)
		fprintf(stderr, "=== exit status %d, %.3f s\n", rc,
			(mono_ns() - t0) / 1e9);
}

static void run_all(void)
{
	char req[32], from[32], to[32];
	char *cmds[][10] = {
		{ "inspect", path_a, NULL },
		{ "inspect", "dump", path_a, NULL },
		{ "inspect", "dump", path_a, "--json", NULL },
		{ "inspect", "dump", path_a, "--vcpu", "1", "--type",
		  "PAUSE_TAKEN", NULL },
		{ "inspect", "dump", path_a, "--from", from, "--to", to,
		  "--vcpu", "vm,0,4095", NULL },
		{ "inspect", "follow", path_a, "1:1", NULL },
		{ "inspect", "follow", path_a, req, NULL },
		{ "inspect", "diff", path_a, path_b, NULL },
	};
	char *exports[][7] = {
		{ "export", "--format", "chrome", path_a, "-o", "/dev/null", NULL },
		{ "export", "--format", "html", path_a, "-o", "/dev/null", NULL },
	};

	if (g.h.follow >> 31)
		snprintf(req, sizeof(req), "#%u", g.h.follow & 0xfff);
	else
		snprintf(req, sizeof(req), "%u:%u", (g.h.follow >> 24) & 7,
			 g.h.follow & 0xffffff);
	snprintf(from, sizeof(from), "%u", g.h.change & 0xfff);
	snprintf(to, sizeof(to), "%uus", g.h.change >> 12);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		run(cmd_inspect, cmds[i]);
	for (size_t i = 0; i < sizeof(exports) / sizeof(exports[0]); i++)
		run(cmd_export, exports[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	generate(data, size);
	write_trace(path_a, -1);
	write_trace(path_b, g.n ? (long)(g.h.change % g.n) : -1);
	run_all();
	return 0;
}

/* ------------------------------------------------------------ seeds */

struct seedbuf {
	uint8_t b[2048];
	size_t n;
};

static void put_hdr(struct seedbuf *s, uint8_t flags, uint8_t vsel,
		    uint8_t misc, uint64_t seed, uint32_t follow)
{
	memset(s, 0, sizeof(*s));
	s->b[0] = flags;
	s->b[1] = vsel;
	s->b[3] = misc;
	memcpy(s->b + 8, &(uint64_t){ 64 << 20 }, 8);
	memcpy(s->b + 16, &seed, 8);
	memcpy(s->b + 24, &follow, 4);
	memcpy(s->b + 28, &(uint32_t){ 5 }, 4);
	s->n = HDR_BYTES;
}

static void put(struct seedbuf *s, uint8_t kind, uint8_t vsel, uint8_t mode,
		uint8_t plsel, uint32_t x, uint64_t y)
{
	uint8_t *p = s->b + s->n;

	p[0] = kind;
	p[1] = vsel;
	p[2] = mode;
	p[3] = plsel;
	memcpy(p + 4, &x, 4);
	memcpy(p + 8, &y, 8);
	s->n += REC_BYTES;
}

/* Record kind of a known type. */
#define T(type) ((uint8_t)((type) - 1))

static void seed_common(struct seedbuf *s, unsigned vcpus)
{
	put(s, T(TEV_VM_START), 0xc0, 0, 0, 0x100, vcpus);
	for (unsigned v = 0; v < vcpus; v++)
		put(s, T(TEV_VCPU_START), (uint8_t)v, 0, 0, 0x200, 0);
	put(s, T(TEV_EXIT_PIO), 0, 0x10, 0, 0x101, 0x3f8);
}

static void seed_end(struct seedbuf *s, unsigned vcpus)
{
	put(s, T(TEV_CONSOLE), 0, 0x10, 1 | 8 << 2 | 0x80, 0x40, 40);
	put(s, T(TEV_GUEST_EXIT), 0, 0x10, 0, 0x80, 0);
	for (unsigned v = 0; v < vcpus; v++)
		put(s, T(TEV_VCPU_EXIT), (uint8_t)v, 0x10, 0, 0x300, 0);
}

static int write_seed(const char *d, const char *name, const struct seedbuf *s)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", d, name);
	return write_file(path, s->b, s->n);
}

static int write_seeds(const char *d)
{
	struct seedbuf s;
	int ret = 0;

	/* two VCPUs, a pause of each, exits, console */
	put_hdr(&s, 0 | 5 << 5, 2 << 2, 0x00, 5, 1u << 24 | 1);
	seed_common(&s, 2);
	put(&s, K_CYCLE, 0, 0, 0, 0x123456, 0x42);
	put(&s, T(TEV_EXIT_MMIO), 1, 0x10, 0, 0x104, 0xd0000000);
	put(&s, K_CYCLE, 1, 0, 0, 0x654321, 0x7);
	put(&s, T(TEV_EXIT_HLT), 1, 0x10, 0, 0x10, 0);
	seed_end(&s, 2);
	ret |= write_seed(d, "two-pauses", &s);

	/* serial: switches, a coalesced request, a pause never resumed */
	put_hdr(&s, 1 | 3 << 5, 3 << 2, 0x01, 9, 0x80000004);
	seed_common(&s, 3);
	put(&s, T(TEV_SCHED_SWITCH), 1, 0, 0, 0x00000000, 10);
	put(&s, T(TEV_PAUSE_REQUEST), 1, 0, 0, 0x100, 0x8);
	put(&s, T(TEV_PAUSE_REQUEST), 1, 0, 0, 0x100, 0x9);
	put(&s, T(TEV_SIGNAL_SENT), 1, 0, 0, 0x100, 0);
	put(&s, T(TEV_PAUSE_COALESCED), 1, 0x18, 0, 0x101, 0);
	put(&s, T(TEV_PAUSE_TAKEN), 1, 0x40, 0, 0x140, 0x9);
	put(&s, T(TEV_RESUME_REQUEST), 1, 0, 8 << 2 | 1, 0x101, 0x99);
	put(&s, T(TEV_RESUMED), 1, 0, 0, 0x140, 0x99);
	put(&s, T(TEV_SCHED_SWITCH), 2, 0, 0, 0x01000001, 20);
	put(&s, K_CYCLE + 1, 2, 6, 0, 0x777, 0x5);   /* never resumed */
	seed_end(&s, 3);
	ret |= write_seed(d, "serial-coalesced", &s);

	/* a guest ELF with the recorded hash: RIPs are symbolised */
	put_hdr(&s, 2 | 7 << 2 | 1 << 5, 1 << 2, 0x10, 0x0011223344556677ull,
		0x1);
	seed_common(&s, 1);
	put(&s, K_CYCLE, 0, 0, 0, 0x10, 0x1);
	put(&s, T(TEV_GUEST_ASSERT), 0, 0x10, 1 | 12 << 2, 0x41, 0);
	put(&s, T(TEV_VCPU_ERROR), 0, 0x10, 1 | 10 << 2, 0x0c, 0);
	ret |= write_seed(d, "symbols-assert", &s);

	/* many pauses: one cycle, repeated */
	put_hdr(&s, 0 | 6 << 5, 2 << 2, 0x00, 1, 1u << 24 | 300);
	seed_common(&s, 2);
	put(&s, K_CYCLE, 0, 0, 0, 0x1234, 0x42);
	put(&s, K_CYCLE, 1, 0, 0, 0x4321, 0x43);
	put(&s, K_REPEAT, 1, 0, 0, 400, 0);
	seed_end(&s, 2);
	ret |= write_seed(d, "many-pauses", &s);

	/* hostile: VCPU ids past the count, unknown types, big payloads */
	put_hdr(&s, 3 | 5 << 2, 1, 0x23, 0xfeedface, 0x80000003);
	seed_common(&s, 1);
	put(&s, T(TEV_PAUSE_TAKEN), 0xd3, 0x04, 0, 0x1, 0x2);
	put(&s, T(TEV_RESUMED), 0xc0, 0x02, 0, 0xffff, 0x3);
	put(&s, K_OOR, 0xd4, 0x33, 3 | 0x80, 0x55, 0x66);
	put(&s, T(TEV_GUEST_LOG), 0xe0, 0x80, 2, 3000, 0x10);
	put(&s, K_CYCLE, 0xd2, 0x0b, 0, 0x99, 0x98);
	ret |= write_seed(d, "hostile", &s);
	return ret;
}

/* ------------------------------------------------------------ init */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *seeds = getenv("VCPRR_FUZZ_WRITE_SEEDS");

	verbose = getenv("VCPRR_FUZZ_VERBOSE") != NULL;
	if (seeds) {
		if (mkdir(seeds, 0755) && errno != EEXIST)
			exit(1);
		exit(write_seeds(seeds) ? 1 : 0);
	}
	if (scratch_init()) {
		perror("fuzz_trace_tools: scratch folder");
		exit(1);
	}
	null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	keep_out = dup(1);
	keep_err = dup(2);
	if (null_fd < 0 || keep_out < 0 || keep_err < 0)
		exit(1);
	/* sanitizer reports must survive the /dev/null spells */
	__sanitizer_set_report_fd((void *)(intptr_t)keep_err);
	return 0;
}
