/* SPDX-License-Identifier: Apache-2.0 */
/* The --drive command-line flag: a comma-separated key=value list. */
#ifndef FIGMENT_CONFIG_DRIVE_CONFIG_H
#define FIGMENT_CONFIG_DRIVE_CONFIG_H

#include <stddef.h>

#include "config/vm_config.h"

/* Longest serial (the virtio-blk ID string is 20 bytes). */
#define DRIVE_SERIAL_MAX 20

/*
 * Parses @spec, e.g.
 *   id=root,path=rootfs.ext4,root=on,readonly=on,serial=XYZ,cache=writeback
 * into @d (overwritten). Keys: id (required; letters, digits, '_', '-', '.',
 * at most CONFIG_ID_MAX), path (required, non-empty; cannot contain a
 * comma), root and readonly (on/off, true/false, yes/no, 1/0; default
 * off), serial (at most DRIVE_SERIAL_MAX bytes; default: the id), cache
 * (unsafe, the default, or writeback). Each key at most once.
 * On success returns 0 and @d owns malloc'd path_on_host and serial (freed
 * by vm_config_free()). On error returns -EINVAL (or -ENOMEM) with a
 * one-line reason in @err and leaves @d zeroed.
 */
int drive_config_parse(const char *spec, struct drive_config *d, char *err,
		       size_t errlen);

#endif
