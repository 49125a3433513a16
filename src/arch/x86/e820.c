// SPDX-License-Identifier: Apache-2.0
#include "arch/x86/e820.h"

#include <errno.h>
#include <string.h>

#include "arch/x86/layout.h"

/* Appends the part of [start, end) that lies inside [lo, hi), if any. */
static void e820_add_clipped(struct e820_map *map, uint64_t start,
			     uint64_t end, uint64_t lo, uint64_t hi,
			     uint32_t type)
{
	struct e820_range *r;

	if (start < lo)
		start = lo;
	if (end > hi)
		end = hi;
	if (start >= end)
		return;
	/* E820_MAP_MAX covers three pieces per region; cannot overflow. */
	r = &map->ranges[map->nr++];
	r->addr = start;
	r->size = end - start;
	r->type = type;
}

int e820_build(const struct guest_memory *mem, struct e820_map *map)
{
	memset(map, 0, sizeof(*map));
	for (int i = 0; i < mem->nr_regions && i < GUEST_MEMORY_MAX_REGIONS;
	     i++) {
		const struct guest_region *reg = &mem->regions[i];
		uint64_t start = reg->gpa;
		uint64_t end = reg->gpa + reg->size;

		if (reg->size == 0)
			continue;
		if (end < start) /* a region at the top of the space */
			end = UINT64_MAX;
		/* Whatever RAM backs [EBDA, 1 MiB) holds the MP table and the
		 * ACPI tables: the guest must not reuse it. */
		e820_add_clipped(map, start, end, 0, LAYOUT_EBDA_START,
				 E820_TYPE_RAM);
		e820_add_clipped(map, start, end, LAYOUT_EBDA_START,
				 LAYOUT_HIMEM_START, E820_TYPE_RESERVED);
		e820_add_clipped(map, start, end, LAYOUT_HIMEM_START,
				 UINT64_MAX, E820_TYPE_RAM);
	}
	if (map->nr == 0)
		return -EINVAL;
	/* Regions normally come sorted; a short insertion sort keeps the map
	 * ordered whatever the caller built. */
	for (unsigned int i = 1; i < map->nr; i++) {
		struct e820_range cur = map->ranges[i];
		unsigned int j = i;

		while (j > 0 && map->ranges[j - 1].addr > cur.addr) {
			map->ranges[j] = map->ranges[j - 1];
			j--;
		}
		map->ranges[j] = cur;
	}
	return 0;
}
