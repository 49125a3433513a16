// SPDX-License-Identifier: Apache-2.0
/* The image disk cache and per-container copies (see image_disk.h). */
#include "container/image_disk.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/fs.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "container/layer_unpack.h"

extern char **environ;

static void fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int mkdir_p(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		int r = mkdir(path, 0755);
		*p = '/';
		if (r && errno != EEXIST)
			return -1;
	}
	return mkdir(path, 0755) && errno != EEXIST ? -1 : 0;
}

int image_cache_dir(char *out, size_t outlen, char *err, size_t errlen)
{
	const char *c = getenv("FIGMENT_CACHE");
	const char *home = getenv("HOME");
	int n = c && *c ? snprintf(out, outlen, "%s/containers", c) :
			  snprintf(out, outlen, "%s/.cache/figment/containers",
				   home && *home ? home : "/root");
	if (n < 0 || (size_t)n >= outlen) {
		fail(err, errlen, "cache folder path too long");
		return -1;
	}
	if (mkdir_p(out)) {
		fail(err, errlen, "cache folder %s: %s", out, strerror(errno));
		return -1;
	}
	return 0;
}

static uint64_t tree_bytes, tree_inodes;
static int count_entry(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)p, (void)flag, (void)f;
	tree_bytes += (uint64_t)st->st_blocks * 512;
	tree_inodes++;
	return 0;
}

/* The mke2fs to run: $FIGMENT_MKE2FS, else e2fsprogs' in the sbin folders
 * (often not on a user's PATH), else PATH's. busybox's has no -d. */
static const char *mke2fs_path(void)
{
	const char *e = getenv("FIGMENT_MKE2FS");
	if (e && *e)
		return e;
	static const char *const candidates[] = { "/usr/sbin/mke2fs", "/sbin/mke2fs" };
	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++)
		if (access(candidates[i], X_OK) == 0)
			return candidates[i];
	return "mke2fs";
}

int image_disk_make(const char *root, const char *disk, char *err, size_t errlen)
{
	tree_bytes = tree_inodes = 0;
	if (nftw(root, count_entry, 32, FTW_PHYS)) {
		fail(err, errlen, "%s: %s", root, strerror(errno));
		return -1;
	}
	/* ext4's metadata and 4 KiB-block rounding: a quarter on top, then
	 * the headroom */
	uint64_t mib = tree_bytes / 4 * 5 / (1 << 20) + tree_inodes * 4096 / (1 << 20) +
		       IMAGE_DISK_HEADROOM_MIB;
	char size[32], inodes[32], log[4200];
	snprintf(size, sizeof(size), "%lluM", (unsigned long long)mib);
	snprintf(inodes, sizeof(inodes), "%llu",
		 (unsigned long long)(tree_inodes + 16384));
	snprintf(log, sizeof(log), "%s.mke2fs-log", disk);
	char *const argv[] = {
		(char *)"mke2fs", (char *)"-q", (char *)"-F", (char *)"-t", (char *)"ext4",
		(char *)"-O", (char *)"^has_journal", (char *)"-E", (char *)"root_owner=0:0",
		(char *)"-N", inodes, (char *)"-d", (char *)root, (char *)disk, size, NULL,
	};
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	pid_t pid;
	int r = posix_spawnp(&pid, mke2fs_path(), &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r) {
		unlink(log);
		fail(err, errlen, "cannot run mke2fs (e2fsprogs): %s", strerror(r));
		return -1;
	}
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		char words[4096] = "";
		int fd = open(log, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			ssize_t n = read(fd, words, sizeof(words) - 1);
			words[n > 0 ? n : 0] = '\0';
			close(fd);
		}
		for (char *p = words; *p; p++)
			if (*p == '\n')
				*p = p[1] ? ' ' : '\0';
		unlink(log);
		unlink(disk);
		fail(err, errlen, "mke2fs -d failed: %.400s", words);
		return -1;
	}
	unlink(log);
	return 0;
}

int image_disk_copy(const char *src, const char *dst, char *err, size_t errlen)
{
	int in = open(src, O_RDONLY | O_CLOEXEC);
	int out = in < 0 ? -1 : open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	struct stat st;
	if (in < 0 || out < 0 || fstat(in, &st)) {
		fail(err, errlen, "%s: %s", in < 0 ? src : dst, strerror(errno));
		goto fail;
	}
	if (ioctl(out, FICLONE, in) == 0)
		goto done;
	if (ftruncate(out, st.st_size))
		goto io;
	/* the data ranges only: holes stay holes */
	for (off_t pos = 0; pos < st.st_size;) {
		off_t data = lseek(in, pos, SEEK_DATA);
		if (data < 0) {
			if (errno == ENXIO)
				break;
			goto io;
		}
		off_t hole = lseek(in, data, SEEK_HOLE);
		if (hole < 0)
			goto io;
		off_t o_in = data, o_out = data;
		while (o_in < hole) {
			ssize_t n = copy_file_range(in, &o_in, out, &o_out, (size_t)(hole - o_in), 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				/* across filesystems on old kernels: by hand */
				char buf[1 << 16];
				ssize_t r = pread(in, buf, sizeof(buf) < (size_t)(hole - o_in) ?
							    sizeof(buf) : (size_t)(hole - o_in), o_in);
				if (r <= 0 || pwrite(out, buf, (size_t)r, o_out) != r)
					goto io;
				o_in += r;
				o_out += r;
			}
		}
		pos = hole;
	}
done:
	close(in);
	if (close(out)) {
		out = -1;
		goto io;
	}
	return 0;
io:
	fail(err, errlen, "copying %s to %s: %s", src, dst, strerror(errno));
fail:
	if (in >= 0)
		close(in);
	if (out >= 0) {
		close(out);
		unlink(dst);
	}
	return -1;
}

int image_disk_get(const struct oci_image *img, char *out, size_t outlen, bool *built,
		   char *err, size_t errlen)
{
	char dir[3000];
	*built = false;
	if (image_cache_dir(dir, sizeof(dir), err, errlen))
		return -1;
	const char *hex = img->manifest_digest + 7;
	if ((size_t)snprintf(out, outlen, "%s/%s.ext4", dir, hex) >= outlen) {
		fail(err, errlen, "cache path too long");
		return -1;
	}
	if (access(out, R_OK) == 0)
		return 0;

	/* one builder at a time; the loser finds the disk made */
	char lock[3100];
	snprintf(lock, sizeof(lock), "%s/.lock", dir);
	int lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lfd < 0 || flock(lfd, LOCK_EX)) {
		fail(err, errlen, "%s: %s", lock, strerror(errno));
		if (lfd >= 0)
			close(lfd);
		return -1;
	}
	int ret = -1;
	char work[3100], root[3200], disk[3200];
	snprintf(work, sizeof(work), "%s/tmp.%s.XXXXXX", dir, hex);
	if (access(out, R_OK) == 0) {
		ret = 0;
		goto unlock;
	}
	if (oci_image_check_layers(img, err, errlen))
		goto unlock;
	if (!mkdtemp(work)) {
		fail(err, errlen, "%s: %s", work, strerror(errno));
		goto unlock;
	}
	snprintf(root, sizeof(root), "%s/root", work);
	snprintf(disk, sizeof(disk), "%s/disk.ext4", work);
	if (mkdir(root, 0755)) {
		fail(err, errlen, "%s: %s", root, strerror(errno));
		goto clean;
	}
	for (size_t i = 0; i < img->n_layers; i++) {
		char why[1024];
		if (layer_unpack(root, img->layers[i].path, why, sizeof(why))) {
			fail(err, errlen, "layer %zu (%s): %s", i + 1, img->layers[i].digest, why);
			goto clean;
		}
	}
	if (image_disk_make(root, disk, err, errlen))
		goto clean;
	/* the disk is shared read-only by every container of the image */
	if (chmod(disk, 0444) || rename(disk, out)) {
		fail(err, errlen, "%s: %s", out, strerror(errno));
		goto clean;
	}
	*built = true;
	ret = 0;
clean:
	if (layer_remove_tree(work) && !ret) {
		fail(err, errlen, "removing %s: %s", work, strerror(errno));
		unlink(out);
		ret = -1;
	}
unlock:
	close(lfd);
	return ret;
}
