// SPDX-License-Identifier: Apache-2.0
/* Overflow-checked arithmetic: every helper at and around its edges. */
#include <criterion/criterion.h>
#include <stdint.h>

#include "util/checked.h"

Test(checked, add_without_overflow_gives_the_sum)
{
	uint64_t r = 0;

	cr_expect_not(checked_add_u64(1, 2, &r));
	cr_expect_eq(r, 3);
	cr_expect_not(checked_add_u64(UINT64_MAX - 1, 1, &r));
	cr_expect_eq(r, UINT64_MAX);
	cr_expect_not(checked_add_u64(UINT64_MAX, 0, &r));
	cr_expect_eq(r, UINT64_MAX);
}

Test(checked, add_past_uint64_max_overflows)
{
	uint64_t r;

	cr_expect(checked_add_u64(UINT64_MAX, 1, &r));
	cr_expect(checked_add_u64(1, UINT64_MAX, &r));
	cr_expect(checked_add_u64(UINT64_MAX, UINT64_MAX, &r));
	cr_expect(checked_add_u64(1ULL << 63, 1ULL << 63, &r));
}

Test(checked, mul_without_overflow_gives_the_product)
{
	uint64_t r = 0;

	cr_expect_not(checked_mul_u64(0, UINT64_MAX, &r));
	cr_expect_eq(r, 0);
	cr_expect_not(checked_mul_u64(UINT64_MAX, 1, &r));
	cr_expect_eq(r, UINT64_MAX);
	cr_expect_not(checked_mul_u64(1ULL << 31, 1ULL << 32, &r));
	cr_expect_eq(r, 1ULL << 63);
	cr_expect_not(checked_mul_u64(0xffffffffULL, 0x100000001ULL, &r));
	cr_expect_eq(r, UINT64_MAX);
}

Test(checked, mul_past_uint64_max_overflows)
{
	uint64_t r;

	cr_expect(checked_mul_u64(1ULL << 32, 1ULL << 32, &r));
	cr_expect(checked_mul_u64(UINT64_MAX, 2, &r));
	cr_expect(checked_mul_u64(0x100000000ULL, 0x100000001ULL, &r));
}

Test(checked, range_inside_limit_is_not_outside)
{
	cr_expect_not(range_outside(0, 10, 10));
	cr_expect_not(range_outside(9, 1, 10));
	cr_expect_not(range_outside(10, 0, 10)); /* empty range at the end */
	cr_expect_not(range_outside(0, UINT64_MAX, UINT64_MAX));
	cr_expect_not(range_outside(UINT64_MAX - 1, 1, UINT64_MAX));
}

Test(checked, range_past_limit_is_outside)
{
	cr_expect(range_outside(0, 11, 10));
	cr_expect(range_outside(10, 1, 10));
	cr_expect(range_outside(11, 0, 10));
	cr_expect(range_outside(5, 1, 0));
}

Test(checked, range_whose_end_wraps_is_outside)
{
	/* start + len wraps to a small value that would pass "end <= limit" */
	cr_expect(range_outside(UINT64_MAX, 2, UINT64_MAX));
	cr_expect(range_outside(UINT64_MAX - 1, 4, 0x1000));
	cr_expect(range_outside(1, UINT64_MAX, UINT64_MAX));
}

Test(checked, align_up_rounds_to_the_next_multiple)
{
	cr_expect_eq(align_up_u64(0, 4096), 0);
	cr_expect_eq(align_up_u64(1, 4096), 4096);
	cr_expect_eq(align_up_u64(4096, 4096), 4096);
	cr_expect_eq(align_up_u64(4097, 4096), 8192);
	cr_expect_eq(align_up_u64(7, 1), 7);
	cr_expect_eq(align_up_u64(UINT64_MAX - 4095, 4096), UINT64_MAX - 4095);
}

Test(checked, align_down_rounds_to_the_previous_multiple)
{
	cr_expect_eq(align_down_u64(0, 4096), 0);
	cr_expect_eq(align_down_u64(4095, 4096), 0);
	cr_expect_eq(align_down_u64(4096, 4096), 4096);
	cr_expect_eq(align_down_u64(8191, 4096), 4096);
	cr_expect_eq(align_down_u64(UINT64_MAX, 4096), UINT64_MAX - 4095);
}
