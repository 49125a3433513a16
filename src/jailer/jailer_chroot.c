// SPDX-License-Identifier: Apache-2.0
/* The jail's directory, entering it, and what goes inside (see
 * jailer_chroot.h). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "jailer/jailer_chroot.h"
#include "vmm_exit.h"

#define DIR_OPEN (O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return VMM_EXIT_ERROR;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Copies @src into @dst; both are open. 0 or a negative errno. */
static int copy_fd(int src, int dst)
{
	char buf[1 << 16];
	ssize_t n;

	/* in-kernel copy first (reflinks where the filesystem can) */
	while ((n = copy_file_range(src, NULL, dst, NULL, 1 << 30, 0)) > 0)
		;
	if (n == 0)
		return 0;
	if (errno != EXDEV && errno != EINVAL && errno != ENOSYS &&
	    errno != EOPNOTSUPP)
		return -errno;
	if (lseek(src, 0, SEEK_SET) < 0 || lseek(dst, 0, SEEK_SET) < 0 ||
	    ftruncate(dst, 0) < 0)
		return -errno;
	while ((n = read(src, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(dst, buf + off, (size_t)(n - off));

			if (w < 0)
				return -errno;
			off += w;
		}
	}
	return n < 0 ? -errno : 0;
}

/* The exec file into the jail: a copy, not a link, so the jail holds the
 * file as it was and nothing done to the copy reaches the original. */
static int copy_exec(const struct jailer_args *a, struct jailer_chroot *c,
		     int rootfd, char *err, size_t errlen)
{
	struct stat st;
	int src, dst, ret;

	src = open(a->exec_file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (src < 0)
		return fail(err, errlen, "cannot open --exec-file '%s': %s",
			    a->exec_file, strerror(errno));
	if (fstat(src, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(src);
		return fail(err, errlen, "--exec-file '%s' changed: no longer a regular file",
			    a->exec_file);
	}
	dst = openat(rootfd, a->exec_name,
		     O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0755);
	if (dst < 0) {
		ret = errno;
		close(src);
		return fail(err, errlen, "cannot create '%s': %s", c->exec,
			    strerror(ret));
	}
	c->made_exec = true;
	ret = copy_fd(src, dst);
	if (!ret && fchmod(dst, 0755) < 0) /* whatever the umask */
		ret = -errno;
	close(src);
	if (close(dst) < 0 && !ret)
		ret = -errno;
	if (ret)
		return fail(err, errlen, "cannot copy '%s' to '%s': %s",
			    a->exec_file, c->exec, strerror(-ret));
	return 0;
}

int jailer_chroot_create(const struct jailer_args *a, struct jailer_chroot *c,
			 char *err, size_t errlen)
{
	int basefd = -1, namefd = -1, idfd = -1, rootfd = -1;
	int ret = VMM_EXIT_ERROR;
	struct stat st;

	memset(c, 0, sizeof(*c));
	for (int i = 0; i < 4; i++)
		c->dir_fd[i] = -1;
	if (snprintf(c->name_dir, sizeof(c->name_dir), "%s/%s", a->base,
		     a->exec_name) >= (int)sizeof(c->name_dir) ||
	    snprintf(c->id_dir, sizeof(c->id_dir), "%s/%s", c->name_dir,
		     a->id) >= (int)sizeof(c->id_dir) ||
	    jailer_chroot_path(a, c->root, sizeof(c->root)) ||
	    snprintf(c->exec, sizeof(c->exec), "%s/%s", c->root,
		     a->exec_name) >= (int)sizeof(c->exec))
		return fail(err, errlen, "the chroot path is too long");

	/* Each step relative to the directory opened before, O_NOFOLLOW:
	 * a symlink put in the way meanwhile is refused, never followed. */
	basefd = open(a->base, DIR_OPEN);
	if (basefd < 0) {
		fail(err, errlen, "cannot open --chroot-base-dir '%s': %s",
		     a->base, strerror(errno));
		goto out;
	}
	if (mkdirat(basefd, a->exec_name, 0755) == 0) {
		c->made_name_dir = true;
	} else if (errno != EEXIST) {
		fail(err, errlen, "cannot create '%s': %s", c->name_dir,
		     strerror(errno));
		goto out;
	}
	namefd = openat(basefd, a->exec_name, DIR_OPEN);
	if (namefd < 0) {
		fail(err, errlen, "cannot open '%s': %s", c->name_dir,
		     strerror(errno));
		goto out;
	}
	if (mkdirat(namefd, a->id, 0755) < 0) {
		if (errno == EEXIST) {
			ret = VMM_EXIT_CONFIG;
			fail(err, errlen, "'%s' exists already: a jail for id '%s' was made before (remove it first)",
			     c->id_dir, a->id);
			goto out;
		}
		fail(err, errlen, "cannot create '%s': %s", c->id_dir,
		     strerror(errno));
		goto out;
	}
	c->made_id_dir = true;
	idfd = openat(namefd, a->id, DIR_OPEN);
	if (idfd < 0 || mkdirat(idfd, "root", 0700) < 0) {
		fail(err, errlen, "cannot create '%s': %s", c->root,
		     strerror(errno));
		goto out;
	}
	c->made_root = true;
	rootfd = openat(idfd, "root", DIR_OPEN);
	if (rootfd < 0 || fstat(rootfd, &st) < 0) {
		fail(err, errlen, "cannot open '%s': %s", c->root,
		     strerror(errno));
		goto out;
	}
	c->root_dev = st.st_dev;
	c->root_ino = st.st_ino;
	ret = copy_exec(a, c, rootfd, err, errlen);
out:
	/* kept for jailer_chroot_remove() */
	c->dir_fd[0] = basefd;
	c->dir_fd[1] = namefd;
	c->dir_fd[2] = idfd;
	c->dir_fd[3] = rootfd;
	if (ret)
		jailer_chroot_remove(c);
	return ret;
}

static void close_dirs(struct jailer_chroot *c)
{
	for (int i = 0; i < 4; i++)
		close_fd(&c->dir_fd[i]);
}

/* The last component of @path (each of c's paths has a '/'). */
static const char *last(const char *path)
{
	return strrchr(path, '/') + 1;
}

/* unlinkat(@dirfd, the last component of @path), when both are there. */
static void remove_in(int dirfd, const char *path, int flags)
{
	if (dirfd >= 0 && unlinkat(dirfd, last(path), flags) < 0) {
		/* best effort: what cannot go is left */
	}
}

void jailer_chroot_remove(struct jailer_chroot *c)
{
	if (c->entered)
		return;
	if (c->made_exec)
		remove_in(c->dir_fd[3], c->exec, 0);
	if (c->made_root)
		remove_in(c->dir_fd[2], c->root, AT_REMOVEDIR);
	if (c->made_id_dir)
		remove_in(c->dir_fd[1], c->id_dir, AT_REMOVEDIR);
	if (c->made_name_dir)
		remove_in(c->dir_fd[0], c->name_dir, AT_REMOVEDIR);
	c->made_exec = c->made_root = c->made_id_dir = c->made_name_dir = false;
	close_dirs(c);
}

int jailer_chroot_enter(struct jailer_chroot *c, char *err, size_t errlen)
{
	struct stat st;

	/* Newer Firecracker hands its VMM /dev/userfaultfd: a misc device
	 * whose minor number is given at boot, so copy the host's. */
	if (stat("/dev/userfaultfd", &st) == 0 && S_ISCHR(st.st_mode)) {
		c->has_uffd = true;
		c->uffd_rdev = st.st_rdev;
	}
	if (unshare(CLONE_NEWNS) < 0)
		return fail(err, errlen, "cannot make a mount namespace: %s",
			    strerror(errno));
	/* slave: host mounts still reach us, ours never reach the host */
	if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		return fail(err, errlen, "cannot make / a slave mount: %s",
			    strerror(errno));
	/* pivot_root needs the new root to be a mount point */
	if (mount(c->root, c->root, NULL, MS_BIND, NULL) < 0)
		return fail(err, errlen, "cannot bind-mount '%s': %s", c->root,
			    strerror(errno));
	if (chdir(c->root) < 0)
		return fail(err, errlen, "cannot enter '%s': %s", c->root,
			    strerror(errno));
	/* The mount and chdir() above went by path: whoever can write in
	 * <base> or <base>/<exec name> could have put a symlink in the way
	 * since the directory was made, and / would then be somewhere else
	 * on the host, given to uid:gid below. From here on "." is what
	 * counts: it must be the directory made. */
	if (stat(".", &st) < 0 || st.st_dev != c->root_dev ||
	    st.st_ino != c->root_ino)
		return fail(err, errlen,
			    "'%s' is no longer the directory the jailer made (a symlink put in its path?)",
			    c->root);
	/* pivot_root(".", ".") stacks the old root on the new one; detaching
	 * the top of "." then leaves only the jail (pivot_root(2)) */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return fail(err, errlen, "pivot_root into '%s' failed: %s",
			    c->root, strerror(errno));
	c->entered = true;
	close_dirs(c); /* nothing of the host's stays open in the jail */
	if (umount2(".", MNT_DETACH) < 0)
		return fail(err, errlen, "cannot detach the old root: %s",
			    strerror(errno));
	if (chdir("/") < 0 || chroot(".") < 0)
		return fail(err, errlen, "cannot chroot into the jail: %s",
			    strerror(errno));
	return 0;
}

static int own(const char *path, mode_t mode, uid_t uid, gid_t gid, char *err,
	       size_t errlen)
{
	if (chmod(path, mode) < 0 || chown(path, uid, gid) < 0)
		return fail(err, errlen, "cannot give '%s' to %u:%u: %s", path,
			    (unsigned)uid, (unsigned)gid, strerror(errno));
	return 0;
}

static int make_node(const char *path, dev_t dev, uid_t uid, gid_t gid,
		     char *err, size_t errlen)
{
	if (mknod(path, S_IFCHR | 0600, dev) < 0)
		return fail(err, errlen, "cannot make the device node '%s' (%u:%u) in the jail: %s",
			    path, major(dev), minor(dev), strerror(errno));
	return own(path, 0600, uid, gid, err, errlen);
}

int jailer_chroot_populate(const struct jailer_chroot *c, uid_t uid, gid_t gid,
			   char *err, size_t errlen)
{
	static const char *const dirs[] = { "/", "/dev", "/dev/net", "/run" };
	int ret;

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (mkdir(dirs[i], 0700) < 0 && errno != EEXIST)
			return fail(err, errlen, "cannot create '%s' in the jail: %s",
				    dirs[i], strerror(errno));
	ret = make_node("/dev/kvm", makedev(10, 232), uid, gid, err, errlen);
	if (!ret)
		ret = make_node("/dev/net/tun", makedev(10, 200), uid, gid, err,
				errlen);
	if (!ret && c->has_uffd)
		ret = make_node("/dev/userfaultfd", c->uffd_rdev, uid, gid, err,
				errlen);
	/* The jail's root goes to the VM's uid last: until then it is root's,
	 * 0700, so no process of that uid can plant an entry that a chown or
	 * chmod here would follow. */
	for (size_t i = sizeof(dirs) / sizeof(dirs[0]); i-- > 0 && !ret;)
		ret = own(dirs[i], 0700, uid, gid, err, errlen);
	return ret;
}
