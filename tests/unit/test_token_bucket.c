// SPDX-License-Identifier: Apache-2.0
/* Token buckets: rate, one-time burst, both buckets or neither, a request
 * larger than the bucket, overflow-safe arithmetic. */
#include <criterion/criterion.h>
#include <stdint.h>

#include "util/token_bucket.h"

#define MS 1000000ULL

Test(token_bucket, unlimited_takes_everything)
{
	struct rate_limit rl = { 0 };

	token_bucket_init(&rl.bw, 0, 0, 0, 0);
	token_bucket_init(&rl.ops, 0, 0, 0, 0);
	cr_assert(rate_limit_is_off(&rl));
	for (int i = 0; i < 1000; i++)
		cr_assert_eq(rate_limit_take(&rl, 1ULL << 40, 0), 0);
}

Test(token_bucket, bandwidth_refills_at_its_rate)
{
	struct rate_limit rl = { 0 };
	uint64_t t = 1000 * MS, moved = 0;

	/* 1 MiB per 100 ms: 10 MiB/s */
	token_bucket_init(&rl.bw, 1 << 20, 0, 100, t);
	cr_assert_eq(rate_limit_take(&rl, 1 << 20, t), 0, "starts full");
	cr_assert_gt(rate_limit_take(&rl, 4096, t), 0, "then empty");
	/* a simulated second of 64 KiB requests taken as soon as allowed */
	for (uint64_t end = t + 1000 * MS; t < end;) {
		uint64_t wait = rate_limit_take(&rl, 65536, t);

		if (wait) {
			t += wait;
			continue;
		}
		moved += 65536;
	}
	cr_assert(moved >= 9 * (1 << 20) && moved <= 11 * (1 << 20),
		  "moved %llu bytes in a second", (unsigned long long)moved);
}

Test(token_bucket, one_time_burst_is_spent_first_and_not_refilled)
{
	struct rate_limit rl = { 0 };

	token_bucket_init(&rl.ops, 10, 5, 1000, 0);
	for (int i = 0; i < 15; i++)
		cr_assert_eq(rate_limit_take(&rl, 0, 0), 0, "request %d", i);
	cr_assert_gt(rate_limit_take(&rl, 0, 0), 0);
	/* a whole refill later: 10 again, no burst */
	for (int i = 0; i < 10; i++)
		cr_assert_eq(rate_limit_take(&rl, 0, 2000 * MS), 0);
	cr_assert_gt(rate_limit_take(&rl, 0, 2000 * MS), 0);
}

Test(token_bucket, both_buckets_or_neither)
{
	struct rate_limit rl = { 0 };

	token_bucket_init(&rl.bw, 1000, 0, 1000, 0);
	token_bucket_init(&rl.ops, 1, 0, 1000, 0);
	cr_assert_eq(rate_limit_take(&rl, 10, 0), 0);
	/* ops is empty: the bytes are not taken either */
	cr_assert_gt(rate_limit_take(&rl, 990, 0), 0);
	cr_assert_eq(rl.bw.tokens, 990);
}

Test(token_bucket, request_larger_than_the_bucket_needs_it_full)
{
	struct rate_limit rl = { 0 };
	uint64_t w;

	token_bucket_init(&rl.bw, 4096, 0, 10, 0);
	cr_assert_eq(rate_limit_take(&rl, 1 << 20, 0), 0, "full: goes");
	w = rate_limit_take(&rl, 1 << 20, 0);
	cr_assert(w >= 10 * MS && w <= 10 * MS + 1000, "waits one refill, %llu ns",
		  (unsigned long long)w);
	cr_assert_eq(rate_limit_take(&rl, 1 << 20, 10 * MS), 0);
}

Test(token_bucket, huge_values_do_not_overflow)
{
	struct rate_limit rl = { 0 };

	token_bucket_init(&rl.bw, INT64_MAX, INT64_MAX, INT64_MAX, 0);
	cr_assert_eq(rate_limit_take(&rl, UINT64_MAX, 0), 0);
	cr_assert_eq(rate_limit_take(&rl, 1, UINT64_MAX), 0);
}
