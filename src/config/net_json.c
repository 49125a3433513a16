// SPDX-License-Identifier: Apache-2.0
/* NetworkInterface <-> struct net_config. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config/config_json.h"
#include "config/json_util.h"
#include "config/net_config.h"

#define fail(...)                                    \
	do {                                         \
		snprintf(err, errlen, __VA_ARGS__); \
		return -EINVAL;                      \
	} while (0)

int net_from_json(const json_t *j, const char *what, struct net_config *out,
		  char *err, size_t errlen)
{
	static const char *const fields[] = { "iface_id", "host_dev_name",
					      "guest_mac", "rx_rate_limiter",
					      "tx_rate_limiter", NULL };
	const char *id = NULL, *tap = NULL, *mac = NULL;
	struct net_config n = { 0 };
	int ret;

	if ((ret = json_check_fields(j, what, fields, err, errlen)) ||
	    (ret = json_get_string(j, what, "iface_id", true, &id, err,
				   errlen)) ||
	    (ret = json_get_string(j, what, "host_dev_name", true, &tap, err,
				   errlen)) ||
	    (ret = json_get_string(j, what, "guest_mac", false, &mac, err,
				   errlen)) < 0)
		return ret;
	if (!config_id_valid(id))
		fail("%s: field `iface_id` must be 1 to %d characters of A-Z, a-z, 0-9 and _",
		     what, CONFIG_ID_MAX);
	if (!*tap || strlen(tap) > CONFIG_IFNAME_MAX)
		fail("%s: field `host_dev_name` must be 1 to %d characters (a TAP device's name)",
		     what, CONFIG_IFNAME_MAX);
	if (mac) {
		if (mac_parse(mac, n.mac))
			fail("%s: field `guest_mac` '%s' is not a MAC address like 06:00:ac:10:00:02",
			     what, mac);
		n.has_mac = true;
	}
	snprintf(n.id, sizeof(n.id), "%s", id);
	snprintf(n.host_dev_name, sizeof(n.host_dev_name), "%s", tap);
	if ((ret = json_get_rate_limiter(json_object_get(j, "rx_rate_limiter"),
					 "rx_rate_limiter", &n.rx_rate_limiter,
					 err, errlen)) ||
	    (ret = json_get_rate_limiter(json_object_get(j, "tx_rate_limiter"),
					 "tx_rate_limiter", &n.tx_rate_limiter,
					 err, errlen)))
		return ret;
	*out = n;
	return 0;
}

static bool limits(const struct rate_limiter_config *rl)
{
	return rl->bandwidth.size || rl->ops.size;
}

json_t *net_to_json(const struct net_config *n)
{
	char mac[18];
	json_t *o;

	o = json_pack("{s:s, s:s}", "iface_id", n->id, "host_dev_name",
		      n->host_dev_name);
	if (o && n->has_mac) {
		mac_format(n->mac, mac);
		json_object_set_new(o, "guest_mac", json_string(mac));
	}
	if (o && limits(&n->rx_rate_limiter))
		json_object_set_new(o, "rx_rate_limiter",
				    rate_limiter_to_json(&n->rx_rate_limiter));
	if (o && limits(&n->tx_rate_limiter))
		json_object_set_new(o, "tx_rate_limiter",
				    rate_limiter_to_json(&n->tx_rate_limiter));
	return o;
}

int net_patch_from_json(const json_t *j, char id[CONFIG_ID_MAX + 1],
			struct rate_limiter_config *rx, bool *has_rx,
			struct rate_limiter_config *tx, bool *has_tx, char *err,
			size_t errlen)
{
	static const char *const fields[] = { "iface_id", "rx_rate_limiter",
					      "tx_rate_limiter", NULL };
	const char *s = NULL;
	const json_t *v;
	int ret;

	if ((ret = json_check_fields(j, "network-interface", fields, err,
				     errlen)) ||
	    (ret = json_get_string(j, "network-interface", "iface_id", true, &s,
				   err, errlen)))
		return ret;
	if (!config_id_valid(s))
		fail("network-interface: field `iface_id` must be 1 to %d characters of A-Z, a-z, 0-9 and _",
		     CONFIG_ID_MAX);
	snprintf(id, CONFIG_ID_MAX + 1, "%s", s);
	memset(rx, 0, sizeof(*rx));
	memset(tx, 0, sizeof(*tx));
	v = json_object_get(j, "rx_rate_limiter");
	*has_rx = v && !json_is_null(v);
	if (*has_rx && (ret = json_get_rate_limiter(v, "rx_rate_limiter", rx,
						    err, errlen)))
		return ret;
	v = json_object_get(j, "tx_rate_limiter");
	*has_tx = v && !json_is_null(v);
	if (*has_tx && (ret = json_get_rate_limiter(v, "tx_rate_limiter", tx,
						    err, errlen)))
		return ret;
	return 0;
}
