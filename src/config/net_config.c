// SPDX-License-Identifier: Apache-2.0
#include "config/net_config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config/config_json.h"

int mac_parse(const char *s, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++) {
		unsigned int hi, lo;
		char c;

		if (sscanf(s, "%1x%1x", &hi, &lo) != 2 ||
		    !strchr("0123456789abcdefABCDEF", s[0]) ||
		    !strchr("0123456789abcdefABCDEF", s[1]))
			return -EINVAL;
		mac[i] = (uint8_t)(hi << 4 | lo);
		c = s[2];
		if (i < 5 ? c != ':' : c != '\0')
			return -EINVAL;
		s += 3;
	}
	return 0;
}

void mac_format(const uint8_t mac[6], char buf[18])
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1],
		 mac[2], mac[3], mac[4], mac[5]);
}

void net_config_mac(const struct net_config *n, uint8_t mac[6])
{
	uint32_t h = 2166136261u; /* FNV-1a of the id */

	if (n->has_mac) {
		memcpy(mac, n->mac, 6);
		return;
	}
	for (const char *p = n->id; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	/* 06: locally administered, unicast (Firecracker's examples use it) */
	mac[0] = 0x06;
	mac[1] = 0x00;
	mac[2] = (uint8_t)(h >> 24);
	mac[3] = (uint8_t)(h >> 16);
	mac[4] = (uint8_t)(h >> 8);
	mac[5] = (uint8_t)h;
}

#define fail(...)                                    \
	do {                                         \
		snprintf(err, errlen, __VA_ARGS__); \
		memset(n, 0, sizeof(*n));            \
		return -EINVAL;                      \
	} while (0)

int net_config_parse(const char *spec, struct net_config *n, char *err,
		     size_t errlen)
{
	bool seen_id = false, seen_tap = false, seen_mac = false;
	const char *p = spec;

	memset(n, 0, sizeof(*n));
	if (!spec || !*spec)
		fail("empty network interface description");
	while (*p) {
		const char *end = strchrnul(p, ',');
		const char *eq = memchr(p, '=', (size_t)(end - p));
		char val[CONFIG_ID_MAX + 1];
		size_t klen, vlen;

		if (!eq)
			fail("network option '%.*s' is not key=value",
			     (int)(end - p), p);
		klen = (size_t)(eq - p);
		vlen = (size_t)(end - eq - 1);
		if (vlen >= sizeof(val))
			fail("network option '%.*s': value too long", (int)klen, p);
		memcpy(val, eq + 1, vlen);
		val[vlen] = '\0';
		if (klen == 2 && !strncmp(p, "id", 2) && !seen_id) {
			if (!config_id_valid(val))
				fail("network interface id '%s': use 1 to %d characters of A-Z, a-z, 0-9 and _",
				     val, CONFIG_ID_MAX);
			strcpy(n->id, val);
			seen_id = true;
		} else if (klen == 3 && !strncmp(p, "tap", 3) && !seen_tap) {
			if (vlen == 0 || vlen > CONFIG_IFNAME_MAX)
				fail("tap '%s': a device name is 1 to %d characters",
				     val, CONFIG_IFNAME_MAX);
			strcpy(n->host_dev_name, val);
			seen_tap = true;
		} else if (klen == 3 && !strncmp(p, "mac", 3) && !seen_mac) {
			if (mac_parse(val, n->mac))
				fail("mac '%s' is not a MAC address like 06:00:ac:10:00:02",
				     val);
			n->has_mac = true;
			seen_mac = true;
		} else {
			fail("network option '%.*s' is unknown or given twice (known: id, tap, mac)",
			     (int)klen, p);
		}
		p = *end ? end + 1 : end;
		if (*end && !*p)
			fail("network description ends with a comma");
	}
	if (!seen_id)
		fail("network interface has no id (id=...)");
	if (!seen_tap)
		fail("network interface '%s' has no tap=... (the TAP device to use)",
		     n->id);
	return 0;
}
