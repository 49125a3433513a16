/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Read-only mappings of input files (kernel, initrd). The loaders read the
 * bytes in place instead of copying them into a host buffer first.
 */
#ifndef FIGMENT_UTIL_FILE_MAP_H
#define FIGMENT_UTIL_FILE_MAP_H

#include <stddef.h>
#include <stdint.h>

struct file_map {
	const uint8_t *data; /* NULL when size is 0 */
	size_t size;
};

/*
 * Maps the regular file @path read-only (PROT_READ, MAP_PRIVATE). @what names
 * the file in messages ("kernel", "initrd"). A file larger than @max_size is
 * refused. An empty file is not an error: @fm gets size 0 and no mapping, so
 * the caller can give its own message ("kernel is empty").
 * The file is only mapped, not copied: if another process truncates it while
 * it is mapped, reading the lost pages raises SIGBUS. Inputs are read once,
 * while the VM is built.
 * Returns 0 (release with file_unmap()) or a negative errno with a one-line
 * reason in @err.
 */
int file_map(const char *path, const char *what, uint64_t max_size,
	     struct file_map *fm, char *err, size_t errlen);

/* Releases a mapping made by file_map(); safe on a zeroed or empty map. */
void file_unmap(struct file_map *fm);

#endif
