// SPDX-License-Identifier: Apache-2.0
#include "config/json_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define fail(...)                                    \
	do {                                         \
		snprintf(err, errlen, __VA_ARGS__); \
		return -EINVAL;                      \
	} while (0)

json_t *json_decode(const char *text, size_t len, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *j = json_loadb(text, len, JSON_DECODE_FLAGS, &jerr);

	if (!j && !strcmp(jerr.text, "duplicate object key") &&
	    jerr.position > 0 && (size_t)jerr.position <= len) {
		/* jansson names only keys of up to 20 characters: the key is
		 * the string that ends where it stopped */
		size_t end = (size_t)jerr.position, start;

		while (end > 0 && text[end - 1] != '"')
			end--;
		start = end ? end - 1 : 0;
		while (start > 0 && text[start - 1] != '"')
			start--;
		if (end > start + 1 && end - start < 200) {
			snprintf(err, errlen,
				 "invalid JSON: duplicate object key near '\"%.*s\"' (line %d, column %d)",
				 (int)(end - 1 - start), text + start, jerr.line,
				 jerr.column);
			return NULL;
		}
	}
	if (!j)
		snprintf(err, errlen, "invalid JSON: %s (line %d, column %d)",
			 jerr.text, jerr.line, jerr.column);
	return j;
}

int json_check_fields(const json_t *obj, const char *what,
		      const char *const *allowed, char *err, size_t errlen)
{
	const char *key;
	json_t *val;

	if (!json_is_object(obj))
		fail("%s: expected a JSON object", what);
	json_object_foreach((json_t *)obj, key, val) {
		const char *const *a;

		for (a = allowed; *a; a++)
			if (!strcmp(*a, key))
				break;
		if (!*a)
			fail("%s: unknown field `%s`", what, key);
	}
	return 0;
}

/* The field, NULL when absent or null; -EINVAL in *ret when required. */
static json_t *get_field(const json_t *obj, const char *what, const char *key,
			 bool required, int *ret, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);

	*ret = 0;
	if (v && !json_is_null(v))
		return v;
	if (required) {
		snprintf(err, errlen, "%s: missing field `%s`", what, key);
		*ret = -EINVAL;
	} else {
		*ret = 1;
	}
	return NULL;
}

int json_get_string(const json_t *obj, const char *what, const char *key,
		    bool required, const char **out, char *err, size_t errlen)
{
	int ret;
	json_t *v = get_field(obj, what, key, required, &ret, err, errlen);

	if (!v)
		return ret;
	if (!json_is_string(v))
		fail("%s: field `%s` must be a string", what, key);
	if (json_string_length(v) > JSON_STRING_MAX)
		fail("%s: field `%s` is longer than %d bytes", what, key,
		     JSON_STRING_MAX);
	*out = json_string_value(v);
	return 0;
}

int json_get_bool(const json_t *obj, const char *what, const char *key,
		  bool required, bool *out, char *err, size_t errlen)
{
	int ret;
	json_t *v = get_field(obj, what, key, required, &ret, err, errlen);

	if (!v)
		return ret;
	if (!json_is_boolean(v))
		fail("%s: field `%s` must be a boolean", what, key);
	*out = json_is_true(v);
	return 0;
}

int json_get_uint(const json_t *obj, const char *what, const char *key,
		  bool required, uint64_t min, uint64_t max, uint64_t *out,
		  char *err, size_t errlen)
{
	int ret;
	json_t *v = get_field(obj, what, key, required, &ret, err, errlen);
	json_int_t n;

	if (!v)
		return ret;
	if (!json_is_integer(v))
		fail("%s: field `%s` must be an integer", what, key);
	n = json_integer_value(v);
	if (n < 0 || (uint64_t)n < min || (uint64_t)n > max)
		fail("%s: field `%s` is out of range (%llu to %llu)", what, key,
		     (unsigned long long)min, (unsigned long long)max);
	*out = (uint64_t)n;
	return 0;
}

int json_get_enum(const json_t *obj, const char *what, const char *key,
		  bool required, const char *const *values, bool nocase,
		  int *out, char *err, size_t errlen)
{
	const char *s;
	char list[256] = "";
	int ret = json_get_string(obj, what, key, required, &s, err, errlen);

	if (ret)
		return ret;
	for (int i = 0; values[i]; i++) {
		if (nocase ? !strcasecmp(values[i], s) : !strcmp(values[i], s)) {
			*out = i;
			return 0;
		}
		snprintf(list + strlen(list), sizeof(list) - strlen(list),
			 "%s%s", i ? ", " : "", values[i]);
	}
	fail("%s: field `%s` must be one of: %s", what, key, list);
}

static int check_bucket(const json_t *b, const char *what,
			struct bucket_config *out, char *err, size_t errlen)
{
	static const char *const fields[] = { "size", "one_time_burst",
					      "refill_time", NULL };
	uint64_t size = 0, burst = 0, refill = 0;
	int ret;

	ret = json_check_fields(b, what, fields, err, errlen);
	if (ret)
		return ret;
	ret = json_get_uint(b, what, "size", true, 0, INT64_MAX, &size, err,
			    errlen);
	if (ret < 0)
		return ret;
	ret = json_get_uint(b, what, "refill_time", true, 0, INT64_MAX,
			    &refill, err, errlen);
	if (ret < 0)
		return ret;
	ret = json_get_uint(b, what, "one_time_burst", false, 0, INT64_MAX,
			    &burst, err, errlen);
	if (ret < 0)
		return ret;
	/* Firecracker treats a zero size or refill time as "no limit". */
	*out = (struct bucket_config){ .size = size && refill ? size : 0,
				       .one_time_burst = burst,
				       .refill_ms = refill };
	return 0;
}

int json_get_rate_limiter(const json_t *rl, const char *what,
			  struct rate_limiter_config *out, char *err,
			  size_t errlen)
{
	static const char *const fields[] = { "bandwidth", "ops", NULL };
	struct rate_limiter_config n = { 0 };
	int ret;

	if (!rl || json_is_null(rl)) {
		*out = n;
		return 0;
	}
	ret = json_check_fields(rl, what, fields, err, errlen);
	for (int i = 0; !ret && fields[i]; i++) {
		json_t *b = json_object_get(rl, fields[i]);
		char sub[96];

		if (!b || json_is_null(b))
			continue;
		snprintf(sub, sizeof(sub), "%s.%s", what, fields[i]);
		ret = check_bucket(b, sub, i ? &n.ops : &n.bandwidth, err,
				   errlen);
	}
	if (!ret)
		*out = n;
	return ret;
}

int json_check_bucket_unsupported(const json_t *b, const char *what,
				  char *err, size_t errlen)
{
	struct bucket_config c;
	int ret;

	if (!b || json_is_null(b))
		return 0;
	ret = check_bucket(b, what, &c, err, errlen);
	if (!ret && c.size)
		fail("%s: rate limiting is not supported here by figment yet",
		     what);
	return ret;
}

json_t *rate_limiter_to_json(const struct rate_limiter_config *rl)
{
	const struct bucket_config *b[2] = { &rl->bandwidth, &rl->ops };
	const char *names[2] = { "bandwidth", "ops" };
	json_t *o = json_object();

	for (int i = 0; o && i < 2; i++) {
		if (!b[i]->size)
			continue;
		json_object_set_new(o, names[i],
				    json_pack("{s:I, s:I, s:I}", "size",
					      (json_int_t)b[i]->size,
					      "one_time_burst",
					      (json_int_t)b[i]->one_time_burst,
					      "refill_time",
					      (json_int_t)b[i]->refill_ms));
	}
	return o;
}

int json_set_str(char **dst, const char *src)
{
	char *s = src ? strdup(src) : NULL;

	if (src && !s)
		return -ENOMEM;
	free(*dst);
	*dst = s;
	return 0;
}
