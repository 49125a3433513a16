// SPDX-License-Identifier: Apache-2.0
/* BootSource <-> struct boot_source_config. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_json.h"
#include "config/json_util.h"

#define WHAT "boot-source"

static const char *const fields[] = { "kernel_image_path", "initrd_path",
				      "boot_args", NULL };

int boot_source_from_json(const json_t *j, struct boot_source_config *b,
			  char *err, size_t errlen)
{
	const char *kernel = NULL, *initrd = NULL, *args = NULL;
	struct boot_source_config n = { 0 };
	int ret;

	ret = json_check_fields(j, WHAT, fields, err, errlen);
	if (ret)
		return ret;
	ret = json_get_string(j, WHAT, "kernel_image_path", true, &kernel, err,
			      errlen);
	if (ret < 0)
		return ret;
	if (!*kernel) {
		snprintf(err, errlen, "%s: field `kernel_image_path` is empty",
			 WHAT);
		return -EINVAL;
	}
	ret = json_get_string(j, WHAT, "initrd_path", false, &initrd, err,
			      errlen);
	if (ret < 0)
		return ret;
	ret = json_get_string(j, WHAT, "boot_args", false, &args, err, errlen);
	if (ret < 0)
		return ret;
	if (json_set_str(&n.kernel_image_path, kernel) ||
	    json_set_str(&n.initrd_path, initrd) ||
	    json_set_str(&n.boot_args, args)) {
		free(n.kernel_image_path);
		free(n.initrd_path);
		free(n.boot_args);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	boot_source_free(b);
	*b = n;
	return 0;
}

json_t *boot_source_to_json(const struct boot_source_config *b)
{
	json_t *o;

	if (!b->kernel_image_path)
		return json_null();
	o = json_pack("{s:s}", "kernel_image_path", b->kernel_image_path);
	if (o && b->initrd_path)
		json_object_set_new(o, "initrd_path",
				    json_string(b->initrd_path));
	if (o && b->boot_args)
		json_object_set_new(o, "boot_args", json_string(b->boot_args));
	return o;
}
