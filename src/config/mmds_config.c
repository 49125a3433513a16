// SPDX-License-Identifier: Apache-2.0
/* The metadata service's configuration: the --mmds flag and its checks. */
#include "config/mmds_config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define fail(...)                                    \
	do {                                         \
		snprintf(err, errlen, __VA_ARGS__); \
		return -EINVAL;                      \
	} while (0)

/* Link-local, without its first and last /24 (RFC 3927 2.1). */
static bool link_local(uint32_t ip)
{
	return (ip >> 16) == 0xa9fe && ((ip >> 8) & 0xff) != 0 &&
	       ((ip >> 8) & 0xff) != 255;
}

int mmds_parse_address(const char *s, size_t len, uint32_t *out)
{
	char buf[INET_ADDRSTRLEN];
	struct in_addr a;
	uint32_t ip;

	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, &a) != 1)
		return -EINVAL;
	ip = ntohl(a.s_addr);
	if (!link_local(ip))
		return -EINVAL;
	*out = ip;
	return 0;
}

/* Splits @v (@len bytes) at '+' into @m's interfaces. */
static int parse_ifaces(const char *v, size_t len, struct mmds_config *m,
			char *err, size_t errlen)
{
	const char *end = v + len;

	while (v <= end) {
		const char *plus = memchr(v, '+', (size_t)(end - v));
		size_t n = (size_t)((plus ? plus : end) - v);

		if (n == 0)
			fail("mmds: an empty interface id in net=");
		if (n > CONFIG_ID_MAX)
			fail("mmds: interface id '%.*s' is longer than %d characters",
			     (int)n, v, CONFIG_ID_MAX);
		if (m->nr_ifaces == CONFIG_MAX_NETS)
			fail("mmds: more than %d interfaces in net=",
			     CONFIG_MAX_NETS);
		memcpy(m->ifaces[m->nr_ifaces], v, n);
		m->ifaces[m->nr_ifaces++][n] = '\0';
		if (!plus)
			break;
		v = plus + 1;
	}
	return 0;
}

int mmds_config_parse(const char *spec, struct mmds_config *m, char *err,
		      size_t errlen)
{
	bool seen_net = false, seen_ver = false, seen_addr = false;
	bool seen_compat = false;
	const char *p = spec;

	memset(m, 0, sizeof(*m));
	m->ipv4_addr = CONFIG_MMDS_DEFAULT_ADDR;
	if (!spec || !*spec)
		fail("empty mmds description");
	while (*p) {
		const char *end = strchrnul(p, ',');
		const char *eq = memchr(p, '=', (size_t)(end - p));
		const char *v;
		size_t klen, vlen;

		if (!eq)
			fail("mmds option '%.*s' is not key=value",
			     (int)(end - p), p);
		klen = (size_t)(eq - p);
		v = eq + 1;
		vlen = (size_t)(end - v);
#define KEY(name) (klen == sizeof(name) - 1 && !strncmp(p, name, klen))
		if (KEY("net") && !seen_net) {
			if (parse_ifaces(v, vlen, m, err, errlen))
				return -EINVAL;
			seen_net = true;
		} else if (KEY("version") && !seen_ver) {
			if (vlen == 2 && !strncasecmp(v, "V1", 2))
				m->version = MMDS_V1;
			else if (vlen == 2 && !strncasecmp(v, "V2", 2))
				m->version = MMDS_V2;
			else
				fail("mmds version '%.*s' is not V1 or V2",
				     (int)vlen, v);
			seen_ver = true;
		} else if (KEY("address") && !seen_addr) {
			if (mmds_parse_address(v, vlen, &m->ipv4_addr))
				fail("mmds address '%.*s' is not a link-local IPv4 address (169.254.1.0 to 169.254.254.255)",
				     (int)vlen, v);
			seen_addr = true;
		} else if (KEY("imds_compat") && !seen_compat) {
			if (vlen == 2 && !strncmp(v, "on", 2))
				m->imds_compat = true;
			else if (!(vlen == 3 && !strncmp(v, "off", 3)))
				fail("mmds imds_compat takes on or off, not '%.*s'",
				     (int)vlen, v);
			seen_compat = true;
		} else {
			fail("mmds option '%.*s' is unknown or given twice (known: net, version, address, imds_compat)",
			     (int)klen, p);
		}
#undef KEY
		p = *end ? end + 1 : end;
		if (*end && !*p)
			fail("mmds description ends with a comma");
	}
	if (!seen_net)
		fail("mmds has no net=... (the interfaces that reach it)");
	m->present = true;
	return 0;
}

int vm_config_validate_mmds(const struct vm_config *cfg, char *err,
			    size_t errlen)
{
	const struct mmds_config *m = &cfg->mmds;
	uint32_t ip = m->ipv4_addr;
	char addr[INET_ADDRSTRLEN];

	if (m->nr_ifaces <= 0)
		fail("The list of network interface IDs that allow forwarding MMDS requests is empty.");
	if (!link_local(ip)) {
		struct in_addr a = { .s_addr = htonl(ip) };

		inet_ntop(AF_INET, &a, addr, sizeof(addr));
		fail("The MMDS IPv4 address is not link local: %s.", addr);
	}
	for (int i = 0; i < m->nr_ifaces; i++) {
		int k;

		for (k = 0; k < i && strcmp(m->ifaces[k], m->ifaces[i]); k++)
			;
		if (k < i)
			fail("MMDS: network interface '%s' is named twice.",
			     m->ifaces[i]);
		for (k = 0; k < cfg->nr_nets && strcmp(cfg->nets[k].id,
							m->ifaces[i]);
		     k++)
			;
		if (k == cfg->nr_nets)
			fail("The list of network interface IDs provided contains at least one ID that does not correspond to any existing network interface: '%s'.",
			     m->ifaces[i]);
	}
	return 0;
}

bool vm_config_mmds_on(const struct vm_config *cfg, const char *id)
{
	if (!cfg->mmds.present)
		return false;
	for (int i = 0; i < cfg->mmds.nr_ifaces; i++)
		if (!strcmp(cfg->mmds.ifaces[i], id))
			return true;
	return false;
}
