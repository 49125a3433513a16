// SPDX-License-Identifier: Apache-2.0
/* safe_open(): never blocks on a FIFO, refuses the wrong kind of file with a
 * message that names it; reopen_nonblocking(): a private non-blocking
 * description of an inherited fd. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/safe_open.h"

static char dir[] = "/tmp/figment-safe-open-XXXXXX";
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

static const char *at(const char *name)
{
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

TestSuite(safe_open, .init = dir_setup, .fini = dir_teardown, .timeout = 10);

Test(safe_open, regular_file_opens_blocking_unless_asked)
{
	struct stat st;
	int fd;

	close(open(at("f"), O_CREAT | O_WRONLY, 0644));
	fd = safe_open(path, O_RDONLY, 0, SAFE_OPEN_REG, 0, "kernel", &st, err,
		       sizeof(err));
	cr_assert_geq(fd, 0, "%s", err);
	cr_assert(S_ISREG(st.st_mode));
	cr_assert_eq(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	cr_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
	fd = safe_open(path, O_RDONLY, 0, SAFE_OPEN_REG, 1, "kernel", NULL, err,
		       sizeof(err));
	cr_assert(fcntl(fd, F_GETFL) & O_NONBLOCK);
	close(fd);
}

Test(safe_open, fifo_without_writer_does_not_block_and_is_refused)
{
	char want[400];
	int fd;

	cr_assert_eq(mkfifo(at("p"), 0600), 0);
	/* a drive opened for reading: a blocking open would never return */
	fd = safe_open(path, O_RDONLY, 0, SAFE_OPEN_REG | SAFE_OPEN_BLK, 0,
		       "drive 'root'", NULL, err, sizeof(err));
	cr_assert_eq(fd, -EINVAL);
	snprintf(want, sizeof(want),
		 "drive 'root' '%s' is a FIFO, not a regular file or a block device",
		 path);
	cr_assert_str_eq(err, want);
}

Test(safe_open, fifo_without_reader_fails_at_once)
{
	int fd;

	cr_assert_eq(mkfifo(at("log"), 0600), 0);
	/* a log or console path: allowed kind, but nobody reads it */
	fd = safe_open(path, O_WRONLY | O_APPEND, 0, SAFE_OPEN_REG | SAFE_OPEN_FIFO,
		       1, "log file", NULL, err, sizeof(err));
	cr_assert_eq(fd, -ENXIO);
	cr_assert(strstr(err, "it is a FIFO with no reader"), "%s", err);
}

Test(safe_open, fifo_with_reader_opens_non_blocking)
{
	int rd, fd;

	cr_assert_eq(mkfifo(at("log"), 0600), 0);
	rd = open(path, O_RDONLY | O_NONBLOCK);
	cr_assert_geq(rd, 0);
	fd = safe_open(path, O_WRONLY, 0, SAFE_OPEN_REG | SAFE_OPEN_FIFO, 1,
		       "log file", NULL, err, sizeof(err));
	cr_assert_geq(fd, 0, "%s", err);
	cr_assert(fcntl(fd, F_GETFL) & O_NONBLOCK);
	close(fd);
	close(rd);
}

Test(safe_open, directory_and_missing_file)
{
	cr_assert_eq(safe_open(dir, O_RDONLY, 0, SAFE_OPEN_REG, 0, "kernel",
			       NULL, err, sizeof(err)),
		     -EISDIR);
	cr_assert(strstr(err, "is a directory, not a regular file"), "%s", err);
	cr_assert_eq(safe_open(at("none"), O_RDONLY, 0, SAFE_OPEN_REG, 0,
			       "initrd", NULL, err, sizeof(err)),
		     -ENOENT);
	cr_assert(strstr(err, "cannot open initrd"), "%s", err);
	cr_assert(strstr(err, "No such file"), "%s", err);
}

Test(safe_open, character_device_only_when_allowed)
{
	int fd = safe_open("/dev/null", O_WRONLY, 0, SAFE_OPEN_REG, 0, "kernel",
			   NULL, err, sizeof(err));

	cr_assert_eq(fd, -EINVAL);
	cr_assert(strstr(err, "is a character device"), "%s", err);
	fd = safe_open("/dev/null", O_WRONLY, 0, SAFE_OPEN_REG | SAFE_OPEN_CHR,
		       0, "serial output", NULL, err, sizeof(err));
	cr_assert_geq(fd, 0, "%s", err);
	close(fd);
}

Test(safe_open, reopen_pipe_is_private_and_non_blocking)
{
	int p[2], fd, shared;

	cr_assert_eq(pipe(p), 0);
	fd = reopen_nonblocking(p[1], &shared);
	cr_assert_geq(fd, 0);
	cr_assert_eq(shared, 0);
	cr_assert(fcntl(fd, F_GETFL) & O_NONBLOCK);
	/* the inherited description is untouched */
	cr_assert_eq(fcntl(p[1], F_GETFL) & O_NONBLOCK, 0);
	/* fill it: the write fails instead of blocking */
	{
		static char buf[65536];
		ssize_t n;

		while ((n = write(fd, buf, sizeof(buf))) > 0)
			;
		cr_assert_eq(n, -1);
		cr_assert_eq(errno, EAGAIN);
	}
	close(fd);
	close(p[0]);
	close(p[1]);
}

Test(safe_open, reopen_socket_falls_back_to_shared_flag)
{
	int sv[2], fd, shared;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fd = reopen_nonblocking(sv[0], &shared);
	cr_assert_geq(fd, 0);
	cr_assert_eq(shared, 1);
	cr_assert(fcntl(fd, F_GETFL) & O_NONBLOCK);
	close(fd);
	close(sv[0]);
	close(sv[1]);
}
