/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The guest's memory map as the firmware would report it (BIOS e820). Both
 * boot protocols hand it to the kernel: the zero page's e820 table for a
 * bzImage, the hvm_start_info memmap for PVH (same types, wider entries).
 */
#ifndef FIGMENT_ARCH_X86_E820_H
#define FIGMENT_ARCH_X86_E820_H

#include <stdint.h>

#include "vstate/memory.h"

/* ACPI address range types, shared by e820 and the PVH memmap. */
#define E820_TYPE_RAM 1
#define E820_TYPE_RESERVED 2

/* Each memory region splits into at most three ranges (below the EBDA, the
 * EBDA-to-1-MiB hole, above 1 MiB). */
#define E820_MAP_MAX (3 * GUEST_MEMORY_MAX_REGIONS)

struct e820_range {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

struct e820_map {
	unsigned int nr;
	struct e820_range ranges[E820_MAP_MAX];
};

/*
 * Builds the memory map of @mem: RAM below LAYOUT_EBDA_START, reserved from
 * there to 1 MiB (EBDA, MP table, ACPI tables), RAM above; only what the
 * regions actually cover, sorted by address. The MMIO gap is simply absent.
 * Returns 0, or -EINVAL when @mem has no RAM at all.
 */
int e820_build(const struct guest_memory *mem, struct e820_map *map);

#endif
