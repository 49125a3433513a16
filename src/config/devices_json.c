// SPDX-License-Identifier: Apache-2.0
/* EntropyDevice and SerialDevice: the small devices without their own file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "config/config_json.h"
#include "config/json_util.h"

int entropy_from_json(const json_t *j, bool *enabled,
		      struct rate_limiter_config *rl, char *err, size_t errlen)
{
	static const char *const fields[] = { "rate_limiter", NULL };
	int ret = json_check_fields(j, "entropy", fields, err, errlen);

	if (!ret)
		ret = json_get_rate_limiter(json_object_get(j, "rate_limiter"),
					    "entropy.rate_limiter", rl, err,
					    errlen);
	if (!ret)
		*enabled = true;
	return ret;
}

int serial_from_json(const json_t *j, struct serial_config *s, char *err,
		     size_t errlen)
{
	static const char *const fields[] = { "serial_out_path", "rate_limiter",
					      NULL };
	const char *path = NULL;
	char *copy = NULL;
	int ret;

	ret = json_check_fields(j, "serial", fields, err, errlen);
	if (ret)
		return ret;
	ret = json_get_string(j, "serial", "serial_out_path", false, &path, err,
			      errlen);
	if (ret < 0)
		return ret;
	if (path && !*path) {
		snprintf(err, errlen, "serial: field `serial_out_path` is empty");
		return -EINVAL;
	}
	ret = json_check_bucket_unsupported(json_object_get(j, "rate_limiter"),
					    "serial.rate_limiter", err, errlen);
	if (ret)
		return ret;
	if (json_set_str(&copy, path)) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	free(s->path);
	s->path = copy;
	s->mode = path ? SERIAL_FILE : SERIAL_STDIO;
	return 0;
}
