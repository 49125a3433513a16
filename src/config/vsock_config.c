// SPDX-License-Identifier: Apache-2.0
/* The --vsock command-line flag. */
#include "config/vsock_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define fail(...)                                    \
	do {                                         \
		snprintf(err, errlen, __VA_ARGS__); \
		memset(v, 0, sizeof(*v));            \
		return -EINVAL;                      \
	} while (0)

int vsock_config_parse(const char *spec, struct vsock_config *v, char *err,
		       size_t errlen)
{
	bool seen_cid = false, seen_uds = false;
	const char *p = spec;

	memset(v, 0, sizeof(*v));
	if (!spec || !*spec)
		fail("empty vsock description");
	while (*p) {
		const char *end = strchrnul(p, ',');
		const char *eq = memchr(p, '=', (size_t)(end - p));
		size_t klen, vlen;

		if (!eq)
			fail("vsock option '%.*s' is not key=value",
			     (int)(end - p), p);
		klen = (size_t)(eq - p);
		vlen = (size_t)(end - eq - 1);
		if (klen == 3 && !strncmp(p, "cid", 3) && !seen_cid) {
			char num[16], *e;
			unsigned long long c;

			if (vlen == 0 || vlen >= sizeof(num))
				fail("vsock cid '%.*s' is not a number",
				     (int)vlen, eq + 1);
			memcpy(num, eq + 1, vlen);
			num[vlen] = '\0';
			errno = 0;
			c = strtoull(num, &e, 10);
			if (*e || errno || num[0] == '-' || c > UINT32_MAX)
				fail("vsock cid '%s' is not a number from 3 to %u",
				     num, UINT32_MAX - 1);
			v->guest_cid = (uint32_t)c;
			seen_cid = true;
		} else if (klen == 3 && !strncmp(p, "uds", 3) && !seen_uds) {
			if (vlen == 0)
				fail("vsock uds is empty");
			if (vlen > CONFIG_UDS_PATH_MAX) {
				snprintf(err, errlen,
					 "vsock: the Unix socket path is longer than %d bytes (sun_path)",
					 CONFIG_UDS_PATH_MAX);
				memset(v, 0, sizeof(*v));
				return -ENAMETOOLONG;
			}
			memcpy(v->uds_path, eq + 1, vlen);
			v->uds_path[vlen] = '\0';
			seen_uds = true;
		} else {
			fail("vsock option '%.*s' is unknown or given twice (known: cid, uds)",
			     (int)klen, p);
		}
		p = *end ? end + 1 : end;
		if (*end && !*p)
			fail("vsock description ends with a comma");
	}
	if (!seen_cid)
		fail("vsock has no cid=... (the guest's CID, 3 or more)");
	if (!seen_uds)
		fail("vsock has no uds=... (the host's Unix socket)");
	v->present = true;
	return 0;
}
