// SPDX-License-Identifier: Apache-2.0
#include "util/file_map.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int file_map(const char *path, const char *what, uint64_t max_size,
	     struct file_map *fm, char *err, size_t errlen)
{
	struct stat st;
	void *p;
	int fd, ret;

	memset(fm, 0, sizeof(*fm));
	/* O_NONBLOCK: opening a FIFO by mistake must not hang the VMM before
	 * fstat() gets the chance to refuse it. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot open %s '%s': %s", what, path,
			 strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot stat %s '%s': %s", what, path,
			 strerror(-ret));
		goto out_close;
	}
	if (S_ISDIR(st.st_mode)) {
		ret = -EISDIR;
		snprintf(err, errlen, "%s '%s' is a directory", what, path);
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		snprintf(err, errlen, "%s '%s' is not a regular file", what,
			 path);
		goto out_close;
	}
	if ((uint64_t)st.st_size > max_size ||
	    (uint64_t)st.st_size > SIZE_MAX) {
		ret = -EFBIG;
		snprintf(err, errlen,
			 "%s '%s' is %llu bytes; the limit is %llu bytes", what,
			 path, (unsigned long long)st.st_size,
			 (unsigned long long)max_size);
		goto out_close;
	}
	ret = 0;
	if (st.st_size == 0)
		goto out_close;
	p = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		ret = -errno;
		snprintf(err, errlen, "cannot map %s '%s': %s", what, path,
			 strerror(-ret));
		goto out_close;
	}
	fm->data = p;
	fm->size = st.st_size;
out_close:
	close(fd);
	return ret;
}

void file_unmap(struct file_map *fm)
{
	if (fm->data && fm->size)
		munmap((void *)fm->data, fm->size);
	memset(fm, 0, sizeof(*fm));
}
