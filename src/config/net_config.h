/* SPDX-License-Identifier: Apache-2.0 */
/* The --net command-line flag, and MAC addresses as text. */
#ifndef FIGMENT_CONFIG_NET_CONFIG_H
#define FIGMENT_CONFIG_NET_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "config/vm_config.h"

/* "06:00:ac:10:00:02" (either case) into @mac; 0 or -EINVAL. */
int mac_parse(const char *s, uint8_t mac[6]);
/* @mac as "06:00:ac:10:00:02" into @buf (at least 18 bytes). */
void mac_format(const uint8_t mac[6], char buf[18]);

/*
 * Parses @spec, e.g. id=eth0,tap=fig0,mac=06:00:AC:10:00:02, into @n
 * (overwritten). Keys: id (required, the API's iface_id rules), tap (the
 * TAP device's name) or user (on, passt, slirp: user-mode networking; one of
 * the two is required), mac (optional; default: made up from the id),
 * hostfwd (user mode only, up to CONFIG_MAX_HOSTFWDS times). Each other key
 * at most once. 0, or -EINVAL with a one-line reason in
 * @err (@n zeroed).
 */
int net_config_parse(const char *spec, struct net_config *n, char *err,
		     size_t errlen);

/* The user-mode network every such interface sees (QEMU's and libslirp's
 * usual one): the guest is 10.0.2.15/24, the gateway 10.0.2.2 is the
 * host's loopback, 10.0.2.3 answers DNS with the host's resolvers. */
#define NET_USER_NET	   "10.0.2.0"
#define NET_USER_PREFIX	   24
#define NET_USER_GATEWAY   "10.0.2.2"
#define NET_USER_DNS	   "10.0.2.3"
#define NET_USER_GUEST_IP  "10.0.2.15"

/* QEMU's hostfwd syntax, [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport
 * (guestaddr empty or NET_USER_GUEST_IP), into @f. 0 or -EINVAL. */
int net_hostfwd_parse(const char *s, struct net_hostfwd *f);
/* @f in that syntax, with its host address spelled out. */
void net_hostfwd_format(const struct net_hostfwd *f, char buf[48]);

/* "on" or "passt" (passt), "slirp" into @out; 0 or -EINVAL. */
int net_backend_parse(const char *s, enum net_backend_kind *out);
/* "tap", "passt", "slirp". */
const char *net_backend_name(enum net_backend_kind k);

/* The MAC the guest gets: n->mac when given, else a locally administered
 * unicast address derived from the id (stable across runs and restores). */
void net_config_mac(const struct net_config *n, uint8_t mac[6]);

#endif
