// SPDX-License-Identifier: Apache-2.0
#include "util/token_bucket.h"

#define NS_PER_MS 1000000ULL

void token_bucket_init(struct token_bucket *b, uint64_t size,
		       uint64_t one_time_burst, uint64_t refill_ms,
		       uint64_t now_ns)
{
	b->size = refill_ms ? size : 0;
	b->refill_ms = refill_ms;
	b->tokens = b->size;
	b->burst = b->size ? one_time_burst : 0;
	b->last_ns = now_ns;
}

/* Adds what the time since the last refill earned, up to the size. The
 * product is done in 128 bits: sizes and times come from clients. */
static void refill(struct token_bucket *b, uint64_t now_ns)
{
	unsigned __int128 earned;
	uint64_t dt;

	if (!b->size || now_ns <= b->last_ns)
		return;
	dt = now_ns - b->last_ns;
	earned = (unsigned __int128)dt * b->size /
		 ((unsigned __int128)b->refill_ms * NS_PER_MS);
	if (earned == 0)
		return; /* keep last_ns: the fractions add up */
	if (earned >= b->size - b->tokens) {
		b->tokens = b->size;
		b->last_ns = now_ns;
	} else {
		b->tokens += (uint64_t)earned;
		/* advance by the time those tokens took, not by dt */
		b->last_ns += (uint64_t)(earned * b->refill_ms * NS_PER_MS /
					 b->size);
	}
}

/* How much of @n the bucket lets through now (capped at its size: a larger
 * request needs a full bucket); 0 when unlimited. */
static uint64_t need(const struct token_bucket *b, uint64_t n)
{
	return n < b->size ? n : b->size;
}

static bool has(const struct token_bucket *b, uint64_t n)
{
	return !b->size || b->burst + b->tokens >= need(b, n);
}

static void take(struct token_bucket *b, uint64_t n)
{
	uint64_t from_burst;

	if (!b->size)
		return;
	n = need(b, n);
	from_burst = n < b->burst ? n : b->burst;
	b->burst -= from_burst;
	b->tokens -= n - from_burst;
}

/* ns until @n could be taken: when the refill since last_ns covers what
 * is missing (rounded up, so the tokens are there when the timer fires). */
static uint64_t wait_ns(const struct token_bucket *b, uint64_t n,
			uint64_t now_ns)
{
	unsigned __int128 t;
	uint64_t missing, since;

	if (has(b, n))
		return 0;
	missing = need(b, n) - b->burst - b->tokens;
	t = ((unsigned __int128)missing * b->refill_ms * NS_PER_MS + b->size -
	     1) / b->size;
	since = now_ns > b->last_ns ? now_ns - b->last_ns : 0;
	if (t > UINT64_MAX)
		return UINT64_MAX;
	return (uint64_t)t > since ? (uint64_t)t - since : 1;
}

uint64_t rate_limit_take(struct rate_limit *rl, uint64_t bytes,
			 uint64_t now_ns)
{
	uint64_t w_bw, w_ops;

	refill(&rl->bw, now_ns);
	refill(&rl->ops, now_ns);
	if (has(&rl->bw, bytes) && has(&rl->ops, 1)) {
		take(&rl->bw, bytes);
		take(&rl->ops, 1);
		return 0;
	}
	w_bw = wait_ns(&rl->bw, bytes, now_ns);
	w_ops = wait_ns(&rl->ops, 1, now_ns);
	return w_bw > w_ops ? w_bw : w_ops;
}

bool rate_limit_is_off(const struct rate_limit *rl)
{
	return !rl->bw.size && !rl->ops.size;
}
