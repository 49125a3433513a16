/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared between the x86 loaders (boot.c, boot_bzimage.c, boot_elf.c); not
 * for other layers.
 */
#ifndef FIGMENT_ARCH_X86_BOOT_PRIV_H
#define FIGMENT_ARCH_X86_BOOT_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/x86/boot.h"
#include "arch/x86/e820.h"
#include "vstate/memory.h"

#define BOOT_KIB 0x400ULL
#define BOOT_MIB 0x100000ULL
#define BOOT_PAGE_SIZE 0x1000ULL

/* What both loaders work out before writing anything. */
struct boot_plan {
	uint64_t ram_end;    /* end of usable low RAM (below the MMIO gap) */
	size_t cmdline_len;  /* without the NUL */
	uint64_t initrd_gpa; /* 0: no initrd */
};

/* A human-readable size ("300 MiB", "4.5 MiB", "12 KiB", "100 bytes"),
 * valid until the end of the full expression that calls boot_size(). */
struct boot_size_str {
	char s[48];
};
struct boot_size_str boot_size(uint64_t bytes);

void boot_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Checks that @cmdline has at most @max_len bytes before its NUL (and fits
 * the LAYOUT_CMDLINE area); sets plan->cmdline_len. 0 or -E2BIG. */
int boot_plan_cmdline(const char *cmdline, uint64_t max_len,
		      struct boot_plan *plan, char *err, size_t errlen);

/* Picks the initrd's address: page-aligned, as high as possible with its end
 * at or below @ceiling, and its start at or above @floor (the end of what
 * the kernel occupies). Sets plan->initrd_gpa (0 when there is no initrd).
 * 0 or -ENOMEM. */
int boot_plan_initrd(const struct boot_image *initrd, uint64_t floor,
		     uint64_t ceiling, struct boot_plan *plan, char *err,
		     size_t errlen);

/*
 * Copies @len bytes at offset @off of @img into @dst. The range must lie
 * inside img->size (the caller checked that against the header it parsed);
 * a file that came up short since is -EIO with the reason in @err, naming
 * the image as @what ("kernel", "initrd").
 */
int boot_image_read(const struct boot_image *img, const char *what,
		    uint64_t off, void *dst, uint64_t len, char *err,
		    size_t errlen);

/*
 * Copies @len bytes at offset @off of @img into guest memory at @gpa. The
 * file's bytes go straight into guest RAM (no host copy, no mapping of the
 * file). 0, -EFAULT when [@gpa, @gpa + @len) is not guest RAM, or -EIO when
 * the file came up short; the reason is in @err either way.
 */
int boot_copy_image(const struct guest_memory *mem, uint64_t gpa,
		    const struct boot_image *img, const char *what,
		    uint64_t off, uint64_t len, char *err, size_t errlen);

/*
 * The steps both protocols share once the kernel is parsed: checks the
 * command line against @cmdline_max, places the initrd in [@initrd_floor,
 * @initrd_ceiling), and, unless req->check_only, builds the memory map of
 * @mem into @map. 0 or a negative errno with the reason in @err.
 */
int boot_plan_common(const struct guest_memory *mem,
		     const struct boot_request *req, uint64_t cmdline_max,
		     uint64_t initrd_floor, uint64_t initrd_ceiling,
		     struct boot_plan *plan, struct e820_map *map, char *err,
		     size_t errlen);

/* Copies the command line and the initrd as planned. 0 or -EFAULT. */
int boot_write_common(const struct guest_memory *mem,
		      const struct boot_request *req,
		      const struct boot_plan *plan, char *err, size_t errlen);

/* How many of a kernel's first bytes the detectors look at. */
#define BOOT_DETECT_BYTES 0x210

/* True when @head (the first BOOT_DETECT_BYTES of a @size-byte kernel, zero
 * past its end) looks like that kind of kernel. */
bool boot_bzimage_detect(const uint8_t *head, uint64_t size);
bool boot_elf_detect(const uint8_t *head, uint64_t size);

/* The loaders proper. @plan arrives with ram_end set. */
int boot_bzimage_load(const struct guest_memory *mem,
		      const struct boot_request *req, struct boot_plan *plan,
		      struct boot_entry *out, char *err, size_t errlen);
int boot_elf_load(const struct guest_memory *mem,
		  const struct boot_request *req, struct boot_plan *plan,
		  struct boot_entry *out, char *err, size_t errlen);

#endif
