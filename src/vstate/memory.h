/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Guest RAM: one or two anonymous host mappings (RAM that would overlap the
 * 32-bit MMIO gap continues at 4 GiB). Every access to guest memory from the
 * VMM goes through guest_memory_ptr() or the read/write helpers, which refuse
 * any range that is not wholly inside one region (overflow-checked).
 */
#ifndef FIGMENT_VSTATE_MEMORY_H
#define FIGMENT_VSTATE_MEMORY_H

#include <stddef.h>
#include <stdint.h>

#define GUEST_MEMORY_MAX_REGIONS 2

struct guest_region {
	uint64_t gpa;  /* guest physical start */
	uint64_t size; /* bytes */
	uint8_t *host; /* host mapping of [gpa, gpa + size) */
};

struct guest_memory {
	struct guest_region regions[GUEST_MEMORY_MAX_REGIONS];
	int nr_regions;
	uint64_t total; /* bytes of RAM over all regions */
};

/*
 * Maps @size bytes of guest RAM, split around the MMIO gap.
 * Needs: size a non-zero multiple of 4 KiB. Returns 0 or a negative errno.
 */
int guest_memory_create(struct guest_memory *mem, uint64_t size);

/* Fills in where @size bytes of guest RAM go (the regions, no host
 * mappings: host pointers are NULL and must not be used). -EINVAL for a
 * size that is 0 or not a multiple of 4 KiB. */
int guest_memory_plan(struct guest_memory *mem, uint64_t size);

/* Wraps caller-owned buffers as guest RAM (tests, fuzzers). Not unmapped by
 * guest_memory_destroy(). */
void guest_memory_init_from(struct guest_memory *mem, uint64_t gpa, void *host,
			    uint64_t size);

void guest_memory_destroy(struct guest_memory *mem);

/* Host pointer for [gpa, gpa + len) or NULL when the range is not wholly
 * inside one region. len 0 is treated as 1 byte for the check. */
void *guest_memory_ptr(const struct guest_memory *mem, uint64_t gpa,
		       uint64_t len);

/* Copy to/from guest memory; 0 or -EFAULT. */
int guest_memory_read(const struct guest_memory *mem, uint64_t gpa, void *dst,
		      uint64_t len);
int guest_memory_write(const struct guest_memory *mem, uint64_t gpa,
		       const void *src, uint64_t len);

/* End of the RAM region that starts at 0 (the low region). */
uint64_t guest_memory_low_end(const struct guest_memory *mem);

#endif
