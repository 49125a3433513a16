// SPDX-License-Identifier: Apache-2.0
/* Drive and PartialDrive <-> struct drive_config. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_json.h"
#include "config/json_util.h"
#include "util/instance_id.h"

#define fail(...)                                    \
	do {                                         \
		snprintf(err, errlen, __VA_ARGS__); \
		return -EINVAL;                      \
	} while (0)

static const char *const fields[] = { "drive_id", "partuuid",
				      "is_root_device", "cache_type",
				      "is_read_only", "path_on_host",
				      "rate_limiter", "io_engine", "socket",
				      NULL };
static const char *const patch_fields[] = { "drive_id", "path_on_host",
					    "rate_limiter", NULL };
static const char *const cache_types[] = { "Unsafe", "Writeback", NULL };
static const char *const io_engines[] = { "Sync", "Async", NULL };

bool config_id_valid(const char *id)
{
	size_t n = strlen(id);

	if (n < 1 || n > CONFIG_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return true;
}

_Static_assert(CONFIG_ID_MAX == INSTANCE_ID_MAX, "one id length");

bool config_instance_id_valid(const char *id)
{
	return instance_id_valid(id); /* the jailer's rule too */
}

static int get_id(const json_t *j, const char *what, char *id, char *err,
		  size_t errlen)
{
	const char *s;
	int ret = json_get_string(j, what, "drive_id", true, &s, err, errlen);

	if (ret)
		return ret;
	if (!config_id_valid(s))
		fail("%s: field `drive_id` must be 1 to %d characters of A-Z, a-z, 0-9 and _",
		     what, CONFIG_ID_MAX);
	strcpy(id, s);
	return 0;
}

int drive_from_json(const json_t *j, const char *what, struct drive_config *d,
		    char *err, size_t errlen)
{
	struct drive_config n = { 0 };
	const char *path = NULL, *partuuid = NULL, *socket = NULL;
	int cache = 0, engine = 0;
	int ret;

	ret = json_check_fields(j, what, fields, err, errlen);
	if (ret)
		return ret;
	ret = get_id(j, what, n.id, err, errlen);
	if (ret)
		return ret;
	ret = json_get_bool(j, what, "is_root_device", true, &n.is_root_device,
			    err, errlen);
	if (ret)
		return ret;
	ret = json_get_string(j, what, "socket", false, &socket, err, errlen);
	if (ret < 0)
		return ret;
	if (!ret)
		fail("%s: vhost-user block devices (`socket`) are not supported by figment yet",
		     what);
	ret = json_get_string(j, what, "path_on_host", true, &path, err, errlen);
	if (ret)
		return ret;
	if (!*path)
		fail("%s: field `path_on_host` is empty", what);
	ret = json_get_string(j, what, "partuuid", false, &partuuid, err,
			      errlen);
	if (ret < 0)
		return ret;
	ret = json_get_bool(j, what, "is_read_only", false, &n.is_read_only,
			    err, errlen);
	if (ret < 0)
		return ret;
	ret = json_get_enum(j, what, "cache_type", false, cache_types, false,
			    &cache, err, errlen);
	if (ret < 0)
		return ret;
	n.cache_type = cache ? DRIVE_CACHE_WRITEBACK : DRIVE_CACHE_UNSAFE;
	ret = json_get_enum(j, what, "io_engine", false, io_engines, false,
			    &engine, err, errlen);
	if (ret < 0)
		return ret;
	if (engine)
		fail("%s: io_engine `Async` is not supported by figment yet", what);
	{
		char sub[96];

		snprintf(sub, sizeof(sub), "%s.rate_limiter", what);
		ret = json_get_rate_limiter(json_object_get(j, "rate_limiter"),
					    sub, &n.rate_limiter, err, errlen);
		if (ret)
			return ret;
	}
	if (json_set_str(&n.path_on_host, path) ||
	    json_set_str(&n.partuuid, partuuid)) {
		drive_config_free(&n);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	*d = n;
	return 0;
}

int drive_patch_from_json(const json_t *j, char id[CONFIG_ID_MAX + 1],
			  const char **path, struct rate_limiter_config *rl,
			  bool *has_rl, char *err, size_t errlen)
{
	const char *what = "drive";
	int ret;

	*path = NULL;
	ret = json_check_fields(j, what, patch_fields, err, errlen);
	if (ret)
		return ret;
	ret = get_id(j, what, id, err, errlen);
	if (ret)
		return ret;
	ret = json_get_string(j, what, "path_on_host", false, path, err,
			      errlen);
	if (ret < 0)
		return ret;
	if (*path && !**path)
		fail("%s: field `path_on_host` is empty", what);
	*has_rl = json_object_get(j, "rate_limiter") != NULL;
	return json_get_rate_limiter(json_object_get(j, "rate_limiter"),
				     "drive.rate_limiter", rl, err, errlen);
}

json_t *drive_to_json(const struct drive_config *d)
{
	json_t *o = json_pack("{s:s, s:b, s:s, s:b, s:s, s:s}", "drive_id", d->id,
			      "is_root_device", d->is_root_device, "cache_type",
			      cache_types[d->cache_type == DRIVE_CACHE_WRITEBACK],
			      "is_read_only", d->is_read_only, "path_on_host",
			      d->path_on_host ? d->path_on_host : "",
			      "io_engine", "Sync");

	if (o && d->partuuid)
		json_object_set_new(o, "partuuid", json_string(d->partuuid));
	if (o && (d->rate_limiter.bandwidth.size || d->rate_limiter.ops.size))
		json_object_set_new(o, "rate_limiter",
				    rate_limiter_to_json(&d->rate_limiter));
	return o;
}
