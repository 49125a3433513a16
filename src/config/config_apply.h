/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The API's configuration calls, applied to a struct vm_config: the VMM
 * thread's, the only copy (the API thread keeps none and opens no file).
 */
#ifndef FIGMENT_CONFIG_CONFIG_APPLY_H
#define FIGMENT_CONFIG_CONFIG_APPLY_H

#include <jansson.h>
#include <stddef.h>

#include "config/vm_config.h"

/* What a configuration call sets (or, for config_to_text(), reads). */
enum config_resource {
	CONFIG_RES_MACHINE,	  /* PUT /machine-config; GET: that part */
	CONFIG_RES_MACHINE_PATCH, /* PATCH /machine-config */
	CONFIG_RES_BOOT,	  /* PUT /boot-source */
	CONFIG_RES_DRIVE,	  /* PUT /drives/{id} */
	CONFIG_RES_NET,		  /* PUT /network-interfaces/{id} */
	CONFIG_RES_ENTROPY,	  /* PUT /entropy */
	CONFIG_RES_VSOCK,	  /* PUT /vsock */
	CONFIG_RES_MMDS,	  /* PUT /mmds/config */
	CONFIG_RES_SERIAL,	  /* PUT /serial */
	CONFIG_RES_LOGGER,	  /* PUT /logger (applied: opens the log) */
	CONFIG_RES_METRICS,	  /* PUT /metrics (applied: opens the file) */
	CONFIG_RES_BALLOON,	  /* PUT /balloon */
	CONFIG_RES_ALL,		  /* GET /vm/config */
};

/*
 * Decodes @body as resource @res (@id: the path's {id}, for drives) and
 * stores it in @cfg, after the checks the command line makes and, for the
 * boot source and drives, after their files opened, for an interface after
 * its TAP opened. 0, or a negative errno
 * with the message (Firecracker's where clients match on it) in @err.
 */
int config_apply(struct vm_config *cfg, enum config_resource res,
		 const char *id, const json_t *body, char *err, size_t errlen);

/* A running interface got new rate limits (@rx, @tx, each NULL: none):
 * records them in @cfg. 0 or -ENOENT. */
int config_net_updated(struct vm_config *cfg, const char *id,
		       const struct rate_limiter_config *rx,
		       const struct rate_limiter_config *tx);

/* A running drive got a new file (@path, or NULL) or rate limiter (@rl, or
 * NULL): records it in @cfg. 0, -ENOENT or -ENOMEM. */
int config_drive_updated(struct vm_config *cfg, const char *id,
			 const char *path, const struct rate_limiter_config *rl);

/* @cfg's machine part (CONFIG_RES_MACHINE) or all of it (CONFIG_RES_ALL)
 * as compact JSON; malloc'd, NULL when out of memory. */
char *config_to_text(const struct vm_config *cfg, enum config_resource what);

#endif
