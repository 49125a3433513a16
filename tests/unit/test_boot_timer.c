// SPDX-License-Identifier: Apache-2.0
/* The boot-time marker device: only the guest's first magic write counts. */
#include <criterion/criterion.h>
#include <stdint.h>

#include "arch/x86/layout.h"
#include "devices/legacy/boot_timer.h"

static struct boot_timer t;

static void setup(void)
{
	t = (struct boot_timer){ .start_ns = boot_timer_now_ns() };
}

TestSuite(boot_timer, .init = setup);

static void wr(uint64_t off, uint8_t v)
{
	boot_timer_ops.write(&t, off, &v, 1);
}

Test(boot_timer, clock_is_monotonic)
{
	uint64_t a = boot_timer_now_ns(), b = boot_timer_now_ns();

	cr_expect_neq(a, 0);
	cr_expect_geq(b, a);
}

Test(boot_timer, magic_at_offset_0_marks_the_time)
{
	uint64_t before = boot_timer_now_ns(), after;

	wr(0, LAYOUT_BOOT_MARKER_MAGIC);
	after = boot_timer_now_ns();
	cr_expect_geq(t.marked_ns, before);
	cr_expect_leq(t.marked_ns, after);
	cr_expect_geq(t.marked_ns, t.start_ns);
}

Test(boot_timer, other_values_do_not_mark)
{
	wr(0, 0);
	wr(0, LAYOUT_BOOT_MARKER_MAGIC + 1);
	wr(0, 0xff);
	cr_expect_eq(t.marked_ns, 0);
}

Test(boot_timer, magic_at_another_offset_does_not_mark)
{
	wr(1, LAYOUT_BOOT_MARKER_MAGIC);
	wr(LAYOUT_BOOT_MARKER_SIZE - 1, LAYOUT_BOOT_MARKER_MAGIC);
	cr_expect_eq(t.marked_ns, 0);
}

Test(boot_timer, wider_write_with_the_magic_low_byte_marks)
{
	/* busybox devmem may write a word; the low byte is what counts */
	uint8_t v[4] = { LAYOUT_BOOT_MARKER_MAGIC, 0, 0, 0 };

	boot_timer_ops.write(&t, 0, v, 4);
	cr_expect_neq(t.marked_ns, 0);
}

Test(boot_timer, only_the_first_mark_counts)
{
	uint64_t first;

	wr(0, LAYOUT_BOOT_MARKER_MAGIC);
	first = t.marked_ns;
	cr_assert_neq(first, 0);
	/* make sure a second mark would see a later clock */
	while (boot_timer_now_ns() == first)
		;
	wr(0, LAYOUT_BOOT_MARKER_MAGIC);
	cr_expect_eq(t.marked_ns, first);
}

Test(boot_timer, has_no_read_op)
{
	/* reads are unclaimed on the bus: the guest sees all-ones */
	cr_expect_null(boot_timer_ops.read);
}
