// SPDX-License-Identifier: Apache-2.0
/*
 * Guest memory: the split around the 32-bit MMIO gap and the one checked
 * accessor every VMM access to guest RAM goes through. Real mappings are
 * used (MAP_NORESERVE: only the pages touched here cost anything), so even
 * the multi-GiB layouts are cheap.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "arch/x86/layout.h"
#include "vstate/memory.h"

#define MIB (1ULL << 20)
#define GIB (1ULL << 30)

static struct guest_memory mem;

static void teardown(void)
{
	guest_memory_destroy(&mem);
}

TestSuite(memory, .fini = teardown);

Test(memory, size_below_the_gap_is_one_region_at_zero)
{
	cr_assert_eq(guest_memory_create(&mem, 128 * MIB), 0);
	cr_expect_eq(mem.nr_regions, 1);
	cr_expect_eq(mem.regions[0].gpa, 0);
	cr_expect_eq(mem.regions[0].size, 128 * MIB);
	cr_expect_not_null(mem.regions[0].host);
	cr_expect_eq(mem.total, 128 * MIB);
	cr_expect_eq(guest_memory_low_end(&mem), 128 * MIB);
}

Test(memory, size_equal_to_the_gap_start_is_still_one_region)
{
	cr_assert_eq(guest_memory_create(&mem, LAYOUT_MMIO_GAP_START), 0);
	cr_expect_eq(mem.nr_regions, 1);
	cr_expect_eq(mem.regions[0].gpa, 0);
	cr_expect_eq(mem.regions[0].size, LAYOUT_MMIO_GAP_START);
	cr_expect_eq(mem.total, LAYOUT_MMIO_GAP_START);
	cr_expect_eq(guest_memory_low_end(&mem), LAYOUT_MMIO_GAP_START);
	cr_expect_null(guest_memory_ptr(&mem, LAYOUT_MMIO_GAP_START, 1));
}

Test(memory, size_above_the_gap_continues_at_4gib)
{
	uint64_t size = LAYOUT_MMIO_GAP_START + 4096;

	cr_assert_eq(guest_memory_create(&mem, size), 0);
	cr_expect_eq(mem.nr_regions, 2);
	cr_expect_eq(mem.regions[0].gpa, 0);
	cr_expect_eq(mem.regions[0].size, LAYOUT_MMIO_GAP_START);
	cr_expect_eq(mem.regions[1].gpa, LAYOUT_HIGH_RAM_START);
	cr_expect_eq(mem.regions[1].size, 4096);
	cr_expect_eq(mem.total, size);
	cr_expect_eq(guest_memory_low_end(&mem), LAYOUT_MMIO_GAP_START);
}

Test(memory, large_size_splits_with_the_rest_above_4gib)
{
	uint64_t size = 8 * GIB;

	cr_assert_eq(guest_memory_create(&mem, size), 0);
	cr_expect_eq(mem.nr_regions, 2);
	cr_expect_eq(mem.regions[0].size, LAYOUT_MMIO_GAP_START);
	cr_expect_eq(mem.regions[1].gpa, LAYOUT_HIGH_RAM_START);
	cr_expect_eq(mem.regions[1].size, size - LAYOUT_MMIO_GAP_START);
	cr_expect_eq(mem.regions[0].size + mem.regions[1].size, mem.total);
	/* the last byte of RAM is at 4 GiB + (size - gap start) - 1 */
	uint64_t last = LAYOUT_HIGH_RAM_START + mem.regions[1].size - 1;

	cr_expect_not_null(guest_memory_ptr(&mem, last, 1));
	cr_expect_null(guest_memory_ptr(&mem, last + 1, 1));
}

Test(memory, zero_size_is_rejected)
{
	cr_expect_eq(guest_memory_create(&mem, 0), -EINVAL);
	cr_expect_eq(mem.nr_regions, 0);
}

Test(memory, size_not_a_4kib_multiple_is_rejected)
{
	cr_expect_eq(guest_memory_create(&mem, 4095), -EINVAL);
	cr_expect_eq(guest_memory_create(&mem, 4097), -EINVAL);
	cr_expect_eq(guest_memory_create(&mem, 128 * MIB + 512), -EINVAL);
	cr_expect_eq(mem.nr_regions, 0);
}

Test(memory, ptr_maps_gpa_to_the_right_host_byte)
{
	cr_assert_eq(guest_memory_create(&mem, LAYOUT_MMIO_GAP_START + 2 * MIB), 0);
	cr_expect_eq(guest_memory_ptr(&mem, 0, 1), mem.regions[0].host);
	cr_expect_eq(guest_memory_ptr(&mem, 0x1234, 8),
		     mem.regions[0].host + 0x1234);
	cr_expect_eq(guest_memory_ptr(&mem, LAYOUT_HIGH_RAM_START + 0x10, 4),
		     mem.regions[1].host + 0x10);
	/* a whole region is one valid range */
	cr_expect_eq(guest_memory_ptr(&mem, 0, LAYOUT_MMIO_GAP_START),
		     mem.regions[0].host);
	cr_expect_eq(guest_memory_ptr(&mem, LAYOUT_HIGH_RAM_START, 2 * MIB),
		     mem.regions[1].host);
}

Test(memory, ptr_refuses_ranges_in_the_mmio_gap)
{
	cr_assert_eq(guest_memory_create(&mem, 4 * GIB), 0);
	cr_expect_null(guest_memory_ptr(&mem, LAYOUT_MMIO_GAP_START, 1));
	cr_expect_null(guest_memory_ptr(&mem, LAYOUT_BOOT_MARKER, 4));
	cr_expect_null(guest_memory_ptr(&mem, LAYOUT_MMIO_GAP_END - 1, 1));
}

Test(memory, ptr_refuses_ranges_straddling_two_regions)
{
	cr_assert_eq(guest_memory_create(&mem, 4 * GIB), 0);
	/* from the end of low RAM, across the gap, into high RAM */
	cr_expect_null(guest_memory_ptr(&mem, LAYOUT_MMIO_GAP_START - 4096,
					LAYOUT_HIGH_RAM_START -
						LAYOUT_MMIO_GAP_START + 8192));
	/* just past the end of the low region */
	cr_expect_null(guest_memory_ptr(&mem, LAYOUT_MMIO_GAP_START - 1, 2));
	/* starting in the gap, ending in high RAM */
	cr_expect_null(guest_memory_ptr(&mem, LAYOUT_HIGH_RAM_START - 1, 2));
}

Test(memory, ptr_refuses_ranges_crossing_the_end)
{
	cr_assert_eq(guest_memory_create(&mem, 16 * MIB), 0);
	cr_expect_not_null(guest_memory_ptr(&mem, 16 * MIB - 4, 4));
	cr_expect_null(guest_memory_ptr(&mem, 16 * MIB - 4, 5));
	cr_expect_null(guest_memory_ptr(&mem, 16 * MIB, 1));
	cr_expect_null(guest_memory_ptr(&mem, 0, 16 * MIB + 1));
}

Test(memory, ptr_refuses_ranges_whose_end_overflows)
{
	cr_assert_eq(guest_memory_create(&mem, 16 * MIB), 0);
	cr_expect_null(guest_memory_ptr(&mem, UINT64_MAX - 1, 4));
	cr_expect_null(guest_memory_ptr(&mem, UINT64_MAX, 1));
	cr_expect_null(guest_memory_ptr(&mem, 0x1000, UINT64_MAX));
	cr_expect_null(guest_memory_ptr(&mem, 1, UINT64_MAX));
}

Test(memory, ptr_refuses_overflow_in_a_region_not_at_zero)
{
	static uint8_t buf[8192];

	/* a region ending at the top of the address space */
	guest_memory_init_from(&mem, UINT64_MAX - sizeof(buf) + 1, buf,
			       sizeof(buf));
	cr_expect_eq(guest_memory_ptr(&mem, UINT64_MAX, 1),
		     buf + sizeof(buf) - 1);
	cr_expect_null(guest_memory_ptr(&mem, UINT64_MAX - 1, 4));
	cr_expect_null(guest_memory_ptr(&mem, 0, 1));
	cr_expect_eq(guest_memory_low_end(&mem), 0);
	memset(&mem, 0, sizeof(mem)); /* caller-owned: nothing to unmap */
}

Test(memory, zero_length_is_checked_as_one_byte)
{
	cr_assert_eq(guest_memory_create(&mem, 16 * MIB), 0);
	cr_expect_eq(guest_memory_ptr(&mem, 100, 0), mem.regions[0].host + 100);
	cr_expect_not_null(guest_memory_ptr(&mem, 16 * MIB - 1, 0));
	/* even an empty range must start inside RAM */
	cr_expect_null(guest_memory_ptr(&mem, 16 * MIB, 0));
	cr_expect_null(guest_memory_ptr(&mem, UINT64_MAX, 0));
}

Test(memory, write_then_read_round_trips_in_both_regions)
{
	const char msg[] = "figment";
	char back[sizeof(msg)] = { 0 };

	cr_assert_eq(guest_memory_create(&mem, LAYOUT_MMIO_GAP_START + MIB), 0);
	cr_expect_eq(guest_memory_write(&mem, 0x5000, msg, sizeof(msg)), 0);
	cr_expect_eq(guest_memory_read(&mem, 0x5000, back, sizeof(back)), 0);
	cr_expect_str_eq(back, msg);
	cr_expect_eq(memcmp(mem.regions[0].host + 0x5000, msg, sizeof(msg)), 0);

	memset(back, 0, sizeof(back));
	cr_expect_eq(guest_memory_write(&mem, LAYOUT_HIGH_RAM_START + MIB -
						      sizeof(msg),
					msg, sizeof(msg)),
		     0);
	cr_expect_eq(guest_memory_read(&mem, LAYOUT_HIGH_RAM_START + MIB -
						     sizeof(msg),
				       back, sizeof(back)),
		     0);
	cr_expect_str_eq(back, msg);
}

Test(memory, read_and_write_outside_ram_return_efault_and_touch_nothing)
{
	uint8_t src[16], dst[16];

	memset(src, 0xab, sizeof(src));
	memset(dst, 0x5a, sizeof(dst));
	cr_assert_eq(guest_memory_create(&mem, 16 * MIB), 0);
	cr_expect_eq(guest_memory_write(&mem, 16 * MIB - 8, src, sizeof(src)),
		     -EFAULT);
	/* the refused write left the in-range half alone */
	cr_expect_eq(mem.regions[0].host[16 * MIB - 8], 0);
	cr_expect_eq(guest_memory_read(&mem, 16 * MIB - 8, dst, sizeof(dst)),
		     -EFAULT);
	cr_expect_eq(dst[0], 0x5a);
	cr_expect_eq(guest_memory_read(&mem, UINT64_MAX - 1, dst, 4), -EFAULT);
	cr_expect_eq(guest_memory_write(&mem, UINT64_MAX - 1, src, 4), -EFAULT);
	cr_expect_eq(guest_memory_read(&mem, LAYOUT_MMIO_GAP_START, dst, 1),
		     -EFAULT);
}

Test(memory, low_end_is_zero_without_a_region_at_zero)
{
	static uint8_t buf[4096];

	guest_memory_init_from(&mem, 0x100000, buf, sizeof(buf));
	cr_expect_eq(guest_memory_low_end(&mem), 0);
	memset(&mem, 0, sizeof(mem));
	cr_expect_eq(guest_memory_low_end(&mem), 0); /* no regions */
}

Test(memory, destroy_forgets_every_region)
{
	cr_assert_eq(guest_memory_create(&mem, 4 * GIB), 0);
	guest_memory_destroy(&mem);
	cr_expect_eq(mem.nr_regions, 0);
	cr_expect_eq(mem.total, 0);
	cr_expect_null(guest_memory_ptr(&mem, 0, 1));
}
