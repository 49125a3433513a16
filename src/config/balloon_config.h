/* SPDX-License-Identifier: Apache-2.0 */
/* The --balloon command-line flag. */
#ifndef FIGMENT_CONFIG_BALLOON_CONFIG_H
#define FIGMENT_CONFIG_BALLOON_CONFIG_H

#include <stddef.h>

#include "config/vm_config.h"

/*
 * Parses @spec, e.g. amount_mib=0,deflate_on_oom=on,stats_interval_s=5,
 * into @b (overwritten, present set). Keys, each at most once:
 * amount_mib (MiB, default 0), stats_interval_s (seconds, default 0: no
 * statistics), and the switches deflate_on_oom, free_page_reporting,
 * free_page_hinting (on or off, default off). Ranges against the guest's
 * RAM are vm_config_validate_balloon()'s. 0 or -EINVAL with a one-line
 * reason in @err (@b zeroed).
 */
int balloon_config_parse(const char *spec, struct balloon_config *b,
			 char *err, size_t errlen);

#endif
