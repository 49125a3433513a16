/* SPDX-License-Identifier: Apache-2.0 */
/* The --mmds command-line flag; the metadata service's config checks. */
#ifndef FIGMENT_CONFIG_MMDS_CONFIG_H
#define FIGMENT_CONFIG_MMDS_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "config/vm_config.h"

/*
 * Parses @spec, e.g. net=eth0,version=V2,address=169.254.170.2,imds_compat=on,
 * into @m (overwritten, present set). Keys: net (required; several
 * interfaces joined with '+'), version (V1, the default, or V2), address
 * (dotted IPv4, default 169.254.169.254), imds_compat (on/off). Each key
 * once. The interfaces are checked against the others by
 * vm_config_validate_mmds(). 0 or -EINVAL with a one-line reason in @err.
 */
int mmds_config_parse(const char *spec, struct mmds_config *m, char *err,
		      size_t errlen);

/* A dotted IPv4 address the service may answer at (Firecracker's rule:
 * 169.254.1.0 to 169.254.254.255) into *@out (host order). 0 or -EINVAL. */
int mmds_parse_address(const char *s, size_t len, uint32_t *out);

#endif
