/* Pause-script parser and interpreter.  Scripts are user input: every token
 * is checked and errors name the file and line. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools/cli.h"
#include "tools/pause-script.h"

static const char *const reg_names[] = {
	"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rsp", "rbp",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rip", "rflags",
};
#define NR_REGS (int)(sizeof(reg_names) / sizeof(reg_names[0]))

#define DEFAULT_WAIT_NS (5000000000ull)

static int perr(char *err, size_t errlen, const char *name, int line,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int perr(char *err, size_t errlen, const char *name, int line,
		const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(err, errlen, "%s:%d: ", name, line);

	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < errlen)
		vsnprintf(err + n, errlen - n, fmt, ap);
	va_end(ap);
	return -1;
}

static int parse_vcpu(const char *tok, unsigned *id)
{
	uint64_t v;

	if (cli_parse_u64(tok, &v) || v >= VM_MAX_VCPUS)
		return -1;
	*id = (unsigned)v;
	return 0;
}

static int parse_mask(const char *tok, vcpu_mask_t *m)
{
	char buf[512], *save = NULL, *part;

	memset(m, 0, sizeof(*m));
	if (!strcmp(tok, "all")) {
		*m = vcpu_mask_first(VM_MAX_VCPUS);
		return 0;
	}
	if (!strncmp(tok, "0x", 2))
		return cli_parse_u64(tok, &m->bits[0]) || !m->bits[0] ? -1 : 0;
	if (strlen(tok) >= sizeof(buf))
		return -1;
	strcpy(buf, tok);
	for (part = strtok_r(buf, ",", &save); part; part = strtok_r(NULL, ",", &save)) {
		char *dash = strchr(part, '-');
		unsigned lo, hi;

		if (dash)
			*dash = 0;
		if (parse_vcpu(part, &lo) || (dash ? parse_vcpu(dash + 1, &hi) : (hi = lo, 0)) ||
		    hi < lo)
			return -1;
		for (unsigned i = lo; i <= hi; i++)
			vcpu_mask_set(m, i);
	}
	return 0;
}

static int parse_reg(const char *tok)
{
	for (int i = 0; i < NR_REGS; i++)
		if (!strcmp(tok, reg_names[i]))
			return i;
	return -1;
}

/* Parses one tokenised line into c.  Returns 0 or -1 with a message. */
static int parse_line(const char *name, int line, char **tok, int ntok,
		      struct script_cmd *c, char *err, size_t errlen)
{
	static const struct { const char *word; enum script_op op; int min, max; } ops[] = {
		{ "pause", SCRIPT_PAUSE, 1, 2 }, { "request", SCRIPT_REQUEST, 1, 2 },
		{ "wait", SCRIPT_WAIT, 1, 2 }, { "set", SCRIPT_SET, 3, 3 },
		{ "print", SCRIPT_PRINT, 1, 1 }, { "resume", SCRIPT_RESUME, 1, 2 },
		{ "sleep", SCRIPT_SLEEP, 1, 1 },
	};
	int i, nargs = ntok - 1;

	for (i = 0; i < (int)(sizeof(ops) / sizeof(ops[0])); i++)
		if (!strcmp(tok[0], ops[i].word))
			break;
	if (i == (int)(sizeof(ops) / sizeof(ops[0])))
		return perr(err, errlen, name, line, "unknown command '%s'", tok[0]);
	if (nargs < ops[i].min || nargs > ops[i].max)
		return perr(err, errlen, name, line, "'%s' takes %d to %d arguments",
			    tok[0], ops[i].min, ops[i].max);
	*c = (struct script_cmd){ .op = ops[i].op, .line = line };
	switch (c->op) {
	case SCRIPT_PAUSE: case SCRIPT_WAIT: case SCRIPT_RESUME:
		if (parse_mask(tok[1], &c->mask))
			return perr(err, errlen, name, line, "bad VCPU mask '%s' (use "
				    "all, 0,2-5 or 0x5)", tok[1]);
		c->all = !strcmp(tok[1], "all");
		if (c->op == SCRIPT_WAIT) {
			c->value = DEFAULT_WAIT_NS;
			if (nargs == 2 && (cli_parse_duration(tok[2], &c->value) ||
					   !c->value))
				return perr(err, errlen, name, line, "bad timeout '%s' "
					    "(a duration with its unit: 500ms, 2s)",
					    tok[2]);
		} else if (nargs == 2 && cli_parse_u64(tok[2], &c->value)) {
			return perr(err, errlen, name, line, "bad data '%s'", tok[2]);
		}
		return 0;
	case SCRIPT_REQUEST: case SCRIPT_SET: case SCRIPT_PRINT:
		if (parse_vcpu(tok[1], &c->vcpu))
			return perr(err, errlen, name, line, "bad VCPU id '%s'", tok[1]);
		if (c->op == SCRIPT_SET) {
			c->reg = parse_reg(tok[2]);
			if (c->reg < 0)
				return perr(err, errlen, name, line, "unknown register "
					    "'%s'", tok[2]);
			if (cli_parse_u64(tok[3], &c->value))
				return perr(err, errlen, name, line, "bad value '%s'",
					    tok[3]);
		} else if (nargs == 2 && cli_parse_u64(tok[2], &c->value)) {
			return perr(err, errlen, name, line, "bad data '%s'", tok[2]);
		}
		return 0;
	case SCRIPT_SLEEP:
		if (cli_parse_duration(tok[1], &c->value))
			return perr(err, errlen, name, line, "bad duration '%s' (a "
				    "duration with its unit: 10ms, 1.5s)", tok[1]);
		return 0;
	}
	return 0;
}

int pause_script_parse(const char *name, const char *text, size_t len,
		       struct pause_script *s, char *err, size_t errlen)
{
	size_t pos = 0;
	int line = 0, cap = 0;

	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	if (len > SCRIPT_MAX_BYTES)
		return perr(err, errlen, name, 0, "script is larger than %u bytes",
			    SCRIPT_MAX_BYTES);
	while (pos < len) {
		char buf[1024], *tok[8], *save = NULL, *t;
		size_t start = pos, end = pos;
		int ntok = 0;

		line++;
		while (end < len && text[end] != '\n')
			end++;
		pos = end + 1;
		if (end - start >= sizeof(buf)) {
			pause_script_free(s);
			return perr(err, errlen, name, line, "line too long");
		}
		if (memchr(text + start, 0, end - start)) {
			pause_script_free(s);
			return perr(err, errlen, name, line, "NUL byte: not a text file");
		}
		memcpy(buf, text + start, end - start);
		buf[end - start] = 0;
		if ((t = strchr(buf, '#')))
			*t = 0;
		for (t = strtok_r(buf, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save)) {
			if (ntok == 8) {
				pause_script_free(s);
				return perr(err, errlen, name, line, "too many words");
			}
			tok[ntok++] = t;
		}
		if (!ntok)
			continue;
		if (s->n == SCRIPT_MAX_COMMANDS) {
			pause_script_free(s);
			return perr(err, errlen, name, line, "more than %d commands",
				    SCRIPT_MAX_COMMANDS);
		}
		if (s->n == cap) {
			struct script_cmd *n;
			cap = cap ? cap * 2 : 16;
			n = realloc(s->cmds, cap * sizeof(*n));
			if (!n) {
				pause_script_free(s);
				return perr(err, errlen, name, line, "out of memory");
			}
			s->cmds = n;
		}
		if (parse_line(name, line, tok, ntok, &s->cmds[s->n], err, errlen)) {
			pause_script_free(s);
			return -1;
		}
		s->n++;
	}
	return 0;
}

int pause_script_load(const char *path, struct pause_script *s,
		      char *err, size_t errlen)
{
	struct stat st;
	char *buf;
	ssize_t got;
	int fd = open(path, O_RDONLY | O_CLOEXEC), r = -1;

	if (fd < 0)
		return perr(err, errlen, path, 0, "cannot open: %s", strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > SCRIPT_MAX_BYTES) {
		close(fd);
		return perr(err, errlen, path, 0, "not a regular file of at most "
			    "%u bytes", SCRIPT_MAX_BYTES);
	}
	buf = malloc(st.st_size + 1);
	got = buf ? read(fd, buf, st.st_size) : -1;
	if (got == st.st_size)
		r = pause_script_parse(path, buf, got, s, err, errlen);
	else
		perr(err, errlen, path, 0, "read failed");
	free(buf);
	close(fd);
	return r;
}

void pause_script_free(struct pause_script *s)
{
	free(s->cmds);
	s->cmds = NULL;
	s->n = 0;
}

/* The highest VCPU a command names, or -1 (`all`, sleep). */
static int highest_vcpu(const struct script_cmd *c)
{
	switch (c->op) {
	case SCRIPT_REQUEST: case SCRIPT_SET: case SCRIPT_PRINT:
		return (int)c->vcpu;
	case SCRIPT_PAUSE: case SCRIPT_WAIT: case SCRIPT_RESUME:
		if (c->all)
			return -1;
		for (int i = VM_MAX_VCPUS - 1; i >= 0; i--)
			if (vcpu_mask_test(&c->mask, (unsigned)i))
				return i;
		return -1;
	default:
		return -1;
	}
}

int pause_script_check(const struct pause_script *s, unsigned nr_vcpus,
		       char *err, size_t errlen)
{
	for (int i = 0; i < s->n; i++) {
		int v = highest_vcpu(&s->cmds[i]);

		if (v >= (int)nr_vcpus)
			return perr(err, errlen, s->name, s->cmds[i].line,
				    "VCPU %d does not exist: the VM has %u (--vcpus)",
				    v, nr_vcpus);
	}
	return 0;
}

/* --- interpreter ------------------------------------------------------- */

/* Sleeps ns, or less when the run ends.  Returns 1 if it ended. */
static int sleep_or_end(struct vm *vm, uint64_t ns)
{
	struct pollfd p = { .fd = vm_end_fd(vm), .events = POLLIN };
	uint64_t ms = (ns + 999999) / 1000000;

	return poll(&p, 1, ms > 86400000 ? 86400000 : (int)ms) > 0;
}

static void print_regs(FILE *out, unsigned id, const struct kvm_regs *r)
{
	const uint64_t *w = (const uint64_t *)r;

	fprintf(out, "vcpu %u:", id);
	for (int i = 0; i < NR_REGS; i++)
		fprintf(out, "%s %s=%#llx", i % 6 ? "" : "\n ", reg_names[i],
			(unsigned long long)w[i]);
	fprintf(out, "\n");
}

static int run_cmd(const struct pause_script *s, const struct script_cmd *c,
		   struct vm *vm, FILE *out, char *err, size_t errlen)
{
	unsigned n = vm_nr_vcpus(vm);
	vcpu_mask_t mask = c->mask;
	struct kvm_regs regs;
	int r;

	for (unsigned i = n; i < VM_MAX_VCPUS; i++)
		mask.bits[i / 64] &= ~(1ull << (i % 64));
	if ((c->op == SCRIPT_REQUEST || c->op == SCRIPT_SET || c->op == SCRIPT_PRINT) &&
	    c->vcpu >= n)
		return perr(err, errlen, s->name, c->line, "VCPU %u does not exist "
			    "(the VM has %u)", c->vcpu, n);
	switch (c->op) {
	case SCRIPT_PAUSE:
		return vm_pause_vcpus(vm, &mask, c->value);
	case SCRIPT_REQUEST:
		return vcpu_request_pause(vm, c->vcpu, c->value) < 0 ? -1 : 0;
	case SCRIPT_WAIT:
		r = vm_wait_paused(vm, &mask, (int)(c->value / 1000000), NULL);
		if (r == -ESHUTDOWN || r == -ESRCH)
			return 1;
		if (r == -ETIMEDOUT)
			return perr(err, errlen, s->name, c->line, "wait: VCPUs not "
				    "paused after %llu ms",
				    (unsigned long long)c->value / 1000000);
		return 0;
	case SCRIPT_SET:
		if (vcpu_get_regs(vm, c->vcpu, &regs))
			return perr(err, errlen, s->name, c->line, "set: VCPU %u is "
				    "not paused", c->vcpu);
		((uint64_t *)&regs)[c->reg] = c->value;
		return vcpu_set_regs(vm, c->vcpu, &regs);
	case SCRIPT_PRINT:
		if (vcpu_get_regs(vm, c->vcpu, &regs))
			return perr(err, errlen, s->name, c->line, "print: VCPU %u "
				    "is not paused", c->vcpu);
		print_regs(out, c->vcpu, &regs);
		return 0;
	case SCRIPT_RESUME:
		vm_resume_vcpus(vm, &mask, c->value);
		return 0;
	case SCRIPT_SLEEP:
		return sleep_or_end(vm, c->value);
	}
	return 0;
}

int pause_script_run(const struct pause_script *s, struct vm *vm, FILE *out,
		     char *err, size_t errlen)
{
	vcpu_mask_t all = vcpu_mask_first(vm_nr_vcpus(vm));
	int r = 0;

	for (int i = 0; i < s->n && r == 0; i++)
		r = run_cmd(s, &s->cmds[i], vm, out, err, errlen);
	/* Also those about to take a request the script made. */
	vm_release_vcpus(vm, &all, 0);
	return r;
}
