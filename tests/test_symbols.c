/* Guest names: source lines from our DWARF line reader agree with
 * binutils' addr2line at every byte of every guest's code (DWARF 5, and
 * 2-4 from programs compiled here), data addresses name their variable,
 * and hostile line tables fail cleanly with the offset, never a crash. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/helpers/testutil.h"
#include "tools/dwarf-line.h"
#include "tools/elf-sections.h"
#include "tools/symbols.h"
#include "vmm/elf.h"

static const char *const guests[] = {
	"lost-update", "tas-lock", "check-then-act", "ring-nofull", "order3",
	"hello", "hostile",
};

static uint8_t *slurp(const char *path, size_t *len)
{
	uint8_t *buf;
	char err[256];

	if (elf_read_file(path, &buf, len, err, sizeof(err)))
		fail_msg("%s", err);
	return buf;
}

/* [*lo, *hi) of the section called name. */
static void section_range(const uint8_t *buf, size_t len, const char *name,
			  uint64_t *lo, uint64_t *hi)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)buf;
	struct elf_file f;
	Elf64_Shdr names, sh;
	char err[256];

	assert_int_equal(elf_file_open(&f, buf, len, "t", err, sizeof(err)), 0);
	elf_file_section(&f, eh->e_shstrndx, &names);
	for (unsigned i = 1; i < f.shnum; i++) {
		elf_file_section(&f, i, &sh);
		if (!strcmp((const char *)buf + names.sh_offset + sh.sh_name, name)) {
			*lo = sh.sh_addr;
			*hi = sh.sh_addr + sh.sh_size;
			return;
		}
	}
	fail_msg("no section %s", name);
}

/* Compares symtab_source with addr2line at every byte of .text. */
static void compare_with_addr2line(const char *elf)
{
	char addrs[] = "/tmp/vcprr-lines-XXXXXX", cmd[512];
	struct symtab *st;
	uint64_t lo = 0, hi = 0;
	size_t len;
	uint8_t *buf = slurp(elf, &len);
	char err[256], line[1024];
	unsigned checked = 0, known = 0;
	FILE *f, *p;
	int fd;

	st = symtab_load_mem(buf, len, elf, err, sizeof(err));
	assert_non_null(st);
	assert_string_equal(symtab_lines_error(st), "");
	section_range(buf, len, ".text", &lo, &hi);
	fd = mkstemp(addrs);
	f = fdopen(fd, "w");
	for (uint64_t a = lo; a < hi; a++)
		fprintf(f, "%llx\n", (unsigned long long)a);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "addr2line -e %s < %s", elf, addrs);
	p = popen(cmd, "r");
	assert_non_null(p);
	for (uint64_t a = lo; a < hi && fgets(line, sizeof(line), p); a++) {
		const char *want = line, *file;
		char got[1024];
		unsigned ln;

		line[strcspn(line, " \n")] = 0;  /* " (discriminator N)" */
		if (!strncmp(want, "./", 2))
			want += 2;
		if (symtab_source(st, a, &file, &ln))
			snprintf(got, sizeof(got), "??:0");
		else
			snprintf(got, sizeof(got), "%s:%u", file, ln);
		/* DWARF 2-4 leave the compilation folder to .debug_info */
		size_t gl = strlen(got), wl = strlen(want);
		bool suffix = wl > gl && want[wl - gl - 1] == '/' &&
			      !strcmp(want + wl - gl, got);
		if (strcmp(got, want) && !suffix &&
		    !(!strncmp(want, "??:", 3) && !strcmp(got, "??:0")))
			fail_msg("%s at %#llx: %s, addr2line says %s", elf,
				 (unsigned long long)a, got, want);
		checked++;
		known += strcmp(got, "??:0") != 0;
	}
	pclose(p);
	unlink(addrs);
	assert_int_equal(checked, hi - lo);
	assert_true(known > checked / 2);
	symtab_free(st);
	free(buf);
}

static void test_guest_lines(void **state)
{
	(void)state;
	if (system("command -v addr2line >/dev/null"))
		skip();
	for (size_t i = 0; i < sizeof(guests) / sizeof(guests[0]); i++)
		compare_with_addr2line(guest_path(guests[i]));
}

/* Older DWARF line tables (versions 2-4), from a program compiled here. */
static void test_older_dwarf(void **state)
{
	static const char src[] =
		"static volatile int x;\n"
		"static int twice(int v)\n{\n\treturn 2 * v;\n}\n"
		"void _start(void)\n{\n\tfor (int i = 0; i < 3; i++)\n"
		"\t\tx += twice(i);\n\tfor (;;)\n\t\t;\n}\n";
	char dir[64], cmd[512];

	(void)state;
	if (system("command -v addr2line >/dev/null && command -v gcc >/dev/null"))
		skip();
	assert_int_equal(scratch_dir(dir, sizeof(dir), "lines"), 0);
	snprintf(cmd, sizeof(cmd), "%s/p.c", dir);
	FILE *f = fopen(cmd, "w");
	fputs(src, f);
	fclose(f);
	for (int v = 2; v <= 5; v++) {
		char elf[128];

		snprintf(elf, sizeof(elf), "%s/p%d", dir, v);
		snprintf(cmd, sizeof(cmd), "cd %s && gcc -O1 -gdwarf-%d -nostdlib "
			 "-static -fno-pie -no-pie -o p%d p.c", dir, v, v);
		assert_int_equal(system(cmd), 0);
		compare_with_addr2line(elf);
	}
	scratch_dir_remove(dir);
}

/* Data addresses name the variable and the offset into it. */
static void test_data_names(void **state)
{
	char err[256];
	struct symtab *st = symtab_load(guest_path("lost-update"), err,
					sizeof(err));
	uint64_t total = 0, off;
	const char *name;

	(void)state;
	assert_non_null(st);
	for (uint64_t a = 0x100000; a < 0x110000 && !total; a += 8) {
		name = symtab_lookup(st, a, &off);
		if (name && !strcmp(name, "total") && off == 0)
			total = a;
	}
	assert_true(total != 0);
	name = symtab_lookup(st, total + 5, &off);
	assert_string_equal(name, "total");
	assert_int_equal(off, 5);
	symtab_free(st);
}

/* Every cut of .debug_line and random bytes in it: a table or a message
 * with the offset, and the symbols still load. */
static void test_hostile_lines(void **state)
{
	size_t len;
	uint8_t *buf = slurp(guest_path("lost-update"), &len), *copy = malloc(len);
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)buf;
	struct elf_file f;
	Elf64_Shdr names, sh;
	uint64_t shoff = 0, off = 0, size = 0;
	uint64_t seed = 99;
	char err[256];
	unsigned failed = 0;

	(void)state;
	assert_int_equal(elf_file_open(&f, buf, len, "t", err, sizeof(err)), 0);
	elf_file_section(&f, eh->e_shstrndx, &names);
	for (unsigned i = 1; i < f.shnum; i++) {
		elf_file_section(&f, i, &sh);
		if (!strcmp((const char *)buf + names.sh_offset + sh.sh_name,
			    ".debug_line")) {
			shoff = eh->e_shoff + i * sizeof(sh);
			off = sh.sh_offset;
			size = sh.sh_size;
		}
	}
	assert_true(size > 100);
	for (uint64_t cut = 0; cut < size; cut++) {  /* the section cut short */
		struct symtab *st;

		memcpy(copy, buf, len);
		memcpy(&sh, copy + shoff, sizeof(sh));
		sh.sh_size = cut;
		memcpy(copy + shoff, &sh, sizeof(sh));
		st = symtab_load_mem(copy, len, "cut.elf", err, sizeof(err));
		assert_non_null(st);
		assert_true(symtab_count(st) > 10);
		if (*symtab_lines_error(st)) {
			failed++;
			if (!strstr(symtab_lines_error(st),
				    "cut.elf: .debug_line at offset 0x"))
				fail_msg("cut at %llu: %s", (unsigned long long)cut,
					 symtab_lines_error(st));
		}
		symtab_free(st);
	}
	assert_true(failed > size / 2);
	for (int i = 0; i < 20000; i++) {  /* flipped bytes */
		struct symtab *st;
		const char *file;
		unsigned line;

		memcpy(copy, buf, len);
		for (int k = 0; k < 1 + i % 4; k++)
			copy[off + test_rand(&seed) % size] = (uint8_t)test_rand(&seed);
		st = symtab_load_mem(copy, len, "flip.elf", err, sizeof(err));
		assert_non_null(st);
		for (uint64_t a = 0x100000; a < 0x101000; a += 97)
			if (!symtab_source(st, a, &file, &line))
				assert_non_null(file);
		symtab_free(st);
	}
	free(copy);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guest_lines),
		cmocka_unit_test(test_older_dwarf),
		cmocka_unit_test(test_data_names),
		cmocka_unit_test(test_hostile_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
