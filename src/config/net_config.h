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
 * (overwritten). Keys: id (required, the API's iface_id rules), tap
 * (required: the TAP device's name), mac (optional; default: made up from
 * the id). Each key at most once. 0, or -EINVAL with a one-line reason in
 * @err (@n zeroed).
 */
int net_config_parse(const char *spec, struct net_config *n, char *err,
		     size_t errlen);

/* The MAC the guest gets: n->mac when given, else a locally administered
 * unicast address derived from the id (stable across runs and restores). */
void net_config_mac(const struct net_config *n, uint8_t mac[6]);

#endif
