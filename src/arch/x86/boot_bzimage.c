// SPDX-License-Identifier: Apache-2.0
/*
 * bzImage loader, 64-bit Linux boot protocol (Documentation/x86/boot.rst):
 * the protected-mode part of the image goes to LAYOUT_HIMEM_START, the
 * setup header is copied into a zero page at LAYOUT_ZERO_PAGE, and the vCPU
 * enters at load address + 0x200 in long mode with RSI = the zero page.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "arch/x86/boot_priv.h"
#include "arch/x86/e820.h"
#include "arch/x86/layout.h"
#include "util/checked.h"

/* Image offsets; the setup header starts at 0x1f1 in both the image and the
 * zero page. */
#define BZ_HDR_START 0x1f1
#define BZ_JUMP_LEN 0x201 /* 0x202 + this byte = end of the setup header */
#define BZ_MAGIC_OFF 0x202
#define BZ_HDR_MAGIC 0x53726448 /* "HdrS" */
#define BZ_BOOT_FLAG 0xaa55
#define BZ_SECTOR 512
#define BZ_DEFAULT_SETUP_SECTS 4 /* what setup_sects 0 means */
#define BZ_ENTRY64_OFFSET 0x200
#define BZ_MIN_VERSION 0x020c /* 2.12: xloadflags, XLF_KERNEL_64 */
#define BZ_HDR_MIN_END 0x264 /* through init_size, all 2.12 has */
#define BZ_ZP_HDR_END 0x290 /* where the zero page's room for it ends */
#define BZ_INITRD_ADDR_MAX_DEFAULT 0x37ffffffULL

/* loadflags / xloadflags bits */
#define BZ_LOADED_HIGH 0x01
#define BZ_CAN_USE_HEAP 0x80
#define BZ_XLF_KERNEL_64 0x0001

#define BZ_LOADER_UNDEFINED 0xff /* type_of_loader: no registered ID */
/* Conventional end of the real-mode heap (0x10000 - 0x200): the 64-bit
 * entry skips the real-mode code that would use it, but a loader that says
 * CAN_USE_HEAP gives a sane value. */
#define BZ_HEAP_END_PTR 0xfe00
#define BZ_E820_MAX 128

struct linux_setup_header {
	uint8_t setup_sects;
	uint16_t root_flags;
	uint32_t syssize;
	uint16_t ram_size;
	uint16_t vid_mode;
	uint16_t root_dev;
	uint16_t boot_flag;
	uint16_t jump;
	uint32_t header;
	uint16_t version;
	uint32_t realmode_swtch;
	uint16_t start_sys_seg;
	uint16_t kernel_version;
	uint8_t type_of_loader;
	uint8_t loadflags;
	uint16_t setup_move_size;
	uint32_t code32_start;
	uint32_t ramdisk_image;
	uint32_t ramdisk_size;
	uint32_t bootsect_kludge;
	uint16_t heap_end_ptr;
	uint8_t ext_loader_ver;
	uint8_t ext_loader_type;
	uint32_t cmd_line_ptr;
	uint32_t initrd_addr_max;
	uint32_t kernel_alignment;
	uint8_t relocatable_kernel;
	uint8_t min_alignment;
	uint16_t xloadflags;
	uint32_t cmdline_size;
	uint32_t hardware_subarch;
	uint64_t hardware_subarch_data;
	uint32_t payload_offset;
	uint32_t payload_length;
	uint64_t setup_data;
	uint64_t pref_address;
	uint32_t init_size;
	uint32_t handover_offset;
	uint32_t kernel_info_offset;
} __attribute__((packed));

#define HDR_AT(field, off)                                                    \
	_Static_assert(offsetof(struct linux_setup_header, field) ==           \
			       (off) - BZ_HDR_START,                          \
		       "setup header: " #field)
HDR_AT(boot_flag, 0x1fe);
HDR_AT(header, 0x202);
HDR_AT(version, 0x206);
HDR_AT(type_of_loader, 0x210);
HDR_AT(code32_start, 0x214);
HDR_AT(ramdisk_image, 0x218);
HDR_AT(heap_end_ptr, 0x224);
HDR_AT(cmd_line_ptr, 0x228);
HDR_AT(initrd_addr_max, 0x22c);
HDR_AT(kernel_alignment, 0x230);
HDR_AT(xloadflags, 0x236);
HDR_AT(cmdline_size, 0x238);
HDR_AT(setup_data, 0x250);
HDR_AT(pref_address, 0x258);
HDR_AT(init_size, 0x260);
HDR_AT(kernel_info_offset, 0x268);

struct linux_e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
} __attribute__((packed));
_Static_assert(sizeof(struct linux_e820_entry) == 20, "e820 entry");

/* The zero page: only the fields figment writes are named. */
struct linux_boot_params {
	uint8_t pad0[0x070];
	uint64_t acpi_rsdp_addr; /* 0x070 */
	uint8_t pad1[0x0c0 - 0x078];
	uint32_t ext_ramdisk_image; /* 0x0c0 */
	uint32_t ext_ramdisk_size;  /* 0x0c4 */
	uint32_t ext_cmd_line_ptr;  /* 0x0c8 */
	uint8_t pad2[0x1e8 - 0x0cc];
	uint8_t e820_entries; /* 0x1e8 */
	uint8_t pad3[BZ_HDR_START - 0x1e9];
	union { /* 0x1f1: the image's header, as long as it says it is */
		struct linux_setup_header hdr;
		uint8_t hdr_bytes[BZ_ZP_HDR_END - BZ_HDR_START];
	};
	uint8_t pad4[0x2d0 - BZ_ZP_HDR_END];
	struct linux_e820_entry e820_table[BZ_E820_MAX]; /* 0x2d0 */
	uint8_t pad5[0x1000 - 0xcd0];
} __attribute__((packed));

#define ZP_AT(field, off)                                                     \
	_Static_assert(offsetof(struct linux_boot_params, field) == (off),     \
		       "zero page: " #field)
ZP_AT(acpi_rsdp_addr, 0x070);
ZP_AT(ext_ramdisk_image, 0x0c0);
ZP_AT(ext_cmd_line_ptr, 0x0c8);
ZP_AT(e820_entries, 0x1e8);
ZP_AT(hdr, BZ_HDR_START);
ZP_AT(e820_table, 0x2d0);
_Static_assert(sizeof(struct linux_boot_params) == 0x1000, "zero page size");
/* The boot stack grows down from LAYOUT_BOOT_STACK towards the zero page. */
_Static_assert(LAYOUT_ZERO_PAGE + 0x1000 < LAYOUT_BOOT_STACK,
	       "zero page overlaps the boot stack");

/* What the header says, once validated. */
struct bz_info {
	size_t hdr_len;  /* bytes of setup header, from 0x1f1 */
	uint64_t pm_off; /* protected-mode code: file offset ... */
	uint64_t pm_size; /* ... and size */
	uint64_t load;   /* where it goes */
	uint64_t end;    /* end of everything the kernel uses while starting */
	/* the header bytes as read, once: checked, then given to the guest */
	uint8_t hdr_bytes[BZ_ZP_HDR_END - BZ_HDR_START];
	struct linux_setup_header hdr;
};
_Static_assert(BZ_MAGIC_OFF + 4 <= BOOT_DETECT_BYTES, "detector reads the magic");

bool boot_bzimage_detect(const uint8_t *head, uint64_t size)
{
	uint32_t magic;

	if (size < BZ_MAGIC_OFF + sizeof(magic))
		return false;
	memcpy(&magic, head + BZ_MAGIC_OFF, sizeof(magic));
	return magic == BZ_HDR_MAGIC;
}

static int bz_parse(const struct boot_image *k, uint64_t ram_end,
		    struct bz_info *bz, char *err, size_t errlen)
{
	struct linux_setup_header *h = &bz->hdr;
	uint64_t setup_size, runtime, init_end, pm_end, sys_bytes;
	size_t hdr_end, avail;
	unsigned int sects;

	memset(bz, 0, sizeof(*bz));
	/* One read of everything the header can span (or the whole file when
	 * shorter); the jump byte at 0x201 then says where it ends. The
	 * detector saw "HdrS" at 0x202, so the file reaches past 0x205. */
	avail = k->size < BZ_ZP_HDR_END ? (size_t)k->size : BZ_ZP_HDR_END;
	if (boot_image_read(k, "kernel", BZ_HDR_START, bz->hdr_bytes,
			    avail - BZ_HDR_START, err, errlen))
		return -EIO;
	hdr_end = BZ_MAGIC_OFF + bz->hdr_bytes[BZ_JUMP_LEN - BZ_HDR_START];
	if (hdr_end > k->size) {
		boot_err(err, errlen,
			 "kernel is truncated: its setup header ends at 0x%zx but the file has %llu bytes",
			 hdr_end, (unsigned long long)k->size);
		return -ENOEXEC;
	}
	bz->hdr_len = hdr_end - BZ_HDR_START;
	if (hdr_end <= BZ_ZP_HDR_END)
		memset(bz->hdr_bytes + bz->hdr_len, 0,
		       sizeof(bz->hdr_bytes) - bz->hdr_len);
	memcpy(h, bz->hdr_bytes,
	       bz->hdr_len < sizeof(*h) ? bz->hdr_len : sizeof(*h));

	if (h->version < BZ_MIN_VERSION) {
		boot_err(err, errlen,
			 "bzImage boot protocol %u.%02u is too old (need 2.12+ for 64-bit entry)",
			 h->version >> 8, h->version & 0xff);
		return -ENOEXEC;
	}
	if (hdr_end < BZ_HDR_MIN_END) {
		boot_err(err, errlen,
			 "bzImage setup header ends at 0x%zx, before the fields of protocol %u.%02u",
			 hdr_end, h->version >> 8, h->version & 0xff);
		return -ENOEXEC;
	}
	if (hdr_end > BZ_ZP_HDR_END) {
		boot_err(err, errlen,
			 "bzImage setup header ends at 0x%zx, past the zero page's 0x%x",
			 hdr_end, BZ_ZP_HDR_END);
		return -ENOEXEC;
	}
	if (h->boot_flag != BZ_BOOT_FLAG) {
		boot_err(err, errlen,
			 "bzImage boot_flag is 0x%04x, expected 0xaa55",
			 h->boot_flag);
		return -ENOEXEC;
	}
	if (!(h->loadflags & BZ_LOADED_HIGH)) {
		boot_err(err, errlen,
			 "kernel is a zImage (loads low); only bzImage is supported");
		return -ENOEXEC;
	}
	if (!(h->xloadflags & BZ_XLF_KERNEL_64)) {
		boot_err(err, errlen,
			 "bzImage has no 64-bit entry point (xloadflags XLF_KERNEL_64 clear)");
		return -ENOEXEC;
	}

	sects = h->setup_sects ? h->setup_sects : BZ_DEFAULT_SETUP_SECTS;
	setup_size = (uint64_t)(sects + 1) * BZ_SECTOR;
	if (setup_size >= k->size) {
		boot_err(err, errlen,
			 "kernel is truncated: %u setup sectors need more than %llu bytes but the file has %llu",
			 sects, (unsigned long long)setup_size,
			 (unsigned long long)k->size);
		return -ENOEXEC;
	}
	bz->pm_off = setup_size;
	bz->pm_size = k->size - setup_size;
	/* syssize counts 16-byte paragraphs; a signed kernel may carry more
	 * bytes after the code, never fewer. */
	sys_bytes = (uint64_t)h->syssize * 16;
	if (sys_bytes > bz->pm_size) {
		boot_err(err, errlen,
			 "kernel is truncated: the header announces %llu bytes of protected-mode code, the file has %llu",
			 (unsigned long long)sys_bytes,
			 (unsigned long long)bz->pm_size);
		return -ENOEXEC;
	}
	if (h->init_size == 0) {
		boot_err(err, errlen, "bzImage init_size is 0");
		return -ENOEXEC;
	}

	/* Where the kernel decompresses and runs: for a relocatable kernel
	 * the load address aligned to kernel_alignment, but x86-64 never
	 * runs below its pref_address (LOAD_PHYSICAL_ADDR); a fixed kernel
	 * moves itself to pref_address. Reserve [runtime, runtime +
	 * init_size) as well as the bytes we copy. */
	bz->load = LAYOUT_HIMEM_START;
	runtime = bz->load;
	if (h->relocatable_kernel) {
		uint32_t a = h->kernel_alignment;

		if (a == 0 || (a & (a - 1))) {
			boot_err(err, errlen,
				 "bzImage kernel_alignment 0x%x is not a power of two",
				 a);
			return -ENOEXEC;
		}
		runtime = align_up_u64(bz->load, a);
	}
	if ((!h->relocatable_kernel && h->pref_address) ||
	    h->pref_address > runtime)
		runtime = h->pref_address;
	if (checked_add_u64(runtime, h->init_size, &init_end) ||
	    checked_add_u64(bz->load, bz->pm_size, &pm_end)) {
		boot_err(err, errlen,
			 "bzImage pref_address 0x%llx + init_size 0x%x overflows",
			 (unsigned long long)h->pref_address, h->init_size);
		return -ENOEXEC;
	}
	bz->end = init_end > pm_end ? init_end : pm_end;
	if (runtime < bz->load) {
		boot_err(err, errlen,
			 "bzImage wants to run at 0x%llx, below 1 MiB where figment keeps its boot data",
			 (unsigned long long)runtime);
		return -ENOEXEC;
	}
	if (bz->end > ram_end) {
		boot_err(err, errlen,
			 "guest RAM is too small for this kernel: it needs %s of low RAM (up to 0x%llx), the guest has %s",
			 boot_size(bz->end).s, (unsigned long long)bz->end,
			 boot_size(ram_end).s);
		return -ENOMEM;
	}
	if (bz->end > LAYOUT_IDENT_MAP_END) {
		boot_err(err, errlen,
			 "bzImage needs memory up to 0x%llx, past the 0x%llx the boot page tables map",
			 (unsigned long long)bz->end,
			 (unsigned long long)LAYOUT_IDENT_MAP_END);
		return -ENOEXEC;
	}
	return 0;
}

static void bz_fill_e820(struct linux_boot_params *bp,
			 const struct e820_map *map)
{
	for (unsigned int i = 0; i < map->nr && i < BZ_E820_MAX; i++) {
		bp->e820_table[i].addr = map->ranges[i].addr;
		bp->e820_table[i].size = map->ranges[i].size;
		bp->e820_table[i].type = map->ranges[i].type;
	}
	bp->e820_entries = map->nr;
}

int boot_bzimage_load(const struct guest_memory *mem,
		      const struct boot_request *req, struct boot_plan *plan,
		      struct boot_entry *out, char *err, size_t errlen)
{
	const struct boot_image *k = &req->kernel;
	struct linux_boot_params bp;
	struct e820_map map;
	struct bz_info bz;
	uint64_t ceiling;
	int ret;

	ret = bz_parse(k, plan->ram_end, &bz, err, errlen);
	if (ret)
		return ret;
	/* initrd_addr_max is the highest byte the initrd may occupy;
	 * cmdline_size excludes the NUL (protocol 2.06+, always here). */
	ceiling = (uint64_t)bz.hdr.initrd_addr_max + 1;
	if (ceiling > plan->ram_end)
		ceiling = plan->ram_end;
	ret = boot_plan_common(mem, req, bz.hdr.cmdline_size, bz.end, ceiling,
			       plan, &map, err, errlen);
	if (ret || req->check_only)
		return ret;

	memset(&bp, 0, sizeof(bp));
	memcpy(bp.hdr_bytes, bz.hdr_bytes, bz.hdr_len);
	bp.hdr.type_of_loader = BZ_LOADER_UNDEFINED;
	bp.hdr.loadflags |= BZ_LOADED_HIGH | BZ_CAN_USE_HEAP;
	bp.hdr.heap_end_ptr = BZ_HEAP_END_PTR;
	bp.hdr.code32_start = (uint32_t)bz.load;
	bp.hdr.cmd_line_ptr = (uint32_t)LAYOUT_CMDLINE;
	bp.ext_cmd_line_ptr = (uint32_t)(LAYOUT_CMDLINE >> 32);
	bp.hdr.ramdisk_image = (uint32_t)plan->initrd_gpa;
	bp.ext_ramdisk_image = (uint32_t)(plan->initrd_gpa >> 32);
	bp.hdr.ramdisk_size = (uint32_t)req->initrd.size;
	bp.ext_ramdisk_size = (uint32_t)((uint64_t)req->initrd.size >> 32);
	/* Read by protocol 2.14+ kernels; older ones ignore the field and
	 * find the RSDP by scanning 0xe0000-0xfffff. */
	bp.acpi_rsdp_addr = req->rsdp_gpa;
	bz_fill_e820(&bp, &map);

	ret = boot_copy_image(mem, bz.load, k, "kernel", bz.pm_off, bz.pm_size,
			      err, errlen);
	if (ret)
		return ret;
	if (guest_memory_write(mem, LAYOUT_ZERO_PAGE, &bp, sizeof(bp))) {
		boot_err(err, errlen, "zero page at 0x%llx is not in guest RAM",
			 (unsigned long long)LAYOUT_ZERO_PAGE);
		return -EFAULT;
	}
	ret = boot_write_common(mem, req, plan, err, errlen);
	if (ret)
		return ret;

	out->protocol = BOOT_LINUX64;
	out->entry = bz.load + BZ_ENTRY64_OFFSET;
	out->boot_info = LAYOUT_ZERO_PAGE;
	return 0;
}
