// SPDX-License-Identifier: Apache-2.0
/* MmdsConfig <-> struct mmds_config. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config/config_json.h"
#include "config/json_util.h"
#include "config/mmds_config.h"

#define WHAT "mmds-config"

int mmds_config_from_json(const json_t *j, struct mmds_config *out, char *err,
			  size_t errlen)
{
	static const char *const fields[] = { "version", "network_interfaces",
					      "ipv4_address", "imds_compat",
					      NULL };
	static const char *const versions[] = { "V1", "V2", NULL };
	struct mmds_config m = { .present = true,
				 .ipv4_addr = CONFIG_MMDS_DEFAULT_ADDR };
	const json_t *ifaces = json_object_get(j, "network_interfaces");
	const char *addr = NULL;
	int ret, version = MMDS_V1;
	size_t i;
	json_t *v;

	if ((ret = json_check_fields(j, WHAT, fields, err, errlen)) ||
	    (ret = json_get_enum(j, WHAT, "version", false, versions, false,
				 &version, err, errlen)) < 0 ||
	    (ret = json_get_string(j, WHAT, "ipv4_address", false, &addr, err,
				   errlen)) < 0 ||
	    (ret = json_get_bool(j, WHAT, "imds_compat", false, &m.imds_compat,
				 err, errlen)) < 0)
		return ret < 0 ? ret : -EINVAL;
	m.version = (enum mmds_version)version;
	if (!json_is_array(ifaces)) {
		snprintf(err, errlen,
			 "%s: field `network_interfaces` is required: a list of interface ids",
			 WHAT);
		return -EINVAL;
	}
	json_array_foreach(ifaces, i, v) {
		const char *id = json_string_value(v);

		if (!id || !*id || strlen(id) > CONFIG_ID_MAX) {
			snprintf(err, errlen,
				 "%s: `network_interfaces` holds interface ids of 1 to %d characters",
				 WHAT, CONFIG_ID_MAX);
			return -EINVAL;
		}
		if (m.nr_ifaces == CONFIG_MAX_NETS) {
			snprintf(err, errlen,
				 "%s: more than %d network interfaces",
				 WHAT, CONFIG_MAX_NETS);
			return -EINVAL;
		}
		snprintf(m.ifaces[m.nr_ifaces++], CONFIG_ID_MAX + 1, "%s", id);
	}
	if (addr && mmds_parse_address(addr, strlen(addr), &m.ipv4_addr)) {
		snprintf(err, errlen,
			 "The MMDS IPv4 address is not link local: %.64s.", addr);
		return -EINVAL;
	}
	*out = m;
	return 0;
}

json_t *mmds_config_to_json(const struct mmds_config *m)
{
	struct in_addr a = { .s_addr = htonl(m->ipv4_addr) };
	char addr[INET_ADDRSTRLEN];
	json_t *o, *ifaces;

	if (!m->present)
		return json_null();
	inet_ntop(AF_INET, &a, addr, sizeof(addr));
	ifaces = json_array();
	for (int i = 0; ifaces && i < m->nr_ifaces; i++)
		json_array_append_new(ifaces, json_string(m->ifaces[i]));
	o = json_pack("{s:s, s:o, s:s, s:b}", "version",
		      m->version == MMDS_V2 ? "V2" : "V1",
		      "network_interfaces", ifaces, "ipv4_address", addr,
		      "imds_compat", m->imds_compat);
	return o;
}
