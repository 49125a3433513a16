// SPDX-License-Identifier: Apache-2.0
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/file_map.h"

static char dir[] = "/tmp/figment-file-map-XXXXXX";
static char path[256];
static char err[512];

static void dir_setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
	memset(err, 0, sizeof(err));
}

static void dir_teardown(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

static void write_file(const char *name, const void *data, size_t len)
{
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
}

TestSuite(file_map, .init = dir_setup, .fini = dir_teardown);

Test(file_map, maps_contents_read_only)
{
	struct file_map fm;

	write_file("k", "hello", 5);
	cr_assert_eq(file_map(path, "kernel", 1 << 20, &fm, err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(fm.size, 5);
	cr_assert_eq(memcmp(fm.data, "hello", 5), 0);
	file_unmap(&fm);
	cr_assert_null(fm.data);
	cr_assert_eq(fm.size, 0);
	file_unmap(&fm); /* twice is harmless */
}

Test(file_map, empty_file_is_size_zero)
{
	struct file_map fm;

	write_file("empty", "", 0);
	cr_assert_eq(file_map(path, "kernel", 100, &fm, err, sizeof(err)), 0);
	cr_assert_eq(fm.size, 0);
	cr_assert_null(fm.data);
	file_unmap(&fm);
}

Test(file_map, missing_file)
{
	struct file_map fm;

	snprintf(path, sizeof(path), "%s/nope", dir);
	cr_assert_eq(file_map(path, "kernel", 100, &fm, err, sizeof(err)),
		     -ENOENT);
	cr_assert_not_null(strstr(err, "cannot open kernel '"), "%s", err);
	cr_assert_not_null(strstr(err, "No such file or directory"), "%s",
			   err);
}

Test(file_map, directory)
{
	struct file_map fm;

	cr_assert_eq(file_map(dir, "initrd", 100, &fm, err, sizeof(err)),
		     -EISDIR);
	cr_assert_not_null(strstr(err, "is a directory"), "%s", err);
}

Test(file_map, fifo_is_not_regular)
{
	struct file_map fm;

	snprintf(path, sizeof(path), "%s/fifo", dir);
	cr_assert_eq(mkfifo(path, 0600), 0);
	cr_assert_eq(file_map(path, "kernel", 100, &fm, err, sizeof(err)),
		     -EINVAL);
	cr_assert_not_null(strstr(err, "not a regular file"), "%s", err);
}

Test(file_map, too_large)
{
	struct file_map fm;

	write_file("big", "0123456789", 10);
	cr_assert_eq(file_map(path, "initrd", 9, &fm, err, sizeof(err)),
		     -EFBIG);
	cr_assert_not_null(strstr(err, "limit"), "%s", err);
	cr_assert_null(fm.data);
}
