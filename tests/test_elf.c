/* The ELF loader against hostile images: each case must give its own clear
 * error naming the file, never a crash. */
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/helpers/testutil.h"
#include "vmm/elf.h"
#include "vmm/guest/abi.h"

#define MEM_SIZE (16u << 20)
#define STACKS   (MEM_SIZE - 4 * VCPRR_STACK_SIZE)

struct image {
	Elf64_Ehdr eh;
	Elf64_Phdr ph[2];
	uint8_t code[64];
};

static uint8_t *mem;
static const struct elf_window win = { VCPRR_IMAGE_MIN, STACKS, MEM_SIZE };

/* A minimal valid image: one RX segment at 1 MiB holding `hlt`. */
static void make_valid(struct image *im)
{
	memset(im, 0, sizeof(*im));
	memcpy(im->eh.e_ident, ELFMAG, SELFMAG);
	im->eh.e_ident[EI_CLASS] = ELFCLASS64;
	im->eh.e_ident[EI_DATA] = ELFDATA2LSB;
	im->eh.e_ident[EI_VERSION] = EV_CURRENT;
	im->eh.e_type = ET_EXEC;
	im->eh.e_machine = EM_X86_64;
	im->eh.e_version = EV_CURRENT;
	im->eh.e_entry = VCPRR_IMAGE_MIN;
	im->eh.e_phoff = offsetof(struct image, ph);
	im->eh.e_ehsize = sizeof(Elf64_Ehdr);
	im->eh.e_phentsize = sizeof(Elf64_Phdr);
	im->eh.e_phnum = 1;
	im->ph[0] = (Elf64_Phdr){
		.p_type = PT_LOAD, .p_flags = PF_R | PF_X,
		.p_offset = offsetof(struct image, code),
		.p_vaddr = VCPRR_IMAGE_MIN, .p_paddr = VCPRR_IMAGE_MIN,
		.p_filesz = sizeof(im->code), .p_memsz = 4096,
	};
	im->code[0] = 0xf4;
}

static int load(const void *buf, size_t len, char *err, size_t errlen)
{
	uint64_t entry = 0;

	return elf_load_image("guest.elf", buf, len, mem, &win, &entry, err, errlen);
}

static void expect_error(const struct image *im, size_t len, const char *needle)
{
	char err[512] = "";

	assert_int_equal(load(im, len, err, sizeof(err)), -1);
	if (strncmp(err, "guest.elf: ", 11) || !strstr(err, needle))
		fail_msg("error '%s' does not name the file or lacks '%s'", err, needle);
}

static void test_valid_image_loads(void **state)
{
	struct image im;
	char err[512];
	uint64_t entry = 0;

	make_valid(&im);
	memset(mem + VCPRR_IMAGE_MIN, 0xcc, 8192);
	assert_int_equal(elf_load_image("guest.elf", (void *)&im, sizeof(im), mem,
					&win, &entry, err, sizeof(err)), 0);
	assert_int_equal(entry, VCPRR_IMAGE_MIN);
	assert_int_equal(mem[VCPRR_IMAGE_MIN], 0xf4);
	/* .bss part zeroed */
	assert_int_equal(mem[VCPRR_IMAGE_MIN + 4095], 0);
	assert_int_equal(mem[VCPRR_IMAGE_MIN + 4096], 0xcc);
}

static void test_header_cases(void **state)
{
	struct image im;

	make_valid(&im);
	expect_error(&im, 0, "bad magic");
	expect_error(&im, 3, "bad magic");
	make_valid(&im); im.eh.e_ident[EI_CLASS] = ELFCLASS32;
	expect_error(&im, sizeof(im), "not a 64-bit ELF");
	make_valid(&im); im.eh.e_ident[EI_DATA] = ELFDATA2MSB;
	expect_error(&im, sizeof(im), "not a little-endian");
	make_valid(&im);
	expect_error(&im, sizeof(Elf64_Ehdr) - 1, "truncated ELF header");
	make_valid(&im); im.eh.e_machine = EM_AARCH64;
	expect_error(&im, sizeof(im), "wrong machine 183");
	make_valid(&im); im.eh.e_type = ET_DYN;
	expect_error(&im, sizeof(im), "not an executable");
	make_valid(&im); im.eh.e_phnum = 0;
	expect_error(&im, sizeof(im), "no program headers");
	make_valid(&im); im.eh.e_phnum = 65535;
	expect_error(&im, sizeof(im), "65535 program headers");
	make_valid(&im); im.eh.e_phentsize = 12;
	expect_error(&im, sizeof(im), "program header size 12");
	make_valid(&im); im.eh.e_phoff = ~0ull - 8;
	expect_error(&im, sizeof(im), "run past the end of the file");
	make_valid(&im);
	expect_error(&im, offsetof(struct image, ph) + 10, "run past the end");
}

static void test_segment_cases(void **state)
{
	struct image im;

	make_valid(&im); im.ph[0].p_filesz = 8192;
	expect_error(&im, sizeof(im), "exceeds memory size");
	make_valid(&im); im.ph[0].p_offset = 1 << 20;
	expect_error(&im, sizeof(im), "runs past the end of the file");
	make_valid(&im); im.ph[0].p_offset = ~0ull - 10;
	expect_error(&im, sizeof(im), "runs past the end of the file");
	make_valid(&im); im.ph[0].p_memsz = 1ull << 62;
	expect_error(&im, sizeof(im), "absurd size");
	make_valid(&im); im.ph[0].p_paddr = 0x2000; im.eh.e_entry = 0x2000;
	expect_error(&im, sizeof(im), "overlaps the VMM's page tables and GDT");
	make_valid(&im); im.ph[0].p_paddr = 1ull << 40;
	expect_error(&im, sizeof(im), "outside guest memory (16 MiB)");
	make_valid(&im); im.ph[0].p_paddr = MEM_SIZE - 4096; im.ph[0].p_memsz = 8192;
	expect_error(&im, sizeof(im), "outside guest memory");
	make_valid(&im); im.ph[0].p_paddr = STACKS - 4096; im.ph[0].p_memsz = 8192;
	im.eh.e_entry = STACKS - 4096;
	expect_error(&im, sizeof(im), "overlaps the VCPU stacks");
	make_valid(&im); im.eh.e_phnum = 2; im.ph[1] = im.ph[0];
	im.ph[1].p_paddr += 100;
	expect_error(&im, sizeof(im), "overlaps another loadable segment");
	make_valid(&im); im.eh.e_entry = 0x500000;
	expect_error(&im, sizeof(im), "entry point 0x500000 is not inside");
	make_valid(&im); im.ph[0].p_flags = PF_R;
	expect_error(&im, sizeof(im), "not inside an executable");
	make_valid(&im); im.ph[0].p_type = PT_NOTE;
	expect_error(&im, sizeof(im), "no loadable segments");
}

/* Every truncation of a real guest image fails cleanly or loads. */
static void test_truncations_of_real_guest(void **state)
{
	uint8_t *buf;
	size_t len;
	char err[512];

	if (elf_read_file(guest_path("hello"), &buf, &len, err, sizeof(err)))
		fail_msg("%s", err);
	for (size_t cut = 0; cut < len; cut += 7)
		load(buf, cut, err, sizeof(err));
	assert_int_equal(load(buf, len, err, sizeof(err)), 0);
	free(buf);
}

static void test_file_errors(void **state)
{
	char path[] = "/tmp/vcprr-big-XXXXXX", err[512];
	uint8_t *buf;
	size_t len;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)ELF_MAX_FILE_SIZE + 1), 0);
	assert_int_equal(elf_read_file(path, &buf, &len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "limited to 256 MiB"));
	close(fd);
	unlink(path);
	assert_int_equal(elf_read_file("/tmp", &buf, &len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/tmp: not a regular file"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_image_loads),
		cmocka_unit_test(test_header_cases),
		cmocka_unit_test(test_segment_cases),
		cmocka_unit_test(test_truncations_of_real_guest),
		cmocka_unit_test(test_file_errors),
	};
	int r;

	mem = calloc(1, MEM_SIZE);
	r = cmocka_run_group_tests(tests, NULL, NULL);
	free(mem);
	return r;
}
