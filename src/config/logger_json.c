// SPDX-License-Identifier: Apache-2.0
/* Logger <-> struct logger_config, and applying it to util/log. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_json.h"
#include "config/json_util.h"
#include "util/log.h"

static const char *const fields[] = { "level", "log_path", "show_level",
				      "show_log_origin", "module", NULL };
/* The contract's names; matched without regard to case. */
static const char *const levels[] = { "Error", "Warning", "Info", "Debug",
				      "Trace", "Off", NULL };

int logger_from_json(const json_t *j, struct logger_config *l, char *err,
		     size_t errlen)
{
	struct logger_config n = { .set = true };
	const char *path = NULL, *module = NULL;
	int level = 2; /* Info, the contract's default */
	int ret;

	ret = json_check_fields(j, "logger", fields, err, errlen);
	if (ret)
		return ret;
	ret = json_get_enum(j, "logger", "level", false, levels, true, &level,
			    err, errlen);
	if (ret < 0)
		return ret;
	ret = json_get_string(j, "logger", "log_path", false, &path, err,
			      errlen);
	if (ret < 0)
		return ret;
	if (path && !*path) {
		snprintf(err, errlen, "logger: field `log_path` is empty");
		return -EINVAL;
	}
	ret = json_get_bool(j, "logger", "show_level", false, &n.show_level,
			    err, errlen);
	if (ret < 0)
		return ret;
	ret = json_get_bool(j, "logger", "show_log_origin", false,
			    &n.show_log_origin, err, errlen);
	if (ret < 0)
		return ret;
	ret = json_get_string(j, "logger", "module", false, &module, err,
			      errlen);
	if (ret < 0)
		return ret;
	strcpy(n.level, levels[level]);
	if (json_set_str(&n.log_path, path) || json_set_str(&n.module, module)) {
		free(n.log_path);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	free(l->log_path);
	free(l->module);
	*l = n;
	return 0;
}

json_t *logger_to_json(const struct logger_config *l)
{
	json_t *o;

	if (!l->set)
		return json_null();
	o = json_pack("{s:s, s:b, s:b}", "level", l->level, "show_level",
		      l->show_level, "show_log_origin", l->show_log_origin);
	if (o && l->log_path)
		json_object_set_new(o, "log_path", json_string(l->log_path));
	if (o && l->module)
		json_object_set_new(o, "module", json_string(l->module));
	return o;
}

int logger_config_apply(const struct logger_config *l, char *err,
			size_t errlen)
{
	enum log_level level = LOG_INFO;
	int ret;

	if (!l->set)
		return 0;
	if (l->log_path) {
		ret = log_set_path(l->log_path, err, errlen);
		if (ret)
			return ret;
	}
	/* util/log has no "off" or "trace": the nearest levels stand in. */
	if (!strcmp(l->level, "Error") || !strcmp(l->level, "Off"))
		level = LOG_ERROR;
	else if (!strcmp(l->level, "Warning"))
		level = LOG_WARN;
	else if (!strcmp(l->level, "Debug") || !strcmp(l->level, "Trace"))
		level = LOG_DEBUG;
	log_set_level(level);
	return 0;
}
