// SPDX-License-Identifier: Apache-2.0
/*
 * x86 kernel loaders: synthetic bzImages and PVH ELF kernels built in memory,
 * loaded into a buffer-backed guest RAM. Zero-page and start-info fields are
 * checked at their raw protocol offsets, independently of the loader's
 * structs.
 */
#include <criterion/criterion.h>
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arch/x86/boot.h"
#include "arch/x86/e820.h"
#include "arch/x86/layout.h"
#include "vstate/memory.h"

#define MIB 0x100000ULL
#define RAM_SIZE (64 * MIB)

static struct guest_memory mem;
static uint8_t *ram;
static uint64_t ram_size;
static char err[256];

static void ram_setup_size(uint64_t size)
{
	if (ram)
		munmap(ram, ram_size);
	ram_size = size;
	ram = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	cr_assert(ram != MAP_FAILED);
	guest_memory_init_from(&mem, 0, ram, size);
	memset(err, 0, sizeof(err));
}

static void ram_setup(void)
{
	ram_setup_size(RAM_SIZE);
}

static void ram_teardown(void)
{
	if (ram)
		munmap(ram, ram_size);
	ram = NULL;
}

static void put16(uint8_t *p, size_t off, uint16_t v)
{
	memcpy(p + off, &v, sizeof(v));
}

static void put32(uint8_t *p, size_t off, uint32_t v)
{
	memcpy(p + off, &v, sizeof(v));
}

static void put64(uint8_t *p, size_t off, uint64_t v)
{
	memcpy(p + off, &v, sizeof(v));
}

static uint16_t get16(const uint8_t *p, size_t off)
{
	uint16_t v;

	memcpy(&v, p + off, sizeof(v));
	return v;
}

static uint32_t get32(const uint8_t *p, size_t off)
{
	uint32_t v;

	memcpy(&v, p + off, sizeof(v));
	return v;
}

static uint64_t get64(const uint8_t *p, size_t off)
{
	uint64_t v;

	memcpy(&v, p + off, sizeof(v));
	return v;
}

/* Runs boot_load and checks the failure contract: a negative errno and a
 * non-empty one-line message. */
static int load_fails(const struct boot_request *req)
{
	struct boot_entry out;
	int ret;

	memset(err, 0, sizeof(err));
	ret = boot_load(&mem, req, &out, err, sizeof(err));
	cr_assert_lt(ret, 0, "expected failure, got %d", ret);
	cr_assert_neq(err[0], '\0', "no error message");
	cr_assert_null(strchr(err, '\n'), "multi-line message: %s", err);
	return ret;
}

/* ---- bzImage ------------------------------------------------------------ */

#define BZ_SETUP_SECTS 1
#define BZ_SETUP_SIZE ((BZ_SETUP_SECTS + 1) * 512)
#define BZ_PM_SIZE 0x3000
#define BZ_INIT_SIZE (4 * MIB)
#define BZ_PREF 0x1000000ULL /* 16 MiB, like LOAD_PHYSICAL_ADDR */

static uint8_t bz[BZ_SETUP_SIZE + BZ_PM_SIZE];

/* A minimal well-formed bzImage header, protocol 2.15, 64-bit capable,
 * relocatable, followed by BZ_PM_SIZE bytes of "code". */
static void bz_make(void)
{
	memset(bz, 0, sizeof(bz));
	bz[0x1f1] = BZ_SETUP_SECTS;
	put32(bz, 0x1f4, BZ_PM_SIZE / 16);      /* syssize */
	put16(bz, 0x1fe, 0xaa55);               /* boot_flag */
	bz[0x200] = 0xeb;                       /* jmp */
	bz[0x201] = 0x6a;                       /* header ends at 0x26c */
	memcpy(bz + 0x202, "HdrS", 4);
	put16(bz, 0x206, 0x020f);               /* version */
	bz[0x211] = 0x01;                       /* loadflags: LOADED_HIGH */
	put32(bz, 0x214, 0x100000);             /* code32_start */
	put32(bz, 0x22c, 0x7fffffff);           /* initrd_addr_max */
	put32(bz, 0x230, 0x200000);             /* kernel_alignment */
	bz[0x234] = 1;                          /* relocatable_kernel */
	bz[0x235] = 21;                         /* min_alignment */
	put16(bz, 0x236, 0x3);                  /* XLF_KERNEL_64 | above 4G */
	put32(bz, 0x238, 2047);                 /* cmdline_size */
	put64(bz, 0x258, BZ_PREF);              /* pref_address */
	put32(bz, 0x260, BZ_INIT_SIZE);         /* init_size */
	bz[0x1ef] = 0xff; /* sentinel: must not reach the zero page */
	for (size_t i = 0; i < BZ_PM_SIZE; i++)
		bz[BZ_SETUP_SIZE + i] = (uint8_t)(i * 7 + 3);
}

static struct boot_request bz_req(void)
{
	struct boot_request req = {
		.kernel = { bz, sizeof(bz), -1 },
		.cmdline = "console=ttyS0 reboot=k panic=1",
	};
	return req;
}

TestSuite(bzimage, .init = ram_setup, .fini = ram_teardown);

Test(bzimage, loads_kernel_zero_page_and_cmdline)
{
	struct boot_request req;
	struct boot_entry out;
	const uint8_t *zp = ram + LAYOUT_ZERO_PAGE;
	int ret;

	bz_make();
	req = bz_req();
	req.rsdp_gpa = 0xe0000;
	ret = boot_load(&mem, &req, &out, err, sizeof(err));
	cr_assert_eq(ret, 0, "%s", err);
	cr_assert_eq(out.protocol, BOOT_LINUX64);
	cr_assert_eq(out.entry, LAYOUT_HIMEM_START + 0x200);
	cr_assert_eq(out.boot_info, LAYOUT_ZERO_PAGE);

	/* protected-mode code at 1 MiB */
	cr_assert_eq(memcmp(ram + LAYOUT_HIMEM_START, bz + BZ_SETUP_SIZE,
			    BZ_PM_SIZE), 0);
	/* the setup header is copied, the rest of the page is ours */
	cr_assert_eq(memcmp(zp + 0x202, "HdrS", 4), 0);
	cr_assert_eq(get16(zp, 0x1fe), 0xaa55);
	cr_assert_eq(get16(zp, 0x206), 0x020f);
	cr_assert_eq(zp[0x1ef], 0, "sentinel copied from the image");
	cr_assert_eq(zp[0x210], 0xff, "type_of_loader");
	cr_assert_eq(zp[0x211], 0x81, "loadflags LOADED_HIGH|CAN_USE_HEAP");
	cr_assert_eq(get16(zp, 0x224), 0xfe00, "heap_end_ptr");
	cr_assert_eq(get32(zp, 0x214), LAYOUT_HIMEM_START, "code32_start");
	cr_assert_eq(get32(zp, 0x228), LAYOUT_CMDLINE, "cmd_line_ptr");
	cr_assert_eq(get32(zp, 0x0c8), 0, "ext_cmd_line_ptr");
	cr_assert_eq(get64(zp, 0x070), 0xe0000, "acpi_rsdp_addr");
	cr_assert_eq(get32(zp, 0x218), 0, "ramdisk_image without initrd");
	cr_assert_eq(get32(zp, 0x21c), 0, "ramdisk_size without initrd");
	cr_assert_eq(get32(zp, 0x238), 2047, "cmdline_size kept");
	/* nothing past the header's end (0x26c) */
	for (size_t i = 0x26c; i < 0x290; i++)
		cr_assert_eq(zp[i], 0, "byte 0x%zx", i);

	/* e820: [0, EBDA) RAM, [EBDA, 1M) reserved, [1M, 64M) RAM */
	cr_assert_eq(zp[0x1e8], 3, "e820_entries");
	cr_assert_eq(get64(zp, 0x2d0 + 0), 0);
	cr_assert_eq(get64(zp, 0x2d0 + 8), LAYOUT_EBDA_START);
	cr_assert_eq(get32(zp, 0x2d0 + 16), E820_TYPE_RAM);
	cr_assert_eq(get64(zp, 0x2d0 + 20), LAYOUT_EBDA_START);
	cr_assert_eq(get64(zp, 0x2d0 + 28), MIB - LAYOUT_EBDA_START);
	cr_assert_eq(get32(zp, 0x2d0 + 36), E820_TYPE_RESERVED);
	cr_assert_eq(get64(zp, 0x2d0 + 40), MIB);
	cr_assert_eq(get64(zp, 0x2d0 + 48), RAM_SIZE - MIB);
	cr_assert_eq(get32(zp, 0x2d0 + 56), E820_TYPE_RAM);
	cr_assert_eq(get64(zp, 0x2d0 + 60), 0, "entry 3 left empty");

	/* command line with its NUL */
	cr_assert_str_eq((char *)ram + LAYOUT_CMDLINE, req.cmdline);
}

Test(bzimage, initrd_high_aligned_and_announced)
{
	static uint8_t initrd[3 * 4096 + 123];
	struct boot_request req;
	struct boot_entry out;
	const uint8_t *zp = ram + LAYOUT_ZERO_PAGE;
	uint32_t gpa;

	bz_make();
	memset(initrd, 0x5a, sizeof(initrd));
	req = bz_req();
	req.initrd = (struct boot_image){ initrd, sizeof(initrd), -1 };
	cr_assert_eq(boot_load(&mem, &req, &out, err, sizeof(err)), 0, "%s",
		     err);
	gpa = get32(zp, 0x218);
	cr_assert_eq(get32(zp, 0x21c), sizeof(initrd));
	cr_assert_eq(get32(zp, 0x0c0), 0, "ext_ramdisk_image");
	cr_assert_eq(get32(zp, 0x0c4), 0, "ext_ramdisk_size");
	cr_assert_eq(gpa % 4096, 0);
	cr_assert_leq(gpa + sizeof(initrd), RAM_SIZE);
	/* as high as possible: less than a page of slack at the top */
	cr_assert_gt(gpa + sizeof(initrd) + 4096, RAM_SIZE);
	cr_assert_geq(gpa, BZ_PREF + BZ_INIT_SIZE);
	cr_assert_eq(memcmp(ram + gpa, initrd, sizeof(initrd)), 0);
}

Test(bzimage, initrd_respects_initrd_addr_max)
{
	static uint8_t initrd[8192];
	struct boot_request req;
	struct boot_entry out;
	uint32_t gpa;

	bz_make();
	put32(bz, 0x22c, 32 * MIB - 1);
	req = bz_req();
	req.initrd = (struct boot_image){ initrd, sizeof(initrd), -1 };
	cr_assert_eq(boot_load(&mem, &req, &out, err, sizeof(err)), 0, "%s",
		     err);
	gpa = get32(ram + LAYOUT_ZERO_PAGE, 0x218);
	cr_assert_eq(gpa, 32 * MIB - sizeof(initrd));
}

Test(bzimage, initrd_above_the_decompression_area)
{
	struct boot_request req;
	struct boot_entry out;
	size_t size = RAM_SIZE - (BZ_PREF + BZ_INIT_SIZE); /* exactly fits */
	uint8_t *initrd = calloc(1, size + 1);

	bz_make();
	req = bz_req();
	req.initrd = (struct boot_image){ initrd, size, -1 };
	cr_assert_eq(boot_load(&mem, &req, &out, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(get32(ram + LAYOUT_ZERO_PAGE, 0x218),
		     BZ_PREF + BZ_INIT_SIZE);
	/* one byte more collides with init_size */
	req.initrd.size = size + 1;
	cr_assert_eq(load_fails(&req), -ENOMEM);
	cr_assert_not_null(strstr(err, "initrd"), "%s", err);
	free(initrd);
}

Test(bzimage, cmdline_limit_is_cmdline_size)
{
	char line[2049];
	struct boot_request req;
	struct boot_entry out;

	bz_make();
	memset(line, 'a', sizeof(line));
	line[2047] = '\0';
	req = bz_req();
	req.cmdline = line;
	cr_assert_eq(boot_load(&mem, &req, &out, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(strlen((char *)ram + LAYOUT_CMDLINE), 2047);

	line[2047] = 'a';
	line[2048] = '\0';
	ram_setup();
	cr_assert_eq(load_fails(&req), -E2BIG);
	cr_assert_not_null(strstr(err, "2048"), "%s", err);
	cr_assert_not_null(strstr(err, "2047"), "%s", err);
	/* validation happens before any write */
	cr_assert_eq(ram[LAYOUT_HIMEM_START], 0);
	cr_assert_eq(ram[LAYOUT_ZERO_PAGE + 0x202], 0);
}

Test(bzimage, null_cmdline_is_empty)
{
	struct boot_request req;
	struct boot_entry out;

	bz_make();
	req = bz_req();
	req.cmdline = NULL;
	cr_assert_eq(boot_load(&mem, &req, &out, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(ram[LAYOUT_CMDLINE], 0);
}

Test(bzimage, empty_kernel)
{
	struct boot_request req = { .kernel = { bz, 0, -1 }, .cmdline = "" };

	cr_assert_eq(load_fails(&req), -EINVAL);
	cr_assert_str_eq(err, "kernel is empty");
	req.kernel.data = NULL;
	req.kernel.size = 10;
	req.kernel.fd = -1;
	cr_assert_eq(load_fails(&req), -EINVAL);
	cr_assert_str_eq(err, "kernel has a size but no file or data");
}

Test(bzimage, random_bytes)
{
	uint8_t junk[100];
	struct boot_request req = { .kernel = { junk, sizeof(junk), -1 } };

	srand(42);
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)rand();
	junk[0] = 0; /* not "\x7fELF" by chance */
	cr_assert_eq(load_fails(&req), -ENOEXEC);
	cr_assert_str_eq(err, "kernel is not a bzImage or ELF vmlinux");
}

Test(bzimage, truncated_header)
{
	struct boot_request req;

	bz_make();
	req = bz_req();
	req.kernel.size = 0x240; /* "HdrS" present, header cut */
	load_fails(&req);
	cr_assert_not_null(strstr(err, "truncated"), "%s", err);
}

Test(bzimage, wrong_magic)
{
	struct boot_request req;

	bz_make();
	memcpy(bz + 0x202, "HdrZ", 4);
	req = bz_req();
	cr_assert_eq(load_fails(&req), -ENOEXEC);
	cr_assert_str_eq(err, "kernel is not a bzImage or ELF vmlinux");
}

Test(bzimage, wrong_boot_flag)
{
	struct boot_request req;

	bz_make();
	put16(bz, 0x1fe, 0x1234);
	req = bz_req();
	load_fails(&req);
	cr_assert_not_null(strstr(err, "boot_flag"), "%s", err);
}

Test(bzimage, old_protocol)
{
	struct boot_request req;

	bz_make();
	put16(bz, 0x206, 0x0205);
	req = bz_req();
	cr_assert_eq(load_fails(&req), -ENOEXEC);
	cr_assert_str_eq(err, "bzImage boot protocol 2.05 is too old "
			      "(need 2.12+ for 64-bit entry)");
}

Test(bzimage, not_64bit_capable)
{
	struct boot_request req;

	bz_make();
	put16(bz, 0x236, 0x2);
	req = bz_req();
	load_fails(&req);
	cr_assert_not_null(strstr(err, "64-bit"), "%s", err);
}

Test(bzimage, zimage_refused)
{
	struct boot_request req;

	bz_make();
	bz[0x211] = 0;
	req = bz_req();
	load_fails(&req);
	cr_assert_not_null(strstr(err, "zImage"), "%s", err);
}

Test(bzimage, setup_sects_past_end)
{
	struct boot_request req;

	bz_make();
	bz[0x1f1] = 0xff; /* 128 KiB of setup in a 13 KiB file */
	req = bz_req();
	load_fails(&req);
	cr_assert_not_null(strstr(err, "truncated"), "%s", err);
}

Test(bzimage, setup_sects_zero_means_four)
{
	struct boot_request req;

	bz_make();
	bz[0x1f1] = 0;
	put32(bz, 0x1f4, (sizeof(bz) - 5 * 512) / 16);
	req = bz_req();
	struct boot_entry out;
	cr_assert_eq(boot_load(&mem, &req, &out, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(memcmp(ram + LAYOUT_HIMEM_START, bz + 5 * 512,
			    sizeof(bz) - 5 * 512), 0);
}

Test(bzimage, syssize_past_end)
{
	struct boot_request req;

	bz_make();
	put32(bz, 0x1f4, 0xffffffff);
	req = bz_req();
	load_fails(&req);
	cr_assert_not_null(strstr(err, "truncated"), "%s", err);
}

Test(bzimage, header_longer_than_zero_page_room)
{
	struct boot_request req;

	bz_make();
	bz[0x201] = 0xff;
	req = bz_req();
	load_fails(&req);
}

Test(bzimage, header_too_short_for_protocol)
{
	struct boot_request req;

	bz_make();
	bz[0x201] = 0x10;
	req = bz_req();
	load_fails(&req);
}

Test(bzimage, bad_kernel_alignment)
{
	struct boot_request req;

	bz_make();
	put32(bz, 0x230, 0x300000);
	req = bz_req();
	load_fails(&req);
	cr_assert_not_null(strstr(err, "kernel_alignment"), "%s", err);
	put32(bz, 0x230, 0);
	load_fails(&req);
}

Test(bzimage, zero_init_size)
{
	struct boot_request req;

	bz_make();
	put32(bz, 0x260, 0);
	req = bz_req();
	load_fails(&req);
}

Test(bzimage, ram_too_small_for_init_size)
{
	struct boot_request req;

	bz_make();
	ram_setup_size(16 * MIB); /* pref_address is 16 MiB */
	req = bz_req();
	cr_assert_eq(load_fails(&req), -ENOMEM);
	cr_assert_not_null(strstr(err, "too small"), "%s", err);
}

Test(bzimage, huge_pref_address)
{
	struct boot_request req;

	bz_make();
	put64(bz, 0x258, UINT64_MAX - 100);
	req = bz_req();
	load_fails(&req);
	bz[0x234] = 0; /* not relocatable: runs at pref_address */
	load_fails(&req);
	put64(bz, 0x258, 0x80000); /* below 1 MiB */
	load_fails(&req);
}

Test(bzimage, initrd_larger_than_ram)
{
	struct boot_request req;

	bz_make();
	req = bz_req();
	/* never read: refused before any copy */
	req.initrd = (struct boot_image){ bz, 300 * MIB, -1 };
	cr_assert_eq(load_fails(&req), -ENOMEM);
	cr_assert_not_null(strstr(err, "initrd (300 MiB)"), "%s", err);
}

Test(bzimage, ram_below_one_mib)
{
	struct boot_request req;

	bz_make();
	ram_setup_size(MIB);
	req = bz_req();
	cr_assert_eq(load_fails(&req), -ENOMEM);
}

Test(bzimage, header_bytes_fuzzed_never_crash)
{
	struct boot_request req;
	struct boot_entry out;

	/* Every header byte through 0x290 set to a few nasty values: loads
	 * or fails cleanly. ASan/UBSan watch the rest. */
	static const uint8_t vals[] = { 0x00, 0x01, 0x7f, 0x80, 0xff };
	for (size_t off = 0x1f1; off < 0x290; off++) {
		for (size_t v = 0; v < sizeof(vals); v++) {
			int ret;

			bz_make();
			bz[off] = vals[v];
			req = bz_req();
			err[0] = '\0';
			ret = boot_load(&mem, &req, &out, err, sizeof(err));
			if (ret)
				cr_assert_neq(err[0], '\0', "off 0x%zx", off);
		}
	}
}

/* ---- e820 --------------------------------------------------------------- */

TestSuite(e820, .init = ram_setup, .fini = ram_teardown);

Test(e820, tiny_memory_is_clipped)
{
	struct e820_map map;

	guest_memory_init_from(&mem, 0, ram, 512 * 1024);
	cr_assert_eq(e820_build(&mem, &map), 0);
	cr_assert_eq(map.nr, 1);
	cr_assert_eq(map.ranges[0].size, 512 * 1024);

	guest_memory_init_from(&mem, 0, ram, 0xa0000);
	cr_assert_eq(e820_build(&mem, &map), 0);
	cr_assert_eq(map.nr, 2);
	cr_assert_eq(map.ranges[1].addr, LAYOUT_EBDA_START);
	cr_assert_eq(map.ranges[1].size, 0xa0000 - LAYOUT_EBDA_START);
	cr_assert_eq(map.ranges[1].type, E820_TYPE_RESERVED);
}

Test(e820, two_regions)
{
	struct e820_map map;

	/* 3 GiB + 1 GiB at 4 GiB, never touched. */
	memset(&mem, 0, sizeof(mem));
	mem.regions[0] = (struct guest_region){
		.gpa = 0, .size = LAYOUT_MMIO_GAP_START, .host = ram };
	mem.regions[1] = (struct guest_region){
		.gpa = LAYOUT_HIGH_RAM_START, .size = 0x40000000, .host = ram };
	mem.nr_regions = 2;
	cr_assert_eq(e820_build(&mem, &map), 0);
	cr_assert_eq(map.nr, 4);
	cr_assert_eq(map.ranges[2].addr, MIB);
	cr_assert_eq(map.ranges[2].size, LAYOUT_MMIO_GAP_START - MIB);
	cr_assert_eq(map.ranges[3].addr, LAYOUT_HIGH_RAM_START);
	cr_assert_eq(map.ranges[3].size, 0x40000000);
	cr_assert_eq(map.ranges[3].type, E820_TYPE_RAM);
}

Test(e820, no_ram)
{
	struct e820_map map;

	memset(&mem, 0, sizeof(mem));
	cr_assert_eq(e820_build(&mem, &map), -EINVAL);
}

/* ---- ELF / PVH ---------------------------------------------------------- */

#define ELF_SIZE 0x2000
#define ELF_PHOFF 0x40
#define ELF_NOTE_OFF 0x200
#define ELF_SEG_OFF 0x1000
#define ELF_SEG_FILESZ 0x800
#define ELF_SEG_MEMSZ 0x3000
#define ELF_PADDR 0x1000000ULL
#define ELF_ENTRY (ELF_PADDR + 0x40)

static uint8_t elf[ELF_SIZE];

static Elf64_Phdr *elf_ph(unsigned int i)
{
	return (Elf64_Phdr *)(elf + ELF_PHOFF + i * sizeof(Elf64_Phdr));
}

static Elf64_Ehdr *elf_eh(void)
{
	return (Elf64_Ehdr *)elf;
}

/* One "Xen" note of @type with a @descsz-byte entry address, at
 * ELF_NOTE_OFF; returns the notes' size. */
static size_t elf_note(uint32_t type, uint32_t descsz, uint64_t entry)
{
	Elf64_Nhdr nh = { .n_namesz = 4, .n_descsz = descsz, .n_type = type };
	uint8_t *p = elf + ELF_NOTE_OFF;

	memcpy(p, &nh, sizeof(nh));
	memcpy(p + sizeof(nh), "Xen", 4);
	memcpy(p + sizeof(nh) + 4, &entry, descsz > 8 ? 8 : descsz);
	return sizeof(nh) + 4 + ((descsz + 3) & ~3u);
}

static void elf_make(uint32_t descsz)
{
	Elf64_Ehdr *eh = elf_eh();
	Elf64_Nhdr other = { .n_namesz = 4, .n_descsz = 6, .n_type = 3 };
	size_t note_sz;

	memset(elf, 0, sizeof(elf));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = 0xffffffff81000000ULL; /* virtual, ignored */
	eh->e_phoff = ELF_PHOFF;
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = 3;

	/* a GNU-style note first, so the walk has to step over it */
	note_sz = elf_note(18, descsz, ELF_ENTRY);
	memmove(elf + ELF_NOTE_OFF + 12 + 4 + 8, elf + ELF_NOTE_OFF, note_sz);
	memcpy(elf + ELF_NOTE_OFF, &other, sizeof(other));
	memcpy(elf + ELF_NOTE_OFF + 12, "GNU", 4);
	memcpy(elf + ELF_NOTE_OFF + 16, "abcdef", 6);
	note_sz += 12 + 4 + 8;

	*elf_ph(0) = (Elf64_Phdr){ .p_type = PT_LOAD,
				   .p_flags = PF_R | PF_X,
				   .p_offset = ELF_SEG_OFF,
				   .p_vaddr = 0xffffffff81000000ULL,
				   .p_paddr = ELF_PADDR,
				   .p_filesz = ELF_SEG_FILESZ,
				   .p_memsz = ELF_SEG_MEMSZ,
				   .p_align = 0x200000 };
	*elf_ph(1) = (Elf64_Phdr){ .p_type = PT_NOTE,
				   .p_offset = ELF_NOTE_OFF,
				   .p_filesz = note_sz,
				   .p_memsz = note_sz,
				   .p_align = 4 };
	/* an empty PT_LOAD (like a GNU_STACK) is skipped */
	*elf_ph(2) = (Elf64_Phdr){ .p_type = PT_LOAD };
	for (size_t i = 0; i < ELF_SEG_FILESZ; i++)
		elf[ELF_SEG_OFF + i] = (uint8_t)(i * 13 + 1);
}

static struct boot_request elf_req(void)
{
	struct boot_request req = {
		.kernel = { elf, sizeof(elf), -1 },
		.cmdline = "console=ttyS0",
	};
	return req;
}

TestSuite(pvh, .init = ram_setup, .fini = ram_teardown);

Test(pvh, loads_segments_start_info_and_memmap)
{
	static uint8_t initrd[5000];
	struct boot_request req;
	struct boot_entry out;
	const uint8_t *si = ram + LAYOUT_PVH_INFO;
	uint64_t modlist, memmap, gpa;

	elf_make(4);
	memset(ram + ELF_PADDR, 0xcc, ELF_SEG_MEMSZ); /* stale bss */
	memset(initrd, 0x77, sizeof(initrd));
	req = elf_req();
	req.initrd = (struct boot_image){ initrd, sizeof(initrd), -1 };
	req.rsdp_gpa = 0xe0000;
	cr_assert_eq(boot_load(&mem, &req, &out, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(out.protocol, BOOT_PVH);
	cr_assert_eq(out.entry, ELF_ENTRY);
	cr_assert_eq(out.boot_info, LAYOUT_PVH_INFO);

	cr_assert_eq(memcmp(ram + ELF_PADDR, elf + ELF_SEG_OFF, ELF_SEG_FILESZ),
		     0);
	for (size_t i = ELF_SEG_FILESZ; i < ELF_SEG_MEMSZ; i++)
		cr_assert_eq(ram[ELF_PADDR + i], 0, "bss byte 0x%zx", i);

	cr_assert_eq(get32(si, 0), 0x336ec578, "magic");
	cr_assert_eq(get32(si, 4), 1, "version");
	cr_assert_eq(get32(si, 8), 0, "flags");
	cr_assert_eq(get32(si, 12), 1, "nr_modules");
	cr_assert_eq(get64(si, 24), LAYOUT_CMDLINE, "cmdline_paddr");
	cr_assert_eq(get64(si, 32), 0xe0000, "rsdp_paddr");
	cr_assert_eq(get32(si, 52), 0, "reserved");
	cr_assert_str_eq((char *)ram + LAYOUT_CMDLINE, "console=ttyS0");

	modlist = get64(si, 16);
	cr_assert_geq(modlist, LAYOUT_PVH_INFO + 56);
	cr_assert_leq(modlist + 32, LAYOUT_PVH_INFO + LAYOUT_PVH_INFO_SIZE);
	gpa = get64(ram, modlist);
	cr_assert_eq(get64(ram, modlist + 8), sizeof(initrd));
	cr_assert_eq(get64(ram, modlist + 16), 0, "module cmdline");
	cr_assert_eq(gpa % 4096, 0);
	cr_assert_geq(gpa, ELF_PADDR + ELF_SEG_MEMSZ);
	cr_assert_leq(gpa + sizeof(initrd), RAM_SIZE);
	cr_assert_gt(gpa + sizeof(initrd) + 4096, RAM_SIZE);
	cr_assert_eq(memcmp(ram + gpa, initrd, sizeof(initrd)), 0);

	memmap = get64(si, 40);
	cr_assert_eq(get32(si, 48), 3, "memmap_entries");
	cr_assert_geq(memmap, LAYOUT_PVH_INFO + 56);
	cr_assert_leq(memmap + 3 * 24, LAYOUT_PVH_INFO + LAYOUT_PVH_INFO_SIZE);
	cr_assert(memmap >= modlist + 32 || memmap + 3 * 24 <= modlist);
	cr_assert_eq(get64(ram, memmap + 0), 0);
	cr_assert_eq(get64(ram, memmap + 8), LAYOUT_EBDA_START);
	cr_assert_eq(get32(ram, memmap + 16), 1);
	cr_assert_eq(get32(ram, memmap + 24 + 16), 2);
	cr_assert_eq(get64(ram, memmap + 48), MIB);
	cr_assert_eq(get64(ram, memmap + 56), RAM_SIZE - MIB);
	cr_assert_eq(get32(ram, memmap + 48 + 16), 1);
	cr_assert_eq(get32(ram, memmap + 48 + 20), 0, "reserved");
}

Test(pvh, eight_byte_entry_and_no_initrd)
{
	struct boot_request req;
	struct boot_entry out;

	elf_make(8);
	req = elf_req();
	cr_assert_eq(boot_load(&mem, &req, &out, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(out.entry, ELF_ENTRY);
	cr_assert_eq(get32(ram + LAYOUT_PVH_INFO, 12), 0, "nr_modules");
	cr_assert_eq(get64(ram + LAYOUT_PVH_INFO, 16), 0, "modlist_paddr");
}

Test(pvh, long_cmdline_up_to_area)
{
	static char line[LAYOUT_CMDLINE_MAX + 1];
	struct boot_request req;
	struct boot_entry out;

	elf_make(4);
	memset(line, 'x', sizeof(line) - 1);
	line[LAYOUT_CMDLINE_MAX - 1] = '\0';
	req = elf_req();
	req.cmdline = line;
	cr_assert_eq(boot_load(&mem, &req, &out, err, sizeof(err)), 0, "%s",
		     err);
	line[LAYOUT_CMDLINE_MAX - 1] = 'x';
	cr_assert_eq(load_fails(&req), -E2BIG);
}

Test(pvh, class32)
{
	struct boot_request req;

	elf_make(4);
	elf[EI_CLASS] = ELFCLASS32;
	req = elf_req();
	cr_assert_eq(load_fails(&req), -ENOEXEC);
	cr_assert_not_null(strstr(err, "64-bit"), "%s", err);
}

Test(pvh, big_endian)
{
	struct boot_request req;

	elf_make(4);
	elf[EI_DATA] = ELFDATA2MSB;
	req = elf_req();
	load_fails(&req);
}

Test(pvh, wrong_machine)
{
	struct boot_request req;

	elf_make(4);
	elf_eh()->e_machine = EM_AARCH64;
	req = elf_req();
	load_fails(&req);
	cr_assert_not_null(strstr(err, "machine"), "%s", err);
}

Test(pvh, not_exec)
{
	struct boot_request req;

	elf_make(4);
	elf_eh()->e_type = ET_DYN;
	req = elf_req();
	load_fails(&req);
}

Test(pvh, truncated_ehdr)
{
	struct boot_request req;

	elf_make(4);
	req = elf_req();
	req.kernel.size = 40;
	load_fails(&req);
	cr_assert_not_null(strstr(err, "truncated"), "%s", err);
	req.kernel.size = 4; /* just the magic */
	load_fails(&req);
}

Test(pvh, phoff_past_end)
{
	struct boot_request req;

	elf_make(4);
	elf_eh()->e_phoff = ELF_SIZE - 10;
	req = elf_req();
	load_fails(&req);
	elf_eh()->e_phoff = UINT64_MAX - 50; /* offset + size overflows */
	load_fails(&req);
}

Test(pvh, bad_phentsize_and_phnum)
{
	struct boot_request req;

	elf_make(4);
	req = elf_req();
	elf_eh()->e_phentsize = 0xffff;
	elf_eh()->e_phnum = 0xffff; /* 0xffff * 0xffff: past any file */
	load_fails(&req);
	elf_eh()->e_phentsize = sizeof(Elf64_Phdr);
	load_fails(&req);
	elf_eh()->e_phnum = 0;
	load_fails(&req);
}

Test(pvh, segment_past_file_end)
{
	struct boot_request req;

	elf_make(4);
	req = elf_req();
	elf_ph(0)->p_filesz = ELF_SIZE; /* offset 0x1000 + 0x2000 */
	elf_ph(0)->p_memsz = ELF_SIZE;
	load_fails(&req);
	cr_assert_not_null(strstr(err, "past the end"), "%s", err);
	elf_ph(0)->p_offset = UINT64_MAX - 0x10;
	load_fails(&req);
}

Test(pvh, filesz_above_memsz)
{
	struct boot_request req;

	elf_make(4);
	req = elf_req();
	elf_ph(0)->p_memsz = ELF_SEG_FILESZ - 1;
	load_fails(&req);
}

Test(pvh, segment_past_ram)
{
	struct boot_request req;

	elf_make(4);
	req = elf_req();
	elf_ph(0)->p_paddr = RAM_SIZE - 0x1000;
	cr_assert_eq(load_fails(&req), -ENOMEM);
	elf_ph(0)->p_paddr = UINT64_MAX - 0x1000; /* wraps */
	load_fails(&req);
	elf_ph(0)->p_paddr = LAYOUT_HIGH_RAM_START;
	load_fails(&req);
}

Test(pvh, segment_over_boot_area)
{
	struct boot_request req;

	elf_make(4);
	req = elf_req();
	elf_ph(0)->p_paddr = LAYOUT_ZERO_PAGE;
	load_fails(&req);
	cr_assert_not_null(strstr(err, "1 MiB"), "%s", err);
	cr_assert_eq(ram[LAYOUT_ZERO_PAGE], 0);
}

Test(pvh, no_pvh_note)
{
	struct boot_request req;

	elf_make(4);
	req = elf_req();
	elf_ph(1)->p_type = PT_NULL;
	load_fails(&req);
	cr_assert_not_null(strstr(err, "no PVH entry note"), "%s", err);

	elf_make(4);
	/* right type, wrong owner */
	memcpy(elf + ELF_NOTE_OFF + 24 + 12, "Xex", 4);
	load_fails(&req);
	cr_assert_not_null(strstr(err, "no PVH entry note"), "%s", err);
}

Test(pvh, huge_note_sizes)
{
	struct boot_request req;
	Elf64_Nhdr nh;

	req = elf_req();
	elf_make(4);
	memcpy(&nh, elf + ELF_NOTE_OFF, sizeof(nh));
	nh.n_namesz = 0xffffffff;
	memcpy(elf + ELF_NOTE_OFF, &nh, sizeof(nh));
	load_fails(&req);

	elf_make(4);
	nh.n_namesz = 4;
	nh.n_descsz = 0xfffffffd;
	memcpy(elf + ELF_NOTE_OFF, &nh, sizeof(nh));
	load_fails(&req);

	elf_make(4);
	elf_ph(1)->p_filesz = 0xffffffffffffULL; /* note segment past file */
	load_fails(&req);

	elf_make(4);
	elf_ph(1)->p_filesz = 13; /* cuts the first note's name */
	load_fails(&req);
}

Test(pvh, odd_descriptor_size)
{
	struct boot_request req;

	req = elf_req();
	elf_make(2);
	load_fails(&req);
	cr_assert_not_null(strstr(err, "2-byte"), "%s", err);
}

Test(pvh, entry_outside_segments)
{
	struct boot_request req;
	size_t first = 12 + 4 + 8; /* the GNU note */

	req = elf_req();
	elf_make(4);
	elf_note(18, 4, 0x12345678);
	/* elf_note wrote at the start; put it back after the GNU note */
	memmove(elf + ELF_NOTE_OFF + first, elf + ELF_NOTE_OFF, 20);
	elf_ph(1)->p_offset = ELF_NOTE_OFF + first;
	elf_ph(1)->p_filesz = 20;
	load_fails(&req);
	cr_assert_not_null(strstr(err, "outside"), "%s", err);
}

Test(pvh, no_loadable_segment)
{
	struct boot_request req;

	req = elf_req();
	elf_make(4);
	elf_ph(0)->p_type = PT_NULL;
	load_fails(&req);
}

Test(pvh, initrd_larger_than_ram)
{
	struct boot_request req;

	elf_make(4);
	req = elf_req();
	req.initrd = (struct boot_image){ elf, 300 * MIB, -1 };
	cr_assert_eq(load_fails(&req), -ENOMEM);
	cr_assert_not_null(strstr(err, "initrd (300 MiB)"), "%s", err);
}

Test(pvh, header_bytes_fuzzed_never_crash)
{
	struct boot_request req;
	struct boot_entry out;
	static const uint8_t vals[] = { 0x00, 0x01, 0x7f, 0x80, 0xff };

	/* ELF header, program headers and notes, byte by byte. */
	for (size_t off = 0; off < ELF_NOTE_OFF + 64; off++) {
		for (size_t v = 0; v < sizeof(vals); v++) {
			int ret;

			elf_make(4);
			elf[off] = vals[v];
			req = elf_req();
			err[0] = '\0';
			ret = boot_load(&mem, &req, &out, err, sizeof(err));
			if (ret)
				cr_assert_neq(err[0], '\0', "off 0x%zx", off);
		}
	}
}

/* ---- images read from a file ------------------------------------------- */

/* A file holding @len bytes of @data, as the builder opens a kernel: the
 * image says @size, which may be more than the file has now (a file that
 * another process truncated after it was opened). */
static struct boot_image file_image(const uint8_t *data, size_t len,
				    uint64_t size)
{
	char path[] = "/tmp/figment-boot-XXXXXX";
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	unlink(path);
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	return (struct boot_image){ .data = NULL, .size = size, .fd = fd };
}

Test(bzimage, loads_from_a_file_like_from_memory)
{
	struct boot_request req;
	struct boot_entry out;

	bz_make();
	req = bz_req();
	req.kernel = file_image(bz, sizeof(bz), sizeof(bz));
	cr_assert_eq(boot_load(&mem, &req, &out, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(memcmp(ram + LAYOUT_HIMEM_START, bz + BZ_SETUP_SIZE,
			    BZ_PM_SIZE), 0);
	cr_assert_eq(memcmp(ram + LAYOUT_ZERO_PAGE + 0x202, "HdrS", 4), 0);
	close(req.kernel.fd);
}

/* The file is shorter than when it was opened: mapped, that was SIGBUS;
 * read, it is a clean refusal that says what happened. */
Test(bzimage, file_truncated_while_loading_is_an_error)
{
	struct boot_request req;

	bz_make();
	req = bz_req();
	req.kernel = file_image(bz, BZ_SETUP_SIZE + 16, sizeof(bz));
	cr_assert_eq(load_fails(&req), -EIO);
	cr_assert(strstr(err, "kernel file changed while loading"), "%s", err);
	close(req.kernel.fd);
	/* the same for an initrd */
	req = bz_req();
	req.initrd = file_image(bz, 100, 8192);
	cr_assert_eq(load_fails(&req), -EIO);
	cr_assert(strstr(err, "initrd file changed while loading"), "%s", err);
	close(req.initrd.fd);
}

Test(pvh, loads_from_a_file_like_from_memory)
{
	struct boot_request req;
	struct boot_entry out;

	elf_make(4);
	req = elf_req();
	req.kernel = file_image(elf, sizeof(elf), sizeof(elf));
	cr_assert_eq(boot_load(&mem, &req, &out, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(out.entry, ELF_ENTRY);
	cr_assert_eq(memcmp(ram + ELF_PADDR, elf + ELF_SEG_OFF, ELF_SEG_FILESZ),
		     0);
	close(req.kernel.fd);
}

Test(pvh, file_truncated_while_loading_is_an_error)
{
	struct boot_request req;

	elf_make(4);
	req = elf_req();
	/* headers and notes are there, the segment's bytes are gone */
	req.kernel = file_image(elf, ELF_SEG_OFF + 1, sizeof(elf));
	cr_assert_eq(load_fails(&req), -EIO);
	cr_assert(strstr(err, "kernel file changed while loading"), "%s", err);
	close(req.kernel.fd);
}

Test(pvh, oversized_note_segment_is_refused)
{
	struct boot_request req;

	elf_make(4);
	elf_ph(1)->p_filesz = 65537;
	elf_ph(1)->p_offset = 0;
	req = elf_req();
	req.kernel.size = 70000; /* not read: refused from the header */
	cr_assert_eq(load_fails(&req), -ENOEXEC);
	cr_assert(strstr(err, "note segment 1"), "%s", err);
}
