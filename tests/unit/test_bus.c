// SPDX-License-Identifier: Apache-2.0
/* The I/O bus: range registration rules and access dispatch. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "bus/bus.h"

/* A fake device that records its last access. */
struct fake {
	int reads, writes;
	uint64_t offset;
	uint32_t len;
	uint8_t data[8];
};

static void fake_read(void *dev, uint64_t offset, uint8_t *data, uint32_t len)
{
	struct fake *f = dev;

	f->reads++;
	f->offset = offset;
	f->len = len;
	memset(data, 0x42, len);
}

static void fake_write(void *dev, uint64_t offset, const uint8_t *data,
		       uint32_t len)
{
	struct fake *f = dev;

	f->writes++;
	f->offset = offset;
	f->len = len;
	memcpy(f->data, data, len);
}

static const struct bus_ops fake_ops = { .read = fake_read, .write = fake_write };
static const struct bus_ops read_only_ops = { .read = fake_read };
static const struct bus_ops write_only_ops = { .write = fake_write };

static struct bus bus;

static void setup(void)
{
	memset(&bus, 0, sizeof(bus));
}

TestSuite(bus, .init = setup);

Test(bus, disjoint_ranges_register)
{
	struct fake a = { 0 }, b = { 0 };

	cr_expect_eq(bus_register(&bus, 0x3f8, 8, &fake_ops, &a, "a"), 0);
	cr_expect_eq(bus_register(&bus, 0x400, 8, &fake_ops, &b, "b"), 0);
	/* adjacent on both sides is not an overlap */
	cr_expect_eq(bus_register(&bus, 0x3f0, 8, &fake_ops, &b, "c"), 0);
	cr_expect_eq(bus_register(&bus, 0x408, 1, &fake_ops, &b, "d"), 0);
	cr_expect_eq(bus.nr_ranges, 4);
}

Test(bus, overlapping_ranges_are_refused)
{
	struct fake a = { 0 };

	cr_assert_eq(bus_register(&bus, 0x1000, 0x100, &fake_ops, &a, "a"), 0);
	cr_expect_eq(bus_register(&bus, 0x1000, 0x100, &fake_ops, &a, "same"),
		     -EEXIST);
	cr_expect_eq(bus_register(&bus, 0x10ff, 1, &fake_ops, &a, "last byte"),
		     -EEXIST);
	cr_expect_eq(bus_register(&bus, 0xf00, 0x101, &fake_ops, &a, "first"),
		     -EEXIST);
	cr_expect_eq(bus_register(&bus, 0x1010, 0x10, &fake_ops, &a, "inside"),
		     -EEXIST);
	cr_expect_eq(bus_register(&bus, 0, 0x10000, &fake_ops, &a, "around"),
		     -EEXIST);
	cr_expect_eq(bus.nr_ranges, 1);
}

Test(bus, empty_range_is_invalid)
{
	cr_expect_eq(bus_register(&bus, 0x1000, 0, &fake_ops, NULL, "empty"),
		     -EINVAL);
	cr_expect_eq(bus.nr_ranges, 0);
}

Test(bus, wrapping_range_is_invalid)
{
	cr_expect_eq(bus_register(&bus, UINT64_MAX, 2, &fake_ops, NULL, "wrap"),
		     -EINVAL);
	cr_expect_eq(bus_register(&bus, 1, UINT64_MAX, &fake_ops, NULL, "wrap"),
		     -EINVAL);
	cr_expect_eq(bus.nr_ranges, 0);
}

Test(bus, range_ending_at_the_top_of_the_address_space_is_fine)
{
	struct fake a = { 0 };
	uint8_t v[2];

	/* [UINT64_MAX - 0xff, UINT64_MAX): base + size is exactly UINT64_MAX */
	cr_expect_eq(bus_register(&bus, UINT64_MAX - 0xff, 0xff, &fake_ops, &a,
				  "top"),
		     0);
	cr_expect(bus_read(&bus, UINT64_MAX - 1, v, 1));
	cr_expect_eq(a.offset, 0xfe);
	cr_expect_not(bus_read(&bus, UINT64_MAX - 1, v, 2));
}

Test(bus, full_table_is_refused)
{
	struct fake a = { 0 };

	for (int i = 0; i < BUS_MAX_RANGES; i++)
		cr_assert_eq(bus_register(&bus, 0x1000 * (uint64_t)i, 0x10,
					  &fake_ops, &a, "r"),
			     0);
	cr_expect_eq(bus_register(&bus, 0x100000, 0x10, &fake_ops, &a, "more"),
		     -ENOSPC);
	cr_expect_eq(bus.nr_ranges, BUS_MAX_RANGES);
}

Test(bus, read_dispatches_with_the_offset_in_the_range)
{
	struct fake a = { 0 }, b = { 0 };
	uint8_t data[4];

	cr_assert_eq(bus_register(&bus, 0x60, 5, &fake_ops, &a, "a"), 0);
	cr_assert_eq(bus_register(&bus, 0xd0001000, 0x1000, &fake_ops, &b, "b"),
		     0);
	cr_expect(bus_read(&bus, 0x64, data, 1));
	cr_expect_eq(a.reads, 1);
	cr_expect_eq(a.offset, 4);
	cr_expect_eq(a.len, 1);
	cr_expect_eq(data[0], 0x42);

	cr_expect(bus_read(&bus, 0xd0001070, data, 4));
	cr_expect_eq(b.reads, 1);
	cr_expect_eq(b.offset, 0x70);
	cr_expect_eq(b.len, 4);
	cr_expect_eq(a.reads, 1);
	cr_expect_eq(bus.unclaimed_reads, 0);
}

Test(bus, write_dispatches_the_data_and_offset)
{
	struct fake a = { 0 };
	const uint8_t data[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	cr_assert_eq(bus_register(&bus, 0x10000, 0x100, &fake_ops, &a, "a"), 0);
	cr_expect(bus_write(&bus, 0x100f8, data, 8));
	cr_expect_eq(a.writes, 1);
	cr_expect_eq(a.offset, 0xf8);
	cr_expect_eq(a.len, 8);
	cr_expect_arr_eq(a.data, data, 8);
	cr_expect_eq(bus.unclaimed_writes, 0);
}

Test(bus, access_straddling_the_range_end_is_unclaimed)
{
	struct fake a = { 0 }, b = { 0 };
	uint8_t data[4] = { 0 };

	cr_assert_eq(bus_register(&bus, 0x100, 4, &fake_ops, &a, "a"), 0);
	cr_assert_eq(bus_register(&bus, 0x104, 4, &fake_ops, &b, "b"), 0);
	cr_expect_not(bus_read(&bus, 0x102, data, 4));
	cr_expect_not(bus_write(&bus, 0x103, data, 2));
	cr_expect_eq(a.reads + a.writes + b.reads + b.writes, 0);
	cr_expect_eq(bus.unclaimed_reads, 1);
	cr_expect_eq(bus.unclaimed_writes, 1);
	/* the last whole access still fits */
	cr_expect(bus_read(&bus, 0x100, data, 4));
	cr_expect_eq(a.reads, 1);
}

Test(bus, unclaimed_read_fills_all_ones_and_is_counted)
{
	uint8_t data[8];

	memset(data, 0, sizeof(data));
	cr_expect_not(bus_read(&bus, 0x80, data, 8));
	for (int i = 0; i < 8; i++)
		cr_expect_eq(data[i], 0xff);
	cr_expect_not(bus_read(&bus, 0x81, data, 1));
	cr_expect_eq(bus.unclaimed_reads, 2);
	cr_expect_eq(bus.unclaimed_writes, 0);
}

Test(bus, unclaimed_write_is_dropped_and_counted)
{
	const uint8_t data[2] = { 1, 2 };

	cr_expect_not(bus_write(&bus, 0x80, data, 2));
	cr_expect_not(bus_write(&bus, 0x80, data, 1));
	cr_expect_eq(bus.unclaimed_writes, 2);
	cr_expect_eq(bus.unclaimed_reads, 0);
}

static void first_byte_read(void *dev, uint64_t offset, uint8_t *data,
			    uint32_t len)
{
	(void)dev;
	(void)offset;
	(void)len;
	data[0] = 0x12;
}

Test(bus, device_read_starts_from_all_ones)
{
	/* a device that fills only part of the access leaves 0xff elsewhere */
	static const struct bus_ops partial_ops = { .read = first_byte_read };
	uint8_t data[4] = { 0 };

	cr_assert_eq(bus_register(&bus, 0x10, 4, &partial_ops, NULL, "p"), 0);
	cr_expect(bus_read(&bus, 0x10, data, 4));
	cr_expect_eq(data[0], 0x12);
	for (int i = 1; i < 4; i++)
		cr_expect_eq(data[i], 0xff);
	cr_expect_eq(bus.unclaimed_reads, 0);
}

Test(bus, range_without_a_read_op_is_claimed_but_counted)
{
	struct fake a = { 0 };
	uint8_t data[2] = { 0 };

	cr_assert_eq(bus_register(&bus, 0x10, 4, &write_only_ops, &a, "wo"), 0);
	cr_expect(bus_read(&bus, 0x10, data, 2));
	cr_expect_eq(data[0], 0xff);
	cr_expect_eq(data[1], 0xff);
	cr_expect_eq(bus.unclaimed_reads, 1);
	cr_expect(bus_write(&bus, 0x10, data, 2));
	cr_expect_eq(a.writes, 1);
	cr_expect_eq(bus.unclaimed_writes, 0);
}

Test(bus, range_without_a_write_op_is_claimed_but_counted)
{
	struct fake a = { 0 };
	const uint8_t data[1] = { 7 };
	uint8_t v;

	cr_assert_eq(bus_register(&bus, 0x10, 4, &read_only_ops, &a, "ro"), 0);
	cr_expect(bus_write(&bus, 0x11, data, 1));
	cr_expect_eq(a.writes, 0);
	cr_expect_eq(bus.unclaimed_writes, 1);
	cr_expect(bus_read(&bus, 0x11, &v, 1));
	cr_expect_eq(a.reads, 1);
	cr_expect_eq(bus.unclaimed_reads, 0);
}
