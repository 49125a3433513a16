/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An image's root filesystem as an ext4 disk: the layers unpacked into a
 * scratch folder, made into a disk with `mke2fs -d` (e2fsprogs), kept in
 * the cache under the manifest's digest so that the next start of the
 * same image unpacks nothing; and each container's own writable copy of
 * it (sparse: a copy costs the blocks the container writes).
 */
#ifndef FIGMENT_CONTAINER_IMAGE_DISK_H
#define FIGMENT_CONTAINER_IMAGE_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "container/oci_image.h"

/* Free room a disk gets beyond what its files use (sparse: costs nothing
 * until written). */
#define IMAGE_DISK_HEADROOM_MIB 256

/* The container cache folder: $FIGMENT_CACHE/containers, else
 * $HOME/.cache/figment/containers; made when missing. 0 or -1 (@err). */
int image_cache_dir(char *out, size_t outlen, char *err, size_t errlen);

/* The cached disk of @img (its path into @out); built when missing (then
 * *@built is set). Concurrent builders of one image wait for each other
 * (a lock file); a failed build leaves nothing in the cache. */
int image_disk_get(const struct oci_image *img, char *out, size_t outlen, bool *built,
		   char *err, size_t errlen);

/* mke2fs -d @root into a new file @disk, sized for @root's files plus the
 * headroom. 0 or -1 (@err, with mke2fs's last words). */
int image_disk_make(const char *root, const char *disk, char *err, size_t errlen);

/* @dst: a new sparse copy of @src (a reflink where the filesystem can). */
int image_disk_copy(const char *src, const char *dst, char *err, size_t errlen);

#endif
