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
 * Checks a RateLimiter (@bucket_only: a TokenBucket) object. figment has no
 * I/O rate limiting yet: an empty or zero-sized limiter (no limit) is
 * accepted, a real one is refused as not supported. 0 or -EINVAL.
 */
int json_check_rate_limiter(const json_t *rl, const char *what,
			    bool bucket_only, char *err, size_t errlen);

/* strdup into *dst, freeing the old value; 0 or -ENOMEM. */
int json_set_str(char **dst, const char *src);

#endif
