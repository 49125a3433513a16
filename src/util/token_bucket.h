/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Firecracker's token buckets: a bucket of @size tokens that refills fully
 * in @refill_ms, plus a one-time burst of extra tokens spent first and never
 * refilled. A rate limiter is two of them, bandwidth (bytes) and operations;
 * a request goes when both have room. A request larger than the bucket goes
 * when the bucket is full and empties it, so a limit never stalls a device.
 */
#ifndef FIGMENT_UTIL_TOKEN_BUCKET_H
#define FIGMENT_UTIL_TOKEN_BUCKET_H

#include <stdbool.h>
#include <stdint.h>

struct token_bucket {
	uint64_t size;	    /* 0: no limit */
	uint64_t refill_ms;
	uint64_t tokens;    /* what is in the bucket */
	uint64_t burst;	    /* one-time burst left */
	uint64_t last_ns;   /* last refill, CLOCK_MONOTONIC */
};

struct rate_limit {
	struct token_bucket bw;	 /* bytes */
	struct token_bucket ops; /* requests */
};

/* A full bucket; @size 0 means no limit. */
void token_bucket_init(struct token_bucket *b, uint64_t size,
		       uint64_t one_time_burst, uint64_t refill_ms,
		       uint64_t now_ns);

/*
 * Takes @bytes from @rl's bandwidth bucket and one operation from its
 * operations bucket, both or neither. Returns 0 when taken, else the
 * nanoseconds until they could be (at least 1).
 */
uint64_t rate_limit_take(struct rate_limit *rl, uint64_t bytes,
			 uint64_t now_ns);

/* True when neither bucket limits anything. */
bool rate_limit_is_off(const struct rate_limit *rl);

#endif
