/* SPDX-License-Identifier: Apache-2.0 */
/*
 * x86 kernel loaders: a bzImage entered through the 64-bit Linux boot
 * protocol, or an ELF vmlinux entered through its PVH note. They place the
 * kernel, the initrd, the command line, the boot information (zero page or
 * hvm_start_info) and the memory map in guest RAM at the addresses of
 * arch/x86/layout.h. Registers and page tables are the vCPU code's job.
 */
#ifndef FIGMENT_ARCH_X86_BOOT_H
#define FIGMENT_ARCH_X86_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vstate/memory.h"

enum boot_protocol {
	BOOT_LINUX64, /* long mode, identity paging, RSI = zero page */
	BOOT_PVH,     /* 32-bit protected mode, no paging, EBX = start_info */
};

/*
 * An input image (kernel, initrd): an open file (@data NULL, @fd, @size from
 * fstat) or bytes in memory (@data: tests and fuzzers). The loaders read it
 * only through boot_image_read() and boot_copy_image(): every header is
 * copied once into host memory and only that copy is checked and used, and
 * payloads go straight from the file into guest RAM. A file that another
 * process rewrites or truncates while it loads can therefore give the guest
 * wrong bytes or the loader a short read (a clean error), never a fault.
 */
struct boot_image {
	const uint8_t *data;
	uint64_t size;
	int fd;
};

struct boot_request {
	struct boot_image kernel;
	struct boot_image initrd; /* size 0: none */
	const char *cmdline;      /* NUL-terminated; NULL means "" */
	uint64_t rsdp_gpa;        /* 0: none */
	/* Validate and place everything, write nothing: @mem may then be a
	 * layout without host mappings (guest_memory_plan()), so bad input
	 * is refused before any VM exists. */
	bool check_only;
};

struct boot_entry {
	enum boot_protocol protocol;
	uint64_t entry;     /* guest physical entry point */
	uint64_t boot_info; /* zero page (RSI) or hvm_start_info (EBX) */
};

/*
 * Loads @req into the fresh guest RAM @mem. The kernel kind is detected from
 * its bytes: a bzImage ("HdrS", boot protocol 2.12+ with a 64-bit entry) is
 * copied to LAYOUT_HIMEM_START and gets a zero page at LAYOUT_ZERO_PAGE; an
 * ELF64 x86-64 vmlinux with a Xen PHYS32_ENTRY note has its PT_LOAD segments
 * placed at their physical addresses and gets an hvm_start_info at
 * LAYOUT_PVH_INFO. Anything else is refused. The command line goes to
 * LAYOUT_CMDLINE; the initrd goes page-aligned as high as it can in low RAM
 * (below the MMIO gap and the kernel's initrd_addr_max) but above the area
 * the kernel needs while it starts.
 * All inputs are untrusted: nothing is written to guest memory until every
 * header has been validated and every placement computed.
 * Returns 0 with @out filled in, or a negative errno with a one-line reason
 * in @err (@errlen bytes, may be 0).
 */
int boot_load(const struct guest_memory *mem, const struct boot_request *req,
	      struct boot_entry *out, char *err, size_t errlen);

#endif
