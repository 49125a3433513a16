/* SPDX-License-Identifier: Apache-2.0 */
/* The --vsock command-line flag. */
#ifndef FIGMENT_CONFIG_VSOCK_CONFIG_H
#define FIGMENT_CONFIG_VSOCK_CONFIG_H

#include <stddef.h>

#include "config/vm_config.h"

/*
 * Parses @spec, e.g. cid=3,uds=/run/fig/v.sock, into @v (overwritten,
 * present set). Keys: cid (required, a number), uds (required, the Unix
 * socket path; no commas). Each key once. Ranges are
 * vm_config_validate_vsock()'s. 0, -EINVAL (syntax) or -ENAMETOOLONG (a
 * path longer than sun_path) with a one-line reason in @err (@v zeroed).
 */
int vsock_config_parse(const char *spec, struct vsock_config *v, char *err,
		       size_t errlen);

#endif
