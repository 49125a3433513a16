// SPDX-License-Identifier: Apache-2.0
/* The --balloon command-line flag. */
#include "config/balloon_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define fail(...)                                    \
	do {                                         \
		snprintf(err, errlen, __VA_ARGS__); \
		memset(b, 0, sizeof(*b));            \
		return -EINVAL;                      \
	} while (0)

/* A decimal number of at most @max; false when it is not one. */
static bool parse_num(const char *s, size_t len, uint64_t max, uint32_t *out)
{
	char num[24], *e;
	unsigned long long v;

	if (len == 0 || len >= sizeof(num))
		return false;
	memcpy(num, s, len);
	num[len] = '\0';
	if (num[0] < '0' || num[0] > '9')
		return false;
	errno = 0;
	v = strtoull(num, &e, 10);
	if (*e || errno || v > max)
		return false;
	*out = (uint32_t)v;
	return true;
}

static bool parse_switch(const char *s, size_t len, bool *out)
{
	if (len == 2 && !strncmp(s, "on", 2))
		*out = true;
	else if (len == 3 && !strncmp(s, "off", 3))
		*out = false;
	else
		return false;
	return true;
}

int balloon_config_parse(const char *spec, struct balloon_config *b,
			 char *err, size_t errlen)
{
	static const char *const keys[] = { "amount_mib", "stats_interval_s",
					    "deflate_on_oom",
					    "free_page_reporting",
					    "free_page_hinting", NULL };
	unsigned seen = 0;
	const char *p = spec;

	memset(b, 0, sizeof(*b));
	if (!spec || !*spec)
		fail("empty balloon description");
	while (*p) {
		const char *end = strchrnul(p, ',');
		const char *eq = memchr(p, '=', (size_t)(end - p));
		const char *val;
		size_t klen, vlen;
		int k;

		if (!eq)
			fail("balloon option '%.*s' is not key=value",
			     (int)(end - p), p);
		klen = (size_t)(eq - p);
		val = eq + 1;
		vlen = (size_t)(end - val);
		for (k = 0; keys[k]; k++)
			if (strlen(keys[k]) == klen && !strncmp(p, keys[k], klen))
				break;
		if (!keys[k] || (seen & (1u << k)))
			fail("balloon option '%.*s' is unknown or given twice (known: amount_mib, deflate_on_oom, stats_interval_s, free_page_reporting, free_page_hinting)",
			     (int)klen, p);
		seen |= 1u << k;
		switch (k) {
		case 0:
			if (!parse_num(val, vlen, UINT32_MAX, &b->amount_mib))
				fail("balloon amount_mib '%.*s' is not a number of MiB",
				     (int)vlen, val);
			break;
		case 1:
			/* its range is checked with the rest (exit 3) */
			if (!parse_num(val, vlen, UINT32_MAX,
				       &b->stats_interval_s))
				fail("balloon stats_interval_s '%.*s' is not a number of seconds",
				     (int)vlen, val);
			break;
		default: {
			bool *sw = k == 2 ? &b->deflate_on_oom :
				   k == 3 ? &b->free_page_reporting :
					    &b->free_page_hinting;

			if (!parse_switch(val, vlen, sw))
				fail("balloon %s '%.*s' is not on or off", keys[k],
				     (int)vlen, val);
		}
		}
		p = *end ? end + 1 : end;
		if (*end && !*p)
			fail("balloon description ends with a comma");
	}
	b->present = true;
	return 0;
}
