// SPDX-License-Identifier: Apache-2.0
#include "config/drive_config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_bool(const char *v, size_t n, bool *out)
{
	static const char *const yes[] = {"on", "true", "yes", "1"};
	static const char *const no[] = {"off", "false", "no", "0"};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strlen(yes[i]) == n && !strncmp(v, yes[i], n)) {
			*out = true;
			return 0;
		}
		if (strlen(no[i]) == n && !strncmp(v, no[i], n)) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

static bool id_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

enum { K_ID, K_PATH, K_ROOT, K_READONLY, K_SERIAL, K_CACHE, K_COUNT };
static const char *const keys[K_COUNT] = {
	"id", "path", "root", "readonly", "serial", "cache",
};

#define fail(ret_, ...)                                                        \
	do {                                                                   \
		snprintf(err, errlen, __VA_ARGS__);                            \
		ret = (ret_);                                                  \
		goto out_free;                                                 \
	} while (0)

static int set_key(struct drive_config *d, int key, const char *v, size_t n,
		   char *err, size_t errlen)
{
	int ret = 0;

	switch (key) {
	case K_ID:
		if (n == 0)
			fail(-EINVAL, "drive id is empty");
		if (n > CONFIG_ID_MAX)
			fail(-EINVAL, "drive id is longer than %d characters",
			     CONFIG_ID_MAX);
		for (size_t i = 0; i < n; i++)
			if (!id_char_ok(v[i]))
				fail(-EINVAL,
				     "drive id '%.*s' may only contain "
				     "letters, "
				     "digits, '_', '-' and '.'",
				     (int)n, v);
		memcpy(d->id, v, n);
		d->id[n] = '\0';
		break;
	case K_PATH:
		if (n == 0)
			fail(-EINVAL, "drive path is empty");
		d->path_on_host = strndup(v, n);
		if (!d->path_on_host)
			fail(-ENOMEM, "out of memory");
		break;
	case K_ROOT:
	case K_READONLY:
		if (parse_bool(v, n,
			       key == K_ROOT ? &d->is_root_device
					     : &d->is_read_only))
			fail(-EINVAL,
			     "drive %s='%.*s' is not a boolean (on/off, "
			     "true/false)",
			     keys[key], (int)n, v);
		break;
	case K_SERIAL:
		if (n > DRIVE_SERIAL_MAX)
			fail(-EINVAL, "drive serial is longer than %d bytes",
			     DRIVE_SERIAL_MAX);
		d->serial = strndup(v, n);
		if (!d->serial)
			fail(-ENOMEM, "out of memory");
		break;
	case K_CACHE:
		if (n == 6 && !strncmp(v, "unsafe", n))
			d->cache_type = DRIVE_CACHE_UNSAFE;
		else if (n == 9 && !strncmp(v, "writeback", n))
			d->cache_type = DRIVE_CACHE_WRITEBACK;
		else
			fail(-EINVAL,
			     "drive cache='%.*s' is not unsafe or "
			     "writeback",
			     (int)n, v);
		break;
	}
out_free:
	return ret;
}

int drive_config_parse(const char *spec, struct drive_config *d, char *err,
		       size_t errlen)
{
	bool seen[K_COUNT] = {false};
	const char *p = spec;
	int ret = 0;

	memset(d, 0, sizeof(*d));
	d->cache_type = DRIVE_CACHE_UNSAFE;
	if (!spec || !*spec)
		fail(-EINVAL, "empty drive description");
	while (*p) {
		const char *end = strchrnul(p, ',');
		const char *eq = memchr(p, '=', (size_t)(end - p));
		size_t klen;
		int key = -1;

		if (!eq)
			fail(-EINVAL, "drive option '%.*s' is not key=value",
			     (int)(end - p), p);
		klen = (size_t)(eq - p);
		for (int i = 0; i < K_COUNT; i++)
			if (strlen(keys[i]) == klen &&
			    !strncmp(p, keys[i], klen))
				key = i;
		if (key < 0)
			fail(-EINVAL,
			     "unknown drive option '%.*s' (known: id, path, "
			     "root, readonly, serial, cache)",
			     (int)klen, p);
		if (seen[key])
			fail(-EINVAL, "drive option '%s' given twice",
			     keys[key]);
		seen[key] = true;
		ret = set_key(d, key, eq + 1, (size_t)(end - eq - 1), err,
			      errlen);
		if (ret)
			goto out_free;
		p = *end ? end + 1 : end;
		if (*end && !*p)
			fail(-EINVAL, "drive description ends with a comma");
	}
	if (!seen[K_ID])
		fail(-EINVAL, "drive has no id (id=...)");
	if (!seen[K_PATH])
		fail(-EINVAL, "drive '%s' has no path (path=...)", d->id);
	return 0;

out_free:
	free(d->path_on_host);
	free(d->serial);
	memset(d, 0, sizeof(*d));
	return ret;
}
