// SPDX-License-Identifier: Apache-2.0
#include "config/net_config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
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

/* A port 1..65535 from [@s, @end); 0 when it is not one. */
static uint16_t port_parse(const char *s, const char *end)
{
	unsigned long v = 0;

	if (s == end || end - s > 5)
		return 0;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9')
			return 0;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	return v <= 65535 ? (uint16_t)v : 0;
}

int net_hostfwd_parse(const char *s, struct net_hostfwd *f)
{
	const char *colon, *dash, *gcolon;
	char addr[INET_ADDRSTRLEN];
	struct in_addr a;

	memset(f, 0, sizeof(*f));
	f->host_addr = htonl(INADDR_LOOPBACK);
	if (!strncmp(s, "tcp:", 4))
		s += 4;
	else if (!strncmp(s, "udp:", 4))
		s += 4, f->udp = true;
	else if (*s == ':')
		s++; /* QEMU's ":hostport-..." is TCP */
	colon = strchr(s, ':');
	dash = strchr(s, '-');
	if (!colon || !dash || dash < colon)
		return -EINVAL;
	if (colon > s) {
		if ((size_t)(colon - s) >= sizeof(addr))
			return -EINVAL;
		memcpy(addr, s, (size_t)(colon - s));
		addr[colon - s] = '\0';
		if (inet_pton(AF_INET, addr, &a) != 1)
			return -EINVAL;
		f->host_addr = a.s_addr;
	}
	f->host_port = port_parse(colon + 1, dash);
	gcolon = strchr(dash + 1, ':');
	if (!gcolon)
		return -EINVAL;
	/* the guest's address, when given, must be the one it has */
	if (gcolon > dash + 1 &&
	    ((size_t)(gcolon - dash - 1) != strlen(NET_USER_GUEST_IP) ||
	     strncmp(dash + 1, NET_USER_GUEST_IP, strlen(NET_USER_GUEST_IP))))
		return -EINVAL;
	f->guest_port = port_parse(gcolon + 1, gcolon + 1 + strlen(gcolon + 1));
	return f->host_port && f->guest_port ? 0 : -EINVAL;
}

void net_hostfwd_format(const struct net_hostfwd *f, char buf[48])
{
	struct in_addr a = { .s_addr = f->host_addr };
	char addr[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &a, addr, sizeof(addr));
	snprintf(buf, 48, "%s:%s:%u-:%u", f->udp ? "udp" : "tcp", addr,
		 f->host_port, f->guest_port);
}

int net_backend_parse(const char *s, enum net_backend_kind *out)
{
	if (!strcmp(s, "on") || !strcmp(s, "passt"))
		*out = NET_BACKEND_PASST;
	else if (!strcmp(s, "slirp"))
		*out = NET_BACKEND_SLIRP;
	else
		return -EINVAL;
	return 0;
}

const char *net_backend_name(enum net_backend_kind k)
{
	return k == NET_BACKEND_PASST ? "passt" :
	       k == NET_BACKEND_SLIRP ? "slirp" : "tap";
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
	bool seen_user = false;
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
		} else if (klen == 4 && !strncmp(p, "user", 4) && !seen_user) {
			if (net_backend_parse(val, &n->backend))
				fail("user '%s': say user=on (the default backend, passt), user=passt or user=slirp",
				     val);
			seen_user = true;
		} else if (klen == 7 && !strncmp(p, "hostfwd", 7)) {
			if (n->nr_hostfwd == CONFIG_MAX_HOSTFWDS)
				fail("at most %d hostfwd=... per interface",
				     CONFIG_MAX_HOSTFWDS);
			if (net_hostfwd_parse(val, &n->hostfwd[n->nr_hostfwd]))
				fail("hostfwd '%s': write [tcp|udp]:[hostaddr]:hostport-[%s]:guestport",
				     val, NET_USER_GUEST_IP);
			n->nr_hostfwd++;
		} else {
			fail("network option '%.*s' is unknown or given twice (known: id, tap, mac, user, hostfwd)",
			     (int)klen, p);
		}
		p = *end ? end + 1 : end;
		if (*end && !*p)
			fail("network description ends with a comma");
	}
	if (!seen_id)
		fail("network interface has no id (id=...)");
	if (seen_tap == seen_user)
		fail("network interface '%s' needs either tap=... (a TAP device) or user=on (user-mode networking)",
		     n->id);
	if (n->nr_hostfwd && !seen_user)
		fail("network interface '%s': hostfwd=... is for user=on interfaces",
		     n->id);
	return 0;
}
