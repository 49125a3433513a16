/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Strict field readers shared by the per-resource JSON decoders. Each error
 * message names the resource (@what) and the field, in the form
 * "machine-config: field `vcpu_count` must be an integer". A JSON null is
 * taken as an absent optional field (as serde does for Option in
 * Firecracker).
 */
#ifndef FIGMENT_CONFIG_JSON_UTIL_H
#define FIGMENT_CONFIG_JSON_UTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/vm_config.h"

#define JSON_STRING_MAX 4096 /* paths, boot arguments */

/* Flags for json_decode(): strict, one document, no NUL in strings. */
#define JSON_DECODE_FLAGS JSON_REJECT_DUPLICATES

/*
 * Parses @len bytes of @text into a new reference, or NULL with the reason
 * (jansson's, with line and column; names a duplicated key) in @err.
 */
json_t *json_decode(const char *text, size_t len, char *err, size_t errlen);

/* 0 when @obj is an object whose keys are all in @allowed (NULL-ended);
 * else -EINVAL naming the first unknown field. */
int json_check_fields(const json_t *obj, const char *what,
		      const char *const *allowed, char *err, size_t errlen);

/*
 * Each reader returns 0 with *out set when the field is present, 1 when it is
 * absent (or null) and not @required, and -EINVAL with a message when it is
 * missing, of the wrong type or out of range.
 */
int json_get_string(const json_t *obj, const char *what, const char *key,
		    bool required, const char **out, char *err, size_t errlen);
int json_get_bool(const json_t *obj, const char *what, const char *key,
		  bool required, bool *out, char *err, size_t errlen);
int json_get_uint(const json_t *obj, const char *what, const char *key,
		  bool required, uint64_t min, uint64_t max, uint64_t *out,
		  char *err, size_t errlen);
/* *out is the index of the matching entry of @values (NULL-ended); matching
 * ignores case when @nocase. */
int json_get_enum(const json_t *obj, const char *what, const char *key,
		  bool required, const char *const *values, bool nocase,
		  int *out, char *err, size_t errlen);

/*
 * A RateLimiter object (bandwidth and ops TokenBuckets; absent or null: no
 * limit) into @out. Sizes and times are unsigned, at most INT64_MAX; a zero
 * size or refill time means that bucket does not limit (Firecracker's
 * rule). 0 or -EINVAL naming the field.
 */
int json_get_rate_limiter(const json_t *rl, const char *what,
			  struct rate_limiter_config *out, char *err,
			  size_t errlen);
/* A lone TokenBucket where figment has no limiter yet (the serial port):
 * a zero one is accepted, a real one refused. 0 or -EINVAL. */
int json_check_bucket_unsupported(const json_t *b, const char *what,
				  char *err, size_t errlen);
/* The RateLimiter object for @rl (only the buckets that limit). */
json_t *rate_limiter_to_json(const struct rate_limiter_config *rl);

/* strdup into *dst, freeing the old value; 0 or -ENOMEM. */
int json_set_str(char **dst, const char *src);

#endif
