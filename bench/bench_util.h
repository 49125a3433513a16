/* SPDX-License-Identifier: Apache-2.0 */
/* Small helpers the static benchmark tools (vmm_timer.c, blkmon.c,
 * netmon.c) share: fatal errors, optional log files of what the VMM printed,
 * /proc stat files. */
#ifndef FIGMENT_BENCH_UTIL_H
#define FIGMENT_BENCH_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
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

/* Starts @argv (a VMM) with stdin on /dev/null (no terminal: neither VMM
 * switches it to raw mode), stdout and stderr into the write ends of
 * @outp and @errp, which the caller then no longer holds. Its pid. */
static inline pid_t spawn_piped(char *const argv[], const int outp[2],
				const int errp[2])
{
	pid_t pid = fork();

	if (pid < 0)
		die("fork");
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(outp[1], 1) < 0 ||
		    dup2(errp[1], 2) < 0)
			_exit(126);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(outp[1]);
	close(errp[1]);
	return pid;
}

/* Reads the numeric fields of a /proc stat file into v[] (v[0] is field 3)
 * and the command name into @comm; returns how many fields, or -1. The
 * name (field 2) may hold spaces and parentheses: it ends at the last ')'. */
static inline int read_stat(const char *path, unsigned long long *v, int max,
		     char *comm, size_t commlen)
{
	char buf[2048], *p, *open_paren;
	int fd, n = 0;
	ssize_t r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	r = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (r <= 0)
		return -1;
	buf[r] = '\0';
	open_paren = strchr(buf, '(');
	p = strrchr(buf, ')');
	if (!open_paren || !p || p < open_paren)
		return -1;
	snprintf(comm, commlen, "%.*s", (int)(p - open_paren - 1),
		 open_paren + 1);
	p++;
	while (n < max && *p) {
		while (*p == ' ')
			p++;
		v[n++] = strtoull(p, &p, 10); /* state (field 3) reads as 0 */
		while (*p && *p != ' ')
			p++;
	}
	return n;
}

#endif
