// SPDX-License-Identifier: Apache-2.0
/* Metrics <-> struct metrics_config, and applying it to util/metrics. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "config/config_json.h"
#include "config/json_util.h"
#include "util/metrics.h"

int metrics_from_json(const json_t *j, struct metrics_config *m, char *err,
		      size_t errlen)
{
	static const char *const fields[] = { "metrics_path", "emit_id",
					      "properties", NULL };
	struct metrics_config n = { 0 };
	const char *path;
	json_t *props;
	int ret;

	ret = json_check_fields(j, "metrics", fields, err, errlen);
	if (ret)
		return ret;
	ret = json_get_string(j, "metrics", "metrics_path", true, &path, err,
			      errlen);
	if (ret)
		return ret;
	if (!*path) {
		snprintf(err, errlen, "metrics: field `metrics_path` is empty");
		return -EINVAL;
	}
	ret = json_get_bool(j, "metrics", "emit_id", false, &n.emit_id, err,
			    errlen);
	if (ret < 0)
		return ret;
	props = json_object_get(j, "properties");
	if (props && !json_is_null(props)) {
		if (!json_is_object(props)) {
			snprintf(err, errlen,
				 "metrics: field `properties` must be an object");
			return -EINVAL;
		}
		if (json_object_size(props)) {
			snprintf(err, errlen,
				 "metrics: field `properties` is not supported by figment yet");
			return -EINVAL;
		}
	}
	if (json_set_str(&n.metrics_path, path)) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	free(m->metrics_path);
	*m = n;
	return 0;
}

json_t *metrics_to_json(const struct metrics_config *m)
{
	if (!m->metrics_path)
		return json_null();
	return json_pack("{s:s, s:b}", "metrics_path", m->metrics_path,
			 "emit_id", m->emit_id);
}

int metrics_config_apply(const struct metrics_config *m, char *err,
			 size_t errlen)
{
	return m->metrics_path ? metrics_set_path(m->metrics_path, err, errlen) :
				 0;
}
