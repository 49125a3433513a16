// SPDX-License-Identifier: Apache-2.0
/* Kernel-kind detection and the parts both loaders share: command line,
 * initrd placement, error messages. */
#include "arch/x86/boot.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "arch/x86/boot_priv.h"
#include "arch/x86/layout.h"
#include "util/checked.h"

/* "N <unit>" when exact, else "N.N <unit>" (rounded down), else the byte
 * count when that would read "N.0": an initrd of 44 MiB + 1 byte must not
 * look like it fits in "44 MiB free". */
static void boot_size_unit(struct boot_size_str *r, uint64_t bytes,
			   uint64_t unit, const char *name)
{
	unsigned int tenths = (unsigned int)((bytes % unit) * 10 / unit);

	if (bytes % unit == 0)
		snprintf(r->s, sizeof(r->s), "%llu %s",
			 (unsigned long long)(bytes / unit), name);
	else if (tenths != 0)
		snprintf(r->s, sizeof(r->s), "%llu.%u %s",
			 (unsigned long long)(bytes / unit), tenths, name);
	else
		snprintf(r->s, sizeof(r->s), "%llu bytes",
			 (unsigned long long)bytes);
}

struct boot_size_str boot_size(uint64_t bytes)
{
	struct boot_size_str r;

	if (bytes < BOOT_KIB)
		snprintf(r.s, sizeof(r.s), "%llu bytes",
			 (unsigned long long)bytes);
	else if (bytes < BOOT_MIB)
		boot_size_unit(&r, bytes, BOOT_KIB, "KiB");
	else
		boot_size_unit(&r, bytes, BOOT_MIB, "MiB");
	return r;
}

void boot_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int boot_plan_cmdline(const char *cmdline, uint64_t max_len,
		      struct boot_plan *plan, char *err, size_t errlen)
{
	size_t len;

	if (max_len > LAYOUT_CMDLINE_MAX - 1)
		max_len = LAYOUT_CMDLINE_MAX - 1;
	/* Bounded scan: an over-long line is refused without walking all of
	 * it. */
	len = strnlen(cmdline, max_len + 1);
	if (len > max_len) {
		len += strlen(cmdline + len);
		boot_err(err, errlen,
			 "command line is %zu bytes; this kernel accepts at most %llu",
			 len, (unsigned long long)max_len);
		return -E2BIG;
	}
	plan->cmdline_len = len;
	return 0;
}

int boot_plan_initrd(const struct boot_image *initrd, uint64_t floor,
		     uint64_t ceiling, struct boot_plan *plan, char *err,
		     size_t errlen)
{
	uint64_t lo = align_up_u64(floor, BOOT_PAGE_SIZE);
	uint64_t gpa;

	plan->initrd_gpa = 0;
	if (initrd->size == 0)
		return 0;
	if (floor > UINT64_MAX - BOOT_PAGE_SIZE || ceiling < lo ||
	    initrd->size > ceiling - lo) {
		boot_err(err, errlen,
			 "initrd (%s) does not fit in guest RAM between the kernel's end 0x%llx and 0x%llx (%s free)",
			 boot_size(initrd->size).s, (unsigned long long)lo,
			 (unsigned long long)ceiling,
			 boot_size(ceiling > lo ? ceiling - lo : 0).s);
		return -ENOMEM;
	}
	gpa = align_down_u64(ceiling - initrd->size, BOOT_PAGE_SIZE);
	/* ceiling - size >= lo and lo is page-aligned, so rounding down
	 * cannot take gpa below lo. */
	plan->initrd_gpa = gpa;
	return 0;
}

int boot_plan_common(const struct guest_memory *mem,
		     const struct boot_request *req, uint64_t cmdline_max,
		     uint64_t initrd_floor, uint64_t initrd_ceiling,
		     struct boot_plan *plan, struct e820_map *map, char *err,
		     size_t errlen)
{
	int ret = boot_plan_cmdline(req->cmdline ? req->cmdline : "",
				    cmdline_max, plan, err, errlen);

	if (ret)
		return ret;
	ret = boot_plan_initrd(&req->initrd, initrd_floor, initrd_ceiling, plan,
			       err, errlen);
	if (ret || req->check_only)
		return ret;
	ret = e820_build(mem, map);
	if (ret)
		boot_err(err, errlen, "guest memory has no RAM for a memory map");
	return ret;
}

int boot_write_common(const struct guest_memory *mem,
		      const struct boot_request *req,
		      const struct boot_plan *plan, char *err, size_t errlen)
{
	const char *cmdline = req->cmdline ? req->cmdline : "";

	/* The NUL goes too: the guest reads up to it. */
	if (guest_memory_write(mem, LAYOUT_CMDLINE, cmdline,
			       plan->cmdline_len + 1)) {
		boot_err(err, errlen,
			 "command line area at 0x%llx is not in guest RAM",
			 (unsigned long long)LAYOUT_CMDLINE);
		return -EFAULT;
	}
	if (req->initrd.size)
		return boot_copy_image(mem, plan->initrd_gpa, &req->initrd,
				       "initrd", 0, req->initrd.size, err,
				       errlen);
	return 0;
}

int boot_load(const struct guest_memory *mem, const struct boot_request *req,
	      struct boot_entry *out, char *err, size_t errlen)
{
	uint8_t magic[BOOT_DETECT_BYTES] = { 0 };
	struct boot_plan plan;
	uint64_t low_end;

	if (err && errlen)
		err[0] = '\0';
	if (!mem || !req || !out) {
		boot_err(err, errlen, "boot_load: missing argument");
		return -EINVAL;
	}
	if (req->kernel.size == 0) {
		boot_err(err, errlen, "kernel is empty");
		return -EINVAL;
	}
	if (!req->kernel.data && req->kernel.fd < 0) {
		boot_err(err, errlen, "kernel has a size but no file or data");
		return -EINVAL;
	}
	if (req->initrd.size && !req->initrd.data && req->initrd.fd < 0) {
		boot_err(err, errlen, "initrd has a size but no file or data");
		return -EINVAL;
	}

	memset(&plan, 0, sizeof(plan));
	/* Everything the loaders place must be reachable from 32-bit code
	 * (PVH) and by the kernel before it reads the memory map: the RAM
	 * region at 0, and never the MMIO gap. */
	low_end = guest_memory_low_end(mem);
	plan.ram_end = low_end < LAYOUT_MMIO_GAP_START ? low_end :
							 LAYOUT_MMIO_GAP_START;
	if (plan.ram_end <= LAYOUT_HIMEM_START) {
		boot_err(err, errlen,
			 "guest RAM below 4 GiB is %s; a kernel needs more than 1 MiB",
			 boot_size(low_end).s);
		return -ENOMEM;
	}

	/* The first bytes tell the kind; each loader reads its header again
	 * into its own copy, so nothing depends on this read staying true. */
	if (boot_image_read(&req->kernel, "kernel", 0, magic,
			    req->kernel.size < sizeof(magic) ? req->kernel.size :
							       sizeof(magic),
			    err, errlen))
		return -EIO;
	if (boot_bzimage_detect(magic, req->kernel.size))
		return boot_bzimage_load(mem, req, &plan, out, err, errlen);
	if (boot_elf_detect(magic, req->kernel.size))
		return boot_elf_load(mem, req, &plan, out, err, errlen);
	boot_err(err, errlen, "kernel is not a bzImage or ELF vmlinux");
	return -ENOEXEC;
}

int boot_image_read(const struct boot_image *img, const char *what,
		    uint64_t off, void *dst, uint64_t len, char *err,
		    size_t errlen)
{
	uint8_t *p = dst;

	if (range_outside(off, len, img->size)) {
		/* a loader bug: every caller checks against the header */
		boot_err(err, errlen, "%s: read of %llu bytes at 0x%llx is past its end",
			 what, (unsigned long long)len, (unsigned long long)off);
		return -EIO;
	}
	if (img->data) {
		memcpy(dst, img->data + off, len);
		return 0;
	}
	while (len) {
		ssize_t n = pread(img->fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			boot_err(err, errlen,
				 "%s file changed while loading: %s at offset 0x%llx",
				 what, n < 0 ? strerror(errno) : "it is shorter now",
				 (unsigned long long)off);
			return -EIO;
		}
		p += n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

int boot_copy_image(const struct guest_memory *mem, uint64_t gpa,
		    const struct boot_image *img, const char *what,
		    uint64_t off, uint64_t len, char *err, size_t errlen)
{
	uint8_t *dst = guest_memory_ptr(mem, gpa, len);

	if (!dst) {
		boot_err(err, errlen, "%s (%s at 0x%llx) is not in guest RAM",
			 what, boot_size(len).s, (unsigned long long)gpa);
		return -EFAULT;
	}
	return boot_image_read(img, what, off, dst, len, err, errlen);
}
