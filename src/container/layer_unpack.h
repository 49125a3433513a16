/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Applying an image layer (a tar, plain, gzip or zstd) onto a root
 * directory with libarchive, as the OCI image spec says: whiteouts
 * (".wh.NAME", ".wh..wh..opq") first remove what lower layers put there,
 * then the entries are written. Refused, with the entry named: a path with
 * a ".." component, a path or hard link target that goes through a symlink
 * (an absolute or relative one could lead out of the root), a device node.
 */
#ifndef FIGMENT_CONTAINER_LAYER_UNPACK_H
#define FIGMENT_CONTAINER_LAYER_UNPACK_H

#include <stddef.h>

/* A tar member's name made relative and checked: leading "/" and "./"
 * dropped, "." and empty components removed; any ".." component refused.
 * Returns 0 (an empty @out is the root itself), -1 when it escapes or does
 * not fit @outlen. */
int layer_clean_path(const char *name, char *out, size_t outlen);

/* Applies the layer in @tar_path onto the directory @root. 0, or -1 with a
 * one-line reason in @err (what was written so far stays: the caller
 * removes the whole tree). */
int layer_unpack(const char *root, const char *tar_path, char *err, size_t errlen);

/* Removes @path and everything under it (no symlink followed). 0 or -1. */
int layer_remove_tree(const char *path);

#endif
