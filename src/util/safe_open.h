/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Opening a path that a user, a config file or an API client named. Such a
 * path may be anything: a FIFO with nobody on the other end (a blocking
 * open() would wedge the thread for good), a directory, a socket. These
 * helpers never block in open() and refuse what is not the kind of file the
 * caller can use, with a message that names it.
 */
#ifndef FIGMENT_UTIL_SAFE_OPEN_H
#define FIGMENT_UTIL_SAFE_OPEN_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Kinds of file a caller accepts (a mask). */
#define SAFE_OPEN_REG 0x1  /* regular file */
#define SAFE_OPEN_BLK 0x2  /* block device */
#define SAFE_OPEN_CHR 0x4  /* character device (a tty, /dev/null) */
#define SAFE_OPEN_FIFO 0x8 /* named pipe */

/*
 * Opens @path with @flags (O_CLOEXEC and O_NOCTTY are added; @mode when
 * O_CREAT) without blocking: O_NONBLOCK is used for the open itself, so a
 * FIFO opened for reading without a writer returns at once, and one opened
 * for writing without a reader fails with ENXIO ("no reader"). The file's
 * kind must be in @kinds. O_NONBLOCK stays set unless @keep_nonblock is 0,
 * in which case it is cleared again (regular files and block devices never
 * wait anyway). @what names the file in messages ("kernel", "drive 'root'").
 * Returns the descriptor, with *@st filled when @st is not NULL, or a
 * negative errno with a one-line reason in @err.
 */
int safe_open(const char *path, int flags, mode_t mode, unsigned int kinds,
	      int keep_nonblock, const char *what, struct stat *st, char *err,
	      size_t errlen);

/* "a directory", "a FIFO", "a socket", ... for messages. */
const char *safe_open_kind_name(mode_t mode);

/*
 * A second open file description of the already open @fd, set non-blocking,
 * for output that must never stall the VMM (the console, log lines): setting
 * O_NONBLOCK on an inherited stdout would change it for every process that
 * shares it. Reopens /proc/self/fd/@fd where the kernel allows (pipes, FIFOs,
 * terminals); elsewhere (a socket) dups @fd and sets O_NONBLOCK on the shared
 * description, reporting that through *@shared so the caller can clear it
 * again on exit. Regular files are dup'ed as they are (they do not block).
 * Returns the new descriptor or a negative errno.
 */
int reopen_nonblocking(int fd, int *shared);

#endif
