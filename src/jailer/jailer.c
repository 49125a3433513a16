// SPDX-License-Identifier: Apache-2.0
/*
 * `figment jailer ...` (also figment started as `jailer` or
 * `figment-jailer`): Firecracker's jailer. Order of operations:
 *
 *   1. close every fd above 2, note the start times;
 *   2. parse and check everything (ids, paths, netns, cgroup controllers,
 *      limits) -- bad input ends here, with nothing created;
 *   3. make the chroot and copy the exec file in; make the cgroups, write
 *      their values, move in (undone, with the chroot, if that fails);
 *   4. rlimits; join the netns; open /dev/null for --daemonize;
 *   5. new mount namespace, pivot_root into the chroot; /dev nodes, /run;
 *   6. --daemonize: setsid, stdio to /dev/null;
 *   7. --new-pid-ns: fork into a new PID namespace, the parent writes the
 *      child's pid to /<exec name>.pid and exits once the child has exec'd;
 *   8. drop to uid:gid (no groups, no capabilities, no new privileges) and
 *      exec /<exec name> with an empty environment.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "jailer/jailer_args.h"
#include "jailer/jailer_cgroup.h"
#include "jailer/jailer_chroot.h"
#include "vmm_exit.h"

#define ERR_MAX 1024
#define ARG_NUM 24

static const char *prog = "jailer";

static uint64_t now_us(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Whatever the caller left open must not reach the VMM. */
static void close_inherited_fds(void)
{
	DIR *d;
	struct dirent *e;

	if (close_range(3, ~0U, 0) == 0)
		return;
	d = opendir("/proc/self/fd");
	if (!d)
		return;
	while ((e = readdir(d))) {
		int fd = atoi(e->d_name);

		if (fd > 2 && fd != dirfd(d))
			close(fd);
	}
	closedir(d);
}

/* RLIMIT_NOFILE above fs.nr_open is refused by setrlimit(): say so before
 * anything is made. */
static int check_limits(const struct jailer_args *a, char *err, size_t errlen)
{
	unsigned long long nr_open = 0;
	FILE *f = fopen("/proc/sys/fs/nr_open", "re");

	if (f) {
		if (fscanf(f, "%llu", &nr_open) != 1)
			nr_open = 0;
		fclose(f);
	}
	if (nr_open && a->nofile > nr_open) {
		snprintf(err, errlen,
			 "--resource-limit no-file=%llu is above the host's fs.nr_open (%llu)",
			 (unsigned long long)a->nofile, nr_open);
		return VMM_EXIT_CONFIG;
	}
	return 0;
}

static int set_limits(const struct jailer_args *a, char *err, size_t errlen)
{
	struct rlimit nofile = { a->nofile, a->nofile };
	struct rlimit fsize = { a->fsize, a->fsize };

	if (setrlimit(RLIMIT_NOFILE, &nofile) < 0 ||
	    (a->has_fsize && setrlimit(RLIMIT_FSIZE, &fsize) < 0)) {
		snprintf(err, errlen, "setrlimit failed: %s", strerror(errno));
		return VMM_EXIT_ERROR;
	}
	return 0;
}

/* For good: no supplementary groups, then gid, then uid (the order
 * matters: after setresuid the process could no longer change its gid).
 * Leaving uid 0 clears every capability; no_new_privs keeps a setuid file
 * from giving any back. */
static int drop_privileges(const struct jailer_args *a, char *err,
			   size_t errlen)
{
	if (setgroups(0, NULL) < 0 ||
	    setresgid(a->gid, a->gid, a->gid) < 0 ||
	    setresuid(a->uid, a->uid, a->uid) < 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		snprintf(err, errlen, "cannot drop to uid %u gid %u: %s",
			 (unsigned)a->uid, (unsigned)a->gid, strerror(errno));
		return VMM_EXIT_ERROR;
	}
	return 0;
}

struct exec_argv {
	char path[PATH_MAX];
	char start_us[ARG_NUM], start_cpu_us[ARG_NUM], parent_cpu_us[ARG_NUM];
	char **argv;
};

/* /<exec name> --id ID --start-time-us T --start-time-cpu-us C
 * --parent-cpu-time-us P ARGS... (as Firecracker's jailer). */
static int build_argv(const struct jailer_args *a, struct exec_argv *x,
		      uint64_t start_us, uint64_t start_cpu_us)
{
	size_t n = 0;

	snprintf(x->path, sizeof(x->path), "/%s", a->exec_name);
	snprintf(x->start_us, sizeof(x->start_us), "%llu",
		 (unsigned long long)start_us);
	snprintf(x->start_cpu_us, sizeof(x->start_cpu_us), "%llu",
		 (unsigned long long)start_cpu_us);
	snprintf(x->parent_cpu_us, sizeof(x->parent_cpu_us), "0");
	x->argv = calloc((size_t)a->nr_extra + 10, sizeof(*x->argv));
	if (!x->argv)
		return -ENOMEM;
	x->argv[n++] = x->path;
	x->argv[n++] = "--id";
	x->argv[n++] = (char *)a->id;
	x->argv[n++] = "--start-time-us";
	x->argv[n++] = x->start_us;
	x->argv[n++] = "--start-time-cpu-us";
	x->argv[n++] = x->start_cpu_us;
	x->argv[n++] = "--parent-cpu-time-us";
	x->argv[n++] = x->parent_cpu_us;
	for (int i = 0; i < a->nr_extra; i++)
		x->argv[n++] = a->extra[i];
	return 0;
}

/* Drops privileges and execs; returns only on failure, with @err. */
static void drop_and_exec(const struct jailer_args *a, struct exec_argv *x,
			  char *err, size_t errlen)
{
	static char *const empty_env[] = { NULL };

	if (drop_privileges(a, err, errlen))
		return;
	execve(x->path, x->argv, empty_env);
	snprintf(err, errlen, "cannot exec '%.512s' in the jail as uid %u: %s",
		 x->path, (unsigned)a->uid, strerror(errno));
}

/* The pid file appears whole: written under a temporary name, renamed. */
static int write_pid_file(const struct jailer_args *a, pid_t pid, char *err,
			  size_t errlen)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8], num[24];
	int fd, n, ok;

	snprintf(path, sizeof(path), "/%s.pid", a->exec_name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	n = snprintf(num, sizeof(num), "%d", (int)pid);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	ok = fd >= 0 && write(fd, num, (size_t)n) == n;
	if (fd >= 0 && close(fd) < 0)
		ok = 0;
	if (!ok || rename(tmp, path) < 0) {
		snprintf(err, errlen, "cannot write the pid file '%.512s': %s",
			 path, strerror(errno));
		unlink(tmp);
		return VMM_EXIT_ERROR;
	}
	return 0;
}

/*
 * --new-pid-ns: the child is pid 1 of a new PID namespace and execs; the
 * parent writes its pid (as the host sees it) to /<exec name>.pid and
 * returns 0 once the child's exec succeeded: a pipe closed on exec
 * (O_CLOEXEC) with nothing in it says so, a message in it says why not.
 */
static int exec_in_new_pid_ns(const struct jailer_args *a, struct exec_argv *x,
			      uint64_t cpu0, char *err, size_t errlen)
{
	char msg[ERR_MAX];
	int p[2], status;
	ssize_t n;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0 || unshare(CLONE_NEWPID) < 0) {
		snprintf(err, errlen, "cannot make a PID namespace: %s",
			 strerror(errno));
		return VMM_EXIT_ERROR;
	}
	/* what the jailer spent, for the VMM's own accounting */
	snprintf(x->parent_cpu_us, sizeof(x->parent_cpu_us), "%llu",
		 (unsigned long long)(now_us(CLOCK_PROCESS_CPUTIME_ID) - cpu0));
	snprintf(x->start_cpu_us, sizeof(x->start_cpu_us), "0");
	pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "cannot fork into the PID namespace: %s",
			 strerror(errno));
		return VMM_EXIT_ERROR;
	}
	if (pid == 0) {
		close(p[0]);
		drop_and_exec(a, x, msg, sizeof(msg));
		n = write(p[1], msg, strlen(msg));
		(void)n;
		_exit(VMM_EXIT_ERROR);
	}
	close(p[1]);
	if (write_pid_file(a, pid, err, errlen)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return VMM_EXIT_ERROR;
	}
	do
		n = read(p[0], msg, sizeof(msg) - 1);
	while (n < 0 && errno == EINTR);
	close(p[0]);
	if (n > 0) {
		msg[n] = '\0';
		snprintf(err, errlen, "%s", msg);
		waitpid(pid, &status, 0);
		return VMM_EXIT_ERROR;
	}
	return 0;
}

static void report(int status, const char *err)
{
	if (status && *err)
		fprintf(stderr, "%s: %s\n", prog, err);
}

int cmd_jailer(const char *name, int argc, char **argv)
{
	uint64_t start_us = now_us(CLOCK_MONOTONIC);
	uint64_t cpu0 = now_us(CLOCK_PROCESS_CPUTIME_ID);
	struct jailer_cgroups *cg = NULL;
	struct jailer_chroot chroot;
	struct jailer_args a;
	struct exec_argv x = { .argv = NULL };
	char err[ERR_MAX] = "";
	int netns_fd = -1, null_fd = -1, ret;
	bool chroot_entered = false;
	pid_t self = getpid();

	prog = name;
	close_inherited_fds();
	ret = jailer_parse(argc, argv, &a, err, sizeof(err));
	if (ret == VMM_EXIT_USAGE) {
		fprintf(stderr, "%s: %s\nTry '%s --help'.\n", prog, err, prog);
		goto out_args;
	}
	if (ret)
		goto out_args;
	if (a.help || a.version) {
		if (a.help)
			jailer_usage(stdout, prog);
		else
			printf("Jailer v%s (figment)\n", JAILER_COMPAT_VERSION);
		goto out_args;
	}

	/* 2. everything checked before anything is made */
	cg = malloc(sizeof(*cg));
	if (!cg) {
		snprintf(err, sizeof(err), "out of memory");
		ret = VMM_EXIT_ERROR;
		goto out_args;
	}
	ret = jailer_check_paths(&a, &netns_fd, err, sizeof(err));
	if (!ret)
		ret = jailer_cgroup_plan(&a, "/proc/mounts", "/proc/self/cgroup",
					 cg, err, sizeof(err));
	if (!ret)
		ret = check_limits(&a, err, sizeof(err));
	if (!ret && build_argv(&a, &x, start_us, cpu0)) {
		snprintf(err, sizeof(err), "out of memory");
		ret = VMM_EXIT_ERROR;
	}
	if (ret)
		goto out_args;

	/* 3. the chroot, then the cgroups; either failing undoes both */
	ret = jailer_chroot_create(&a, &chroot, err, sizeof(err));
	if (ret)
		goto out_args;
	ret = jailer_cgroup_apply(cg, self, err, sizeof(err));
	/* 4. */
	if (!ret)
		ret = set_limits(&a, err, sizeof(err));
	if (!ret && netns_fd >= 0 && setns(netns_fd, CLONE_NEWNET) < 0) {
		snprintf(err, sizeof(err), "cannot join the network namespace '%s': %s",
			 a.netns, strerror(errno));
		ret = VMM_EXIT_ERROR;
	}
	if (!ret && a.daemonize) {
		null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null_fd < 0) {
			snprintf(err, sizeof(err), "cannot open /dev/null: %s",
				 strerror(errno));
			ret = VMM_EXIT_ERROR;
		}
	}
	/* 5. */
	if (!ret)
		ret = jailer_chroot_enter(&chroot, err, sizeof(err));
	chroot_entered = chroot.entered;
	if (ret) {
		jailer_cgroup_undo(cg, self);
		jailer_chroot_remove(&chroot); /* unless already inside */
		goto out_args;
	}
	ret = jailer_chroot_populate(&chroot, a.uid, a.gid, err, sizeof(err));
	if (ret)
		goto out_args;

	/* 6. as late as possible: until here errors still reach stderr */
	if (a.daemonize) {
		if (setsid() < 0) {
			snprintf(err, sizeof(err),
				 "--daemonize: setsid failed (is the jailer a process group leader?): %s",
				 strerror(errno));
			ret = VMM_EXIT_ERROR;
			goto out_args;
		}
		if (dup2(null_fd, 0) < 0 || dup2(null_fd, 1) < 0 ||
		    dup2(null_fd, 2) < 0) {
			snprintf(err, sizeof(err), "--daemonize: dup2 failed: %s",
				 strerror(errno));
			ret = VMM_EXIT_ERROR;
			goto out_args;
		}
	}

	/* 7., 8. */
	if (a.new_pid_ns) {
		ret = exec_in_new_pid_ns(&a, &x, cpu0, err, sizeof(err));
	} else {
		drop_and_exec(&a, &x, err, sizeof(err));
		ret = VMM_EXIT_ERROR;
	}
out_args:
	if (netns_fd >= 0)
		close(netns_fd);
	if (null_fd >= 0)
		close(null_fd);
	free(x.argv);
	free(cg);
	jailer_args_free(&a);
	if (ret != VMM_EXIT_USAGE)
		report(ret, err);
	/* Inside the jail there is no /proc, and exit handlers that need it
	 * (LeakSanitizer's, in the sanitizer build) would spin: leave at once,
	 * stdio flushed. */
	if (chroot_entered) {
		fflush(NULL);
		_exit(ret);
	}
	return ret;
}
