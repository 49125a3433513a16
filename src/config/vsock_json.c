// SPDX-License-Identifier: Apache-2.0
/* Vsock <-> struct vsock_config. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config/config_json.h"
#include "config/json_util.h"

int vsock_from_json(const json_t *j, struct vsock_config *out, char *err,
		    size_t errlen)
{
	static const char *const fields[] = { "guest_cid", "uds_path",
					      "vsock_id", NULL };
	struct vsock_config v = { .present = true };
	const char *uds = NULL, *id = NULL;
	uint64_t cid = 0;
	int ret;

	if ((ret = json_check_fields(j, "vsock", fields, err, errlen)) ||
	    (ret = json_get_uint(j, "vsock", "guest_cid", true, 0, UINT32_MAX,
				 &cid, err, errlen)) ||
	    (ret = json_get_string(j, "vsock", "uds_path", true, &uds, err,
				   errlen)) ||
	    (ret = json_get_string(j, "vsock", "vsock_id", false, &id, err,
				   errlen)) < 0)
		return ret < 0 ? ret : -EINVAL;
	if (cid < CONFIG_VSOCK_MIN_CID || cid == UINT32_MAX) {
		snprintf(err, errlen,
			 "vsock: field `guest_cid` must be 3 to %u (0 to 2 are the hypervisor, loopback and host), not %llu",
			 UINT32_MAX - 1, (unsigned long long)cid);
		return -EINVAL;
	}
	if (!*uds || strlen(uds) > CONFIG_UDS_PATH_MAX) {
		snprintf(err, errlen,
			 "vsock: field `uds_path` must be 1 to %d bytes (a Unix socket's sun_path)",
			 CONFIG_UDS_PATH_MAX);
		return -EINVAL;
	}
	if (id && strlen(id) > CONFIG_ID_MAX) {
		snprintf(err, errlen,
			 "vsock: field `vsock_id` is longer than %d characters",
			 CONFIG_ID_MAX);
		return -EINVAL;
	}
	v.guest_cid = (uint32_t)cid;
	snprintf(v.uds_path, sizeof(v.uds_path), "%s", uds);
	if (id)
		snprintf(v.vsock_id, sizeof(v.vsock_id), "%s", id);
	*out = v;
	return 0;
}

json_t *vsock_to_json(const struct vsock_config *v)
{
	json_t *o;

	if (!v->present)
		return json_null();
	o = json_pack("{s:I, s:s}", "guest_cid", (json_int_t)v->guest_cid,
		      "uds_path", v->uds_path);
	if (o && v->vsock_id[0])
		json_object_set_new(o, "vsock_id", json_string(v->vsock_id));
	return o;
}
