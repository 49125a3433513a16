// SPDX-License-Identifier: Apache-2.0
/* The whole --config-file document and FullVmConfiguration. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_json.h"
#include "config/json_util.h"

#define fail(...)                                    \
	do {                                         \
		snprintf(err, errlen, __VA_ARGS__); \
		ret = -EINVAL;                       \
		goto out;                            \
	} while (0)

static const char *const fields[] = {
	"boot-source", "drives", "machine-config", "entropy", "serial",
	"logger", "metrics", "network-interfaces", "vsock", "mmds-config",
	"balloon",
	/* Features figment does not have yet: accepted when null or empty. */
	"pmem",
	"cpu-config", "memory-hotplug", NULL
};

/* The unsupported sections: an empty array or null means "none". */
static int check_unsupported(const json_t *doc, char *err, size_t errlen)
{
	static const char *const lists[] = { "pmem", NULL };
	static const char *const objs[] = { "cpu-config",
					    "memory-hotplug", NULL };

	for (int i = 0; lists[i]; i++) {
		json_t *v = json_object_get(doc, lists[i]);

		if (!v || json_is_null(v))
			continue;
		if (!json_is_array(v)) {
			snprintf(err, errlen, "field `%s` must be an array",
				 lists[i]);
			return -EINVAL;
		}
		if (json_array_size(v)) {
			snprintf(err, errlen,
				 "`%s` is not supported by figment yet", lists[i]);
			return -EINVAL;
		}
	}
	for (int i = 0; objs[i]; i++) {
		json_t *v = json_object_get(doc, objs[i]);

		if (v && !json_is_null(v)) {
			snprintf(err, errlen,
				 "`%s` is not supported by figment yet", objs[i]);
			return -EINVAL;
		}
	}
	return 0;
}

/* A section that may be absent or null. */
static const json_t *section(const json_t *doc, const char *key)
{
	const json_t *v = json_object_get(doc, key);

	return v && !json_is_null(v) ? v : NULL;
}

static int drives_from_json(const json_t *arr, struct vm_config *cfg,
			    char *err, size_t errlen)
{
	size_t i;
	json_t *v;

	if (!json_is_array(arr)) {
		snprintf(err, errlen, "field `drives` must be an array");
		return -EINVAL;
	}
	if (json_array_size(arr) > CONFIG_MAX_DRIVES) {
		snprintf(err, errlen, "field `drives` has more than %d drives",
			 CONFIG_MAX_DRIVES);
		return -EINVAL;
	}
	/* The document's drives replace the ones given before (CLI). */
	for (int k = 0; k < cfg->nr_drives; k++)
		drive_config_free(&cfg->drives[k]);
	cfg->nr_drives = 0;
	json_array_foreach(arr, i, v) {
		char what[32];
		int ret;

		snprintf(what, sizeof(what), "drives[%zu]", i);
		ret = drive_from_json(v, what, &cfg->drives[cfg->nr_drives], err,
				      errlen);
		if (ret)
			return ret;
		cfg->nr_drives++;
	}
	return 0;
}

static int nets_from_json(const json_t *arr, struct vm_config *cfg, char *err,
			  size_t errlen)
{
	size_t i;
	json_t *v;

	if (!json_is_array(arr) || json_array_size(arr) > CONFIG_MAX_NETS) {
		snprintf(err, errlen,
			 "field `network-interfaces` must be an array of at most %d interfaces",
			 CONFIG_MAX_NETS);
		return -EINVAL;
	}
	/* the document's interfaces replace the ones given before (CLI) */
	cfg->nr_nets = 0;
	json_array_foreach(arr, i, v) {
		char what[48];
		int ret;

		snprintf(what, sizeof(what), "network-interfaces[%zu]", i);
		ret = net_from_json(v, what, &cfg->nets[cfg->nr_nets], err,
				    errlen);
		if (ret)
			return ret;
		cfg->nr_nets++;
	}
	return 0;
}

int config_from_json(const char *text, size_t len, struct vm_config *cfg,
		     char *err, size_t errlen)
{
	struct vm_config n;
	const json_t *v;
	json_t *doc;
	int ret;

	doc = json_decode(text, len, err, errlen);
	if (!doc)
		return -EINVAL;
	ret = vm_config_copy(&n, cfg);
	if (ret) {
		json_decref(doc);
		snprintf(err, errlen, "out of memory");
		return ret;
	}
	ret = json_check_fields(doc, "config file", fields, err, errlen);
	if (ret)
		goto out;
	ret = check_unsupported(doc, err, errlen);
	if (ret)
		goto out;
	if (!section(doc, "boot-source"))
		fail("config file: missing field `boot-source`");
	ret = boot_source_from_json(section(doc, "boot-source"), &n.boot, err,
				    errlen);
	if (ret)
		goto out;
	if ((v = section(doc, "machine-config"))) {
		ret = machine_config_from_json(v, &n.machine, false, err, errlen);
		if (ret)
			goto out;
	}
	if ((v = section(doc, "drives"))) {
		ret = drives_from_json(v, &n, err, errlen);
		if (ret)
			goto out;
	}
	if ((v = section(doc, "network-interfaces"))) {
		ret = nets_from_json(v, &n, err, errlen);
		if (ret)
			goto out;
	}
	if ((v = section(doc, "vsock"))) {
		ret = vsock_from_json(v, &n.vsock, err, errlen);
		if (ret)
			goto out;
	}
	if ((v = section(doc, "balloon"))) {
		ret = balloon_from_json(v, &n.balloon, err, errlen);
		if (ret)
			goto out;
	}
	if ((v = section(doc, "mmds-config"))) {
		ret = mmds_config_from_json(v, &n.mmds, err, errlen);
		if (ret)
			goto out;
	}
	if ((v = section(doc, "entropy"))) {
		ret = entropy_from_json(v, &n.entropy, &n.entropy_rate_limiter,
					err, errlen);
		if (ret)
			goto out;
	}
	if ((v = section(doc, "serial"))) {
		ret = serial_from_json(v, &n.serial, err, errlen);
		if (ret)
			goto out;
	}
	if ((v = section(doc, "logger"))) {
		ret = logger_from_json(v, &n.logger, err, errlen);
		if (ret)
			goto out;
	}
	if ((v = section(doc, "metrics"))) {
		ret = metrics_from_json(v, &n.metrics, err, errlen);
		if (ret)
			goto out;
	}
	ret = vm_config_validate(&n, err, errlen);
out:
	json_decref(doc);
	if (ret) {
		vm_config_free(&n);
		return ret;
	}
	vm_config_free(cfg);
	*cfg = n;
	return 0;
}

json_t *vm_config_to_json_obj(const struct vm_config *cfg)
{
	json_t *o = json_object();
	json_t *drives = json_array();
	json_t *nets = json_array();

	if (!o || !drives || !nets) {
		json_decref(o);
		json_decref(drives);
		json_decref(nets);
		return NULL;
	}
	for (int i = 0; i < cfg->nr_drives; i++)
		json_array_append_new(drives, drive_to_json(&cfg->drives[i]));
	for (int i = 0; i < cfg->nr_nets; i++)
		json_array_append_new(nets, net_to_json(&cfg->nets[i]));
	/* Firecracker's key order; absent resources are null. */
	json_object_set_new(o, "balloon", balloon_to_json(&cfg->balloon));
	json_object_set_new(o, "drives", drives);
	json_object_set_new(o, "boot-source", boot_source_to_json(&cfg->boot));
	json_object_set_new(o, "cpu-config", json_null());
	json_object_set_new(o, "logger", logger_to_json(&cfg->logger));
	json_object_set_new(o, "machine-config",
			    machine_config_to_json(&cfg->machine));
	json_object_set_new(o, "metrics", metrics_to_json(&cfg->metrics));
	json_object_set_new(o, "memory-hotplug", json_null());
	json_object_set_new(o, "mmds-config", mmds_config_to_json(&cfg->mmds));
	json_object_set_new(o, "network-interfaces", nets);
	json_object_set_new(o, "pmem", json_array());
	json_object_set_new(o, "vsock", vsock_to_json(&cfg->vsock));
	json_object_set_new(o, "entropy",
			    !cfg->entropy ? json_null() :
			    cfg->entropy_rate_limiter.bandwidth.size ||
					    cfg->entropy_rate_limiter.ops.size ?
			    json_pack("{s:o}", "rate_limiter",
				      rate_limiter_to_json(&cfg->entropy_rate_limiter)) :
			    json_object());
	/* Not in FullVmConfiguration, but the config file takes it. */
	if (cfg->serial.mode == SERIAL_FILE && cfg->serial.path)
		json_object_set_new(o, "serial",
				    json_pack("{s:s}", "serial_out_path",
					      cfg->serial.path));
	return o;
}

char *vm_config_to_json(const struct vm_config *cfg)
{
	json_t *o = vm_config_to_json_obj(cfg);
	char *s;

	if (!o)
		return NULL;
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}
