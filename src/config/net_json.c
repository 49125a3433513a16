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

/* figment's "user_net": {"backend": "passt" | "slirp", "hostfwd": [...]},
 * a user-mode interface (no Firecracker equivalent). */
static int user_net_from_json(const json_t *u, struct net_config *n,
			      char *err, size_t errlen)
{
	static const char *const fields[] = { "backend", "hostfwd", NULL };
	const char *backend = NULL;
	const json_t *fwds, *f;
	size_t i;
	int ret;

	if (!json_is_object(u))
		fail("user_net: must be an object like {\"backend\": \"passt\"}");
	if ((ret = json_check_fields(u, "user_net", fields, err, errlen)) ||
	    (ret = json_get_string(u, "user_net", "backend", false, &backend,
				   err, errlen)) < 0)
		return ret;
	n->backend = NET_BACKEND_PASST;
	if (backend && net_backend_parse(backend, &n->backend))
		fail("user_net: field `backend` is \"passt\" or \"slirp\", not '%s'",
		     backend);
	fwds = json_object_get(u, "hostfwd");
	if (!fwds)
		return 0;
	if (!json_is_array(fwds) || json_array_size(fwds) > CONFIG_MAX_HOSTFWDS)
		fail("user_net: field `hostfwd` is a list of at most %d strings",
		     CONFIG_MAX_HOSTFWDS);
	json_array_foreach(fwds, i, f) {
		if (!json_is_string(f) ||
		    net_hostfwd_parse(json_string_value(f), &n->hostfwd[i]))
			fail("user_net: hostfwd %zu: write \"[tcp|udp]:[hostaddr]:hostport-[%s]:guestport\"",
			     i, NET_USER_GUEST_IP);
		n->nr_hostfwd++;
	}
	return 0;
}

int net_from_json(const json_t *j, const char *what, struct net_config *out,
		  char *err, size_t errlen)
{
	static const char *const fields[] = { "iface_id", "host_dev_name",
					      "guest_mac", "rx_rate_limiter",
					      "tx_rate_limiter", "user_net",
					      NULL };
	const char *id = NULL, *tap = NULL, *mac = NULL;
	const json_t *user = json_object_get(j, "user_net");
	struct net_config n = { 0 };
	int ret;

	if ((ret = json_check_fields(j, what, fields, err, errlen)) ||
	    (ret = json_get_string(j, what, "iface_id", true, &id, err,
				   errlen)) ||
	    (ret = json_get_string(j, what, "host_dev_name", !user, &tap, err,
				   errlen)) < 0 ||
	    (ret = json_get_string(j, what, "guest_mac", false, &mac, err,
				   errlen)) < 0)
		return ret;
	if (!config_id_valid(id))
		fail("%s: field `iface_id` must be 1 to %d characters of A-Z, a-z, 0-9 and _",
		     what, CONFIG_ID_MAX);
	if (user && tap)
		fail("%s: give `host_dev_name` (a TAP) or `user_net` (user-mode networking), not both",
		     what);
	if (user && (ret = user_net_from_json(user, &n, err, errlen)))
		return ret;
	if (tap && (!*tap || strlen(tap) > CONFIG_IFNAME_MAX))
		fail("%s: field `host_dev_name` must be 1 to %d characters (a TAP device's name)",
		     what, CONFIG_IFNAME_MAX);
	if (mac) {
		if (mac_parse(mac, n.mac))
			fail("%s: field `guest_mac` '%s' is not a MAC address like 06:00:ac:10:00:02",
			     what, mac);
		n.has_mac = true;
	}
	snprintf(n.id, sizeof(n.id), "%s", id);
	snprintf(n.host_dev_name, sizeof(n.host_dev_name), "%s", tap ? tap : "");
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

	o = json_pack("{s:s}", "iface_id", n->id);
	if (o && n->backend == NET_BACKEND_TAP)
		json_object_set_new(o, "host_dev_name",
				    json_string(n->host_dev_name));
	if (o && n->backend != NET_BACKEND_TAP) {
		json_t *fwds = json_array();
		char buf[48];

		for (int i = 0; fwds && i < n->nr_hostfwd; i++) {
			net_hostfwd_format(&n->hostfwd[i], buf);
			json_array_append_new(fwds, json_string(buf));
		}
		json_object_set_new(o, "user_net",
				    json_pack("{s:s, s:o*}", "backend",
					      net_backend_name(n->backend),
					      "hostfwd", fwds));
	}
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
