// SPDX-License-Identifier: Apache-2.0
/* Opening the files a configuration names (see vm_config.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
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
