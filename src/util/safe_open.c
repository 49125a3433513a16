// SPDX-License-Identifier: Apache-2.0
#include "util/safe_open.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

const char *safe_open_kind_name(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return "a regular file";
	case S_IFDIR:
		return "a directory";
	case S_IFBLK:
		return "a block device";
	case S_IFCHR:
		return "a character device";
	case S_IFIFO:
		return "a FIFO";
	case S_IFSOCK:
		return "a socket";
	case S_IFLNK:
		return "a symbolic link";
	}
	return "a special file";
}

static unsigned int kind_bit(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return SAFE_OPEN_REG;
	case S_IFBLK:
		return SAFE_OPEN_BLK;
	case S_IFCHR:
		return SAFE_OPEN_CHR;
	case S_IFIFO:
		return SAFE_OPEN_FIFO;
	}
	return 0;
}

/* "a regular file or a block device", from a mask. */
static void kinds_text(unsigned int kinds, char *buf, size_t len)
{
	static const struct {
		unsigned int bit;
		const char *name;
	} names[] = {
		{ SAFE_OPEN_REG, "a regular file" },
		{ SAFE_OPEN_BLK, "a block device" },
		{ SAFE_OPEN_CHR, "a character device" },
		{ SAFE_OPEN_FIFO, "a FIFO" },
	};
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(kinds & names[i].bit))
			continue;
		kinds &= ~names[i].bit;
		used += (size_t)snprintf(buf + used, len > used ? len - used : 0,
					 "%s%s", used ? (kinds ? ", " : " or ") : "",
					 names[i].name);
	}
}

int safe_open(const char *path, int flags, mode_t mode, unsigned int kinds,
	      int keep_nonblock, const char *what, struct stat *st, char *err,
	      size_t errlen)
{
	struct stat sbuf;
	char want[96];
	int fd, ret;

	if (!st)
		st = &sbuf;
	fd = open(path, flags | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, mode);
	if (fd < 0) {
		ret = -errno;
		if (ret == -ENXIO)
			snprintf(err, errlen,
				 "cannot open %s '%s': it is a FIFO with no reader",
				 what, path);
		else
			snprintf(err, errlen, "cannot open %s '%s': %s", what,
				 path, strerror(-ret));
		return ret;
	}
	if (fstat(fd, st) < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot stat %s '%s': %s", what, path,
			 strerror(-ret));
		goto fail;
	}
	if (!(kind_bit(st->st_mode) & kinds)) {
		ret = S_ISDIR(st->st_mode) ? -EISDIR : -EINVAL;
		kinds_text(kinds, want, sizeof(want));
		snprintf(err, errlen, "%s '%s' is %s, not %s", what, path,
			 safe_open_kind_name(st->st_mode), want);
		goto fail;
	}
	if (!keep_nonblock &&
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s '%s': fcntl: %s", what, path,
			 strerror(-ret));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return ret;
}

int reopen_nonblocking(int fd, int *shared)
{
	char proc[32];
	struct stat st;
	int nfd, fl;

	*shared = 0;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISREG(st.st_mode)) {
		nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		return nfd < 0 ? -errno : nfd;
	}
	/* The access mode must match the original's (a terminal opened
	 * read-write, a pipe's write end write-only). */
	fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -errno;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	nfd = open(proc, (fl & O_ACCMODE) | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (nfd >= 0)
		return nfd;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (nfd < 0)
		return -errno;
	if (!(fl & O_NONBLOCK)) {
		if (fcntl(nfd, F_SETFL, fl | O_NONBLOCK) < 0) {
			int ret = -errno;

			close(nfd);
			return ret;
		}
		*shared = 1;
	}
	return nfd;
}
