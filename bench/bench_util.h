/* SPDX-License-Identifier: Apache-2.0 */
/* Small helpers the static benchmark tools (vmm_timer.c, blkmon.c) share:
 * fatal errors and optional log files of what the VMM printed. */
#ifndef FIGMENT_BENCH_UTIL_H
#define FIGMENT_BENCH_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Exit status 125: the measurement itself failed, not the VMM. */
static inline void die(const char *what)
{
	perror(what);
	exit(125);
}

/* Opens PREFIX.EXT for writing, or returns -1 when no prefix was given. */
static inline int open_log(const char *prefix, const char *ext)
{
	char path[4096];
	int fd;

	if (!prefix)
		return -1;
	snprintf(path, sizeof(path), "%s.%s", prefix, ext);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		die(path);
	return fd;
}

/* A lost log line must not stop the measurement: errors are ignored. */
static inline void write_all(int fd, const char *buf, size_t n)
{
	while (fd >= 0 && n > 0) {
		ssize_t w = write(fd, buf, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		buf += w;
		n -= (size_t)w;
	}
}

#endif
