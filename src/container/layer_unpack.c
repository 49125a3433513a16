// SPDX-License-Identifier: Apache-2.0
/* One layer onto a root directory. Two passes over the tar: the whiteouts
 * first (they apply to the layers below only, so removing before writing
 * is exactly the spec's order whatever the member order), then the
 * entries, written by libarchive's disk writer from inside the root with
 * its own checks on as a second line behind ours. */
#include "container/layer_unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"

static void fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int layer_clean_path(const char *name, char *out, size_t outlen)
{
	size_t o = 0;
	const char *p = name;
	if (!outlen)
		return -1;
	while (*p) {
		while (*p == '/')
			p++;
		const char *e = strchrnul(p, '/');
		size_t len = (size_t)(e - p);
		if (len == 2 && p[0] == '.' && p[1] == '.')
			return -1;
		if (len && !(len == 1 && p[0] == '.')) {
			if (o + (o ? 1 : 0) + len + 1 > outlen)
				return -1;
			if (o)
				out[o++] = '/';
			memcpy(out + o, p, len);
			o += len;
		}
		p = e;
	}
	out[o] = '\0';
	return 0;
}

/* fd of @rel's parent directory under @rootfd, opened component by
 * component with O_NOFOLLOW: a symlink on the way is refused (ELOOP or
 * ENOTDIR). *@base points at the last component. Missing directories are
 * ENOENT. */
static int open_parent(int rootfd, char *rel, const char **base)
{
	int fd = dup(rootfd);
	char *p = rel;
	for (;;) {
		char *slash = strchr(p, '/');
		if (!slash) {
			*base = p;
			return fd;
		}
		*slash = '\0';
		int next = openat(fd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		*slash = '/';
		int e = errno;
		close(fd);
		if (next < 0) {
			errno = e;
			return -1;
		}
		fd = next;
		p = slash + 1;
	}
}

/* Everything inside the directory @fd (which is closed). */
static int remove_contents(int fd)
{
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -1;
	}
	int ret = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0)
			continue;
		if (errno != EISDIR && errno != EPERM) {
			ret = -1;
			continue;
		}
		int sub = openat(dirfd(d), de->d_name,
				 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0 || remove_contents(sub) ||
		    unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR))
			ret = -1;
	}
	closedir(d);
	return ret;
}

static int remove_at(int dirfd, const char *name)
{
	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -1;
	int sub = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sub < 0 || remove_contents(sub))
		return -1;
	return unlinkat(dirfd, name, AT_REMOVEDIR);
}

int layer_remove_tree(const char *path)
{
	return remove_at(AT_FDCWD, path);
}

/* Applies one whiteout entry @rel (cleaned). */
static int apply_whiteout(int rootfd, char *rel, char *err, size_t errlen)
{
	const char *base;
	int dfd = open_parent(rootfd, rel, &base);
	if (dfd < 0) {
		if (errno == ENOENT)
			return 0; /* nothing below to hide */
		fail(err, errlen, "whiteout %s: %s", rel,
		     errno == ELOOP || errno == ENOTDIR ?
		     "its folder goes through a symlink (it could name a path outside the layer)" :
		     strerror(errno));
		return -1;
	}
	int ret = 0;
	if (!strcmp(base, WH_OPAQUE)) {
		int fd = dup(dfd);
		if (fd < 0 || remove_contents(fd))
			ret = -1;
	} else {
		const char *victim = base + strlen(WH_PREFIX);
		if (!*victim || !strcmp(victim, ".") || !strcmp(victim, "..")) {
			fail(err, errlen, "whiteout %s: names no file of its folder", rel);
			close(dfd);
			return -1;
		}
		ret = remove_at(dfd, victim);
	}
	if (ret)
		fail(err, errlen, "whiteout %s: %s", rel, strerror(errno));
	close(dfd);
	return ret;
}

static struct archive *open_layer(int fd, char *err, size_t errlen)
{
	struct archive *a = archive_read_new();
	if (!a) {
		fail(err, errlen, "out of memory");
		return NULL;
	}
	archive_read_support_format_tar(a);
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_zstd(a);
	if (lseek(fd, 0, SEEK_SET) != 0 || archive_read_open_fd(a, fd, 1 << 16) != ARCHIVE_OK) {
		fail(err, errlen, "%s", archive_error_string(a));
		archive_read_free(a);
		return NULL;
	}
	return a;
}

static bool is_whiteout(const char *rel)
{
	const char *b = strrchr(rel, '/');
	b = b ? b + 1 : rel;
	return !strncmp(b, WH_PREFIX, strlen(WH_PREFIX));
}

/* The parent folders of @rel (cleaned) must not be symlinks. */
static int check_parents(int rootfd, const char *rel, const char *what, char *err,
			 size_t errlen)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s", rel);
	const char *base;
	int fd = open_parent(rootfd, tmp, &base);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	if (errno == ENOENT)
		return 0; /* made by the writer as real folders */
	fail(err, errlen, "%s %s: %s", what, rel,
	     errno == ELOOP || errno == ENOTDIR ?
	     "goes through a symlink (refused: it could lead outside the root)" :
	     strerror(errno));
	return -1;
}

/* Pass 1 (@whiteouts) or pass 2. */
static int layer_pass(int rootfd, int tarfd, bool whiteouts, char *err, size_t errlen)
{
	char msg[512];
	struct archive *a = open_layer(tarfd, msg, sizeof(msg));
	if (!a) {
		fail(err, errlen, "not a tar archive: %s", msg);
		return -1;
	}
	struct archive *w = NULL;
	if (!whiteouts) {
		int flags = ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_UNLINK |
			    ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
			    ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS;
		if (geteuid() == 0)
			flags |= ARCHIVE_EXTRACT_OWNER;
		w = archive_write_disk_new();
		if (!w) {
			archive_read_free(a);
			fail(err, errlen, "out of memory");
			return -1;
		}
		archive_write_disk_set_options(w, flags);
	}
	int ret = -1, r;
	size_t members = 0;
	struct archive_entry *e;
	char rel[PATH_MAX], link[PATH_MAX];
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		members++;
		const char *name = archive_entry_pathname(e);
		if (!name || layer_clean_path(name, rel, sizeof(rel))) {
			fail(err, errlen, "member '%.200s' escapes the root (a \"..\" component) or is too long",
			     name ? name : "(no name)");
			goto out;
		}
		if (!*rel)
			continue; /* the root itself: it keeps its own attributes */
		bool wh = is_whiteout(rel);
		if (whiteouts) {
			if (wh && apply_whiteout(rootfd, rel, err, errlen))
				goto out;
			continue;
		}
		if (wh)
			continue;
		mode_t type = archive_entry_filetype(e);
		if (type == AE_IFCHR || type == AE_IFBLK) {
			fail(err, errlen, "member %s is a device node (refused: the guest's /dev is its own)",
			     rel);
			goto out;
		}
		if (check_parents(rootfd, rel, "member", err, errlen))
			goto out;
		const char *hl = archive_entry_hardlink(e);
		if (hl) {
			if (layer_clean_path(hl, link, sizeof(link)) || !*link) {
				fail(err, errlen, "hard link %s -> '%.200s' escapes the root", rel, hl);
				goto out;
			}
			if (check_parents(rootfd, link, "hard link target", err, errlen))
				goto out;
			archive_entry_set_hardlink(e, link);
		}
		archive_entry_set_pathname(e, rel);
		r = archive_write_header(w, e);
		if (r == ARCHIVE_OK && archive_entry_size(e) > 0 && !hl) {
			const void *buf;
			size_t len;
			la_int64_t off;
			while ((r = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK)
				if (archive_write_data_block(w, buf, len, off) != ARCHIVE_OK) {
					r = ARCHIVE_FATAL;
					fail(err, errlen, "member %s: %s", rel, archive_error_string(w));
					goto out;
				}
			if (r != ARCHIVE_EOF) {
				fail(err, errlen, "member %s: %s", rel, archive_error_string(a));
				goto out;
			}
			r = ARCHIVE_OK;
		}
		if (r < ARCHIVE_WARN || archive_write_finish_entry(w) < ARCHIVE_WARN) {
			fail(err, errlen, "member %s: %s", rel, archive_error_string(w));
			goto out;
		}
	}
	if (r != ARCHIVE_EOF) {
		fail(err, errlen, "%s: %s", members ? "corrupt tar" : "not a tar archive",
		     archive_error_string(a));
		goto out;
	}
	if (w && archive_write_close(w) != ARCHIVE_OK) {
		fail(err, errlen, "%s", archive_error_string(w));
		goto out;
	}
	ret = 0;
out:
	archive_read_free(a);
	if (w)
		archive_write_free(w);
	return ret;
}

int layer_unpack(const char *root, const char *tar_path, char *err, size_t errlen)
{
	/* the tar is opened here, before the writer's chdir into the root */
	int tarfd = open(tar_path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (tarfd < 0) {
		fail(err, errlen, "%s: %s", tar_path, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(tarfd, &st) || !S_ISREG(st.st_mode)) {
		fail(err, errlen, "%s: not a regular file", tar_path);
		close(tarfd);
		return -1;
	}
	int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0 || cwd < 0) {
		fail(err, errlen, "%s: %s", rootfd < 0 ? root : "current folder", strerror(errno));
		if (rootfd >= 0)
			close(rootfd);
		if (cwd >= 0)
			close(cwd);
		close(tarfd);
		return -1;
	}
	int ret = layer_pass(rootfd, tarfd, true, err, errlen);
	/* libarchive's writer works relative to the current folder */
	if (!ret && fchdir(rootfd)) {
		fail(err, errlen, "%s: %s", root, strerror(errno));
		ret = -1;
	}
	if (!ret)
		ret = layer_pass(rootfd, tarfd, false, err, errlen);
	if (fchdir(cwd) && !ret) {
		fail(err, errlen, "back to the current folder: %s", strerror(errno));
		ret = -1;
	}
	close(cwd);
	close(rootfd);
	close(tarfd);
	return ret;
}
