/* SPDX-License-Identifier: Apache-2.0 */
/* Overflow-checked arithmetic for values that come from outside (guest,
 * files, API). Each returns true when the result overflowed. */
#ifndef FIGMENT_UTIL_CHECKED_H
#define FIGMENT_UTIL_CHECKED_H

#include <stdbool.h>
#include <stdint.h>

static inline bool checked_add_u64(uint64_t a, uint64_t b, uint64_t *out)
{
	return __builtin_add_overflow(a, b, out);
}

static inline bool checked_mul_u64(uint64_t a, uint64_t b, uint64_t *out)
{
	return __builtin_mul_overflow(a, b, out);
}

/* true when [start, start + len) does not fit inside [0, limit). */
static inline bool range_outside(uint64_t start, uint64_t len, uint64_t limit)
{
	uint64_t end;

	return checked_add_u64(start, len, &end) || end > limit;
}

static inline uint64_t align_up_u64(uint64_t v, uint64_t align)
{
	return (v + align - 1) & ~(align - 1);
}

static inline uint64_t align_down_u64(uint64_t v, uint64_t align)
{
	return v & ~(align - 1);
}

#endif
