// SPDX-License-Identifier: Apache-2.0
/* Opening the files a configuration names (see vm_config.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/vm_config.h"
#include "util/safe_open.h"

int drive_open_backing(const char *id, const char *path, bool read_only,
		       struct stat *st, char *err, size_t errlen)
{
	char what[CONFIG_ID_MAX + 16];

	snprintf(what, sizeof(what), "drive '%s'", id);
	return safe_open(path, read_only ? O_RDONLY : O_RDWR, 0,
			 SAFE_OPEN_REG | SAFE_OPEN_BLK, 0, what, st, err,
			 errlen);
}

int drive_check_backing(const struct drive_config *d, char *err,
			size_t errlen)
{
	int fd = drive_open_backing(d->id, d->path_on_host, d->is_read_only,
				    NULL, err, errlen);

	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

static int check_regular(const char *path, const char *what, char *err,
			 size_t errlen)
{
	int fd = safe_open(path, O_RDONLY, 0, SAFE_OPEN_REG, 0, what, NULL,
			   err, errlen);

	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

int boot_source_check_files(const struct boot_source_config *b, char *err,
			    size_t errlen)
{
	int ret = 0;

	if (b->kernel_image_path)
		ret = check_regular(b->kernel_image_path, "kernel", err, errlen);
	if (!ret && b->initrd_path)
		ret = check_regular(b->initrd_path, "initrd", err, errlen);
	return ret;
}

int vsock_check_uds_path(const char *path, char *err, size_t errlen)
{
	char dir[CONFIG_UDS_PATH_MAX + 1];
	const char *slash;
	struct stat st;

	if (strlen(path) > CONFIG_UDS_PATH_MAX) {
		snprintf(err, errlen,
			 "vsock: the Unix socket path is longer than %d bytes (sun_path)",
			 CONFIG_UDS_PATH_MAX);
		return -ENAMETOOLONG;
	}
	slash = strrchr(path, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen,
			 "vsock: the folder '%s' of the Unix socket '%s' does not exist",
			 dir, path);
		return -ENOENT;
	}
	if (slash && !slash[1]) {
		snprintf(err, errlen, "vsock: '%s' names a folder, not a socket",
			 path);
		return -EISDIR;
	}
	if (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen,
			 "vsock: '%s' exists and is not a Unix socket", path);
		return -EEXIST;
	}
	return 0;
}
