// SPDX-License-Identifier: Apache-2.0
/* The jailer's command line (jailer_parse), the path checks that create
 * nothing (jailer_check_paths), the cgroup plan against a fake
 * /proc/mounts, and the chroot directory made and removed again. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jailer/jailer_args.h"
#include "jailer/jailer_cgroup.h"
#include "jailer/jailer_chroot.h"
#include "vmm_exit.h"

#define ID "551e7604-e35c-42b3-b825-416853441234"

static char err[1024];
static struct jailer_args a;

/* @a points into its argv (a.extra): one that outlives each PARSE. */
static char *argv_buf[64];

/* Parses a list of arguments (after the program name). */
#define PARSE(...)                                                         \
	({                                                                 \
		char *v_[] = { "jailer", __VA_ARGS__, NULL };              \
		memcpy(argv_buf, v_, sizeof(v_));                          \
		jailer_args_free(&a);                                      \
		jailer_parse((int)(sizeof(v_) / sizeof(v_[0])) - 1,        \
			     argv_buf, &a, err, sizeof(err));              \
	})

#define REQUIRED "--id", ID, "--exec-file", "/usr/bin/figment", "--uid", \
		 "123", "--gid", "100"

static void args_fini(void)
{
	jailer_args_free(&a);
}

TestSuite(jailer_parse, .fini = args_fini, .timeout = 10);

Test(jailer_parse, the_go_sdk_command_line_and_defaults)
{
	cr_assert_eq(PARSE(REQUIRED, "--", "--api-sock",
			   "/run/firecracker.socket"),
		     0, "%s", err);
	cr_assert_str_eq(a.id, ID);
	cr_assert_str_eq(a.exec_name, "figment");
	cr_assert_str_eq(a.base, "/srv/jailer");
	cr_assert_str_eq(a.parent_cgroup, "figment");
	cr_assert_eq(a.uid, 123);
	cr_assert_eq(a.gid, 100);
	cr_assert_eq(a.cgroup_version, 1);
	cr_assert_eq(a.nofile, JAILER_DEFAULT_NOFILE);
	cr_assert_not(a.has_fsize);
	cr_assert_not(a.daemonize || a.new_pid_ns || a.allow_root);
	cr_assert_null(a.netns);
	cr_assert_eq(a.nr_extra, 2);
	cr_assert_str_eq(a.extra[0], "--api-sock");
	cr_assert_str_eq(a.extra[1], "/run/firecracker.socket");
	char path[256];

	cr_assert_eq(jailer_chroot_path(&a, path, sizeof(path)), 0);
	cr_assert_str_eq(path, "/srv/jailer/figment/" ID "/root");
}

Test(jailer_parse, every_flag)
{
	cr_assert_eq(PARSE("--id=abc-1", "--exec-file", "fc", "--uid", "0",
			   "--gid", "0", "--allow-root", "--chroot-base-dir",
			   "/tmp/base///", "--netns", "/var/run/netns/a",
			   "--daemonize", "--new-pid-ns", "--cgroup",
			   "cpu.max=50000 100000", "--cgroup",
			   "io.max=8:0 rbps=1048576", "--cgroup-version", "2",
			   "--parent-cgroup", "all/vms", "--resource-limit",
			   "fsize=250000000", "--resource-limit",
			   "no-file=1024"),
		     0, "%s", err);
	cr_assert_str_eq(a.exec_name, "fc");
	cr_assert_str_eq(a.base, "/tmp/base");
	cr_assert_str_eq(a.netns, "/var/run/netns/a");
	cr_assert(a.daemonize && a.new_pid_ns && a.allow_root);
	cr_assert_eq(a.nr_cgroups, 2);
	cr_assert_str_eq(a.cgroups[0].file, "cpu.max");
	cr_assert_str_eq(a.cgroups[0].value, "50000 100000");
	cr_assert_str_eq(a.cgroups[0].controller, "cpu");
	/* split at the first '=': the value keeps its own */
	cr_assert_str_eq(a.cgroups[1].file, "io.max");
	cr_assert_str_eq(a.cgroups[1].value, "8:0 rbps=1048576");
	cr_assert_eq(a.cgroup_version, 2);
	cr_assert_str_eq(a.parent_cgroup, "all/vms");
	cr_assert(a.has_fsize);
	cr_assert_eq(a.fsize, 250000000);
	cr_assert_eq(a.nofile, 1024);
	cr_assert_eq(a.nr_extra, 0);
}

Test(jailer_parse, help_and_version)
{
	cr_assert_eq(PARSE("--help"), 0);
	cr_assert(a.help);
	cr_assert_eq(PARSE("--version"), 0);
	cr_assert(a.version);
}

Test(jailer_parse, a_double_dash_that_is_a_value_is_not_the_end)
{
	/* "--" consumed as --netns's value; "x" is then a stray argument */
	cr_assert_eq(PARSE(REQUIRED, "--netns", "--", "x"), VMM_EXIT_USAGE);
	cr_assert_str_eq(err, "unexpected argument 'x' (arguments for the exec file go after '--')");
	cr_assert_eq(PARSE(REQUIRED, "--"), 0, "%s", err);
	cr_assert_eq(a.nr_extra, 0);
	/* everything after the first "--" is the exec file's, flags too */
	cr_assert_eq(PARSE(REQUIRED, "--", "--uid", "0", "--"), 0, "%s", err);
	cr_assert_eq(a.nr_extra, 3);
	cr_assert_eq(a.uid, 123);
}

Test(jailer_parse, usage_errors_are_status_2)
{
	static const struct {
		int argc;
		char *argv[8];
		const char *msg;
	} cases[] = {
		{ 2, { "--bogus", "x" }, "unknown option '--bogus'" },
		{ 1, { "--id" }, "option '--id' needs a value" },
		{ 6, { "--exec-file", "f", "--uid", "1", "--gid", "1" },
		  "missing --id" },
		{ 6, { "--id", "a", "--uid", "1", "--gid", "1" },
		  "missing --exec-file" },
		{ 6, { "--id", "a", "--exec-file", "f", "--gid", "1" },
		  "missing --uid" },
		{ 6, { "--id", "a", "--exec-file", "f", "--uid", "1" },
		  "missing --gid" },
		{ 2, { "--uid", "12x" },
		  "--uid takes a number from 0 to 4294967294, not '12x'" },
		{ 2, { "--uid", "-1" },
		  "--uid takes a number from 0 to 4294967294, not '-1'" },
		{ 2, { "--gid", "4294967295" },
		  "--gid takes a number from 0 to 4294967294, not '4294967295'" },
		{ 4, { "--id", "a", "--id", "b" }, "--id given twice" },
		{ 4, { "--uid", "1", "--uid", "2" }, "--uid given twice" },
		{ 2, { "--cgroup-version", "3" },
		  "--cgroup-version takes 1 or 2, not '3'" },
		{ 2, { "--cgroup", "cpu.max" },
		  "--cgroup takes FILE=VALUE (e.g. cpu.max=50000), not 'cpu.max'" },
		{ 2, { "--cgroup", "cpu.max=" },
		  "--cgroup takes FILE=VALUE (e.g. cpu.max=50000), not 'cpu.max='" },
		{ 2, { "--resource-limit", "nofile=1" },
		  "--resource-limit: unknown resource in 'nofile=1' (fsize, no-file)" },
		{ 2, { "--resource-limit", "fsize=-1" },
		  "--resource-limit takes fsize=N or no-file=N, not 'fsize=-1'" },
		{ 2, { "--resource-limit", "fsize" },
		  "--resource-limit takes fsize=N or no-file=N, not 'fsize'" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[10] = { "jailer" };

		memcpy(argv + 1, cases[i].argv, sizeof(cases[i].argv));
		jailer_args_free(&a);
		cr_assert_eq(jailer_parse(cases[i].argc + 1, argv, &a, err,
					  sizeof(err)),
			     VMM_EXIT_USAGE, "case %zu: %s", i, err);
		cr_assert_str_eq(err, cases[i].msg, "case %zu", i);
	}
}

Test(jailer_parse, bad_values_are_status_3)
{
	static const char *const bad_ids[] = { "a/b", "..", "../x", "a.b",
					       "a_b", "" };

	for (size_t i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
		char *argv[] = { "jailer", "--id", (char *)bad_ids[i],
				 "--exec-file", "f", "--uid", "1", "--gid",
				 "1", NULL };

		jailer_args_free(&a);
		cr_assert_eq(jailer_parse(9, argv, &a, err, sizeof(err)),
			     VMM_EXIT_CONFIG, "id '%s'", bad_ids[i]);
		cr_assert(strstr(err, "invalid --id"), "%s", err);
	}
	char long_id[66];

	memset(long_id, 'a', 65);
	long_id[65] = '\0';
	cr_assert_eq(PARSE("--id", long_id, "--exec-file", "f", "--uid", "1",
			   "--gid", "1"),
		     VMM_EXIT_CONFIG);
	long_id[64] = '\0';
	cr_assert_eq(PARSE("--id", long_id, "--exec-file", "f", "--uid", "1",
			   "--gid", "1"),
		     0, "%s", err);

	cr_assert_eq(PARSE("--id", "a", "--exec-file", "f", "--uid", "0",
			   "--gid", "1"),
		     VMM_EXIT_CONFIG);
	cr_assert_str_eq(err, "--uid 0 would leave the VMM running as root; give --allow-root if that is meant");
	cr_assert_eq(PARSE("--id", "a", "--exec-file", "f", "--uid", "1",
			   "--gid", "0"),
		     VMM_EXIT_CONFIG);
	cr_assert(strstr(err, "--gid 0"), "%s", err);

	cr_assert_eq(PARSE(REQUIRED, "--parent-cgroup", "../escape"),
		     VMM_EXIT_CONFIG);
	cr_assert(strstr(err, "--parent-cgroup '../escape' must be a relative path"),
		  "%s", err);
	cr_assert_eq(PARSE(REQUIRED, "--parent-cgroup", "/abs"), VMM_EXIT_CONFIG);
	cr_assert_eq(PARSE(REQUIRED, "--parent-cgroup", "a//b"), VMM_EXIT_CONFIG);
	cr_assert_eq(PARSE(REQUIRED, "--parent-cgroup", "a/./b"), VMM_EXIT_CONFIG);
	cr_assert_eq(PARSE(REQUIRED, "--parent-cgroup", "a/"), VMM_EXIT_CONFIG);
	cr_assert_eq(PARSE(REQUIRED, "--parent-cgroup", "a/b..c"), 0, "%s", err);

	cr_assert_eq(PARSE(REQUIRED, "--cgroup", "nodot=1"), VMM_EXIT_CONFIG);
	cr_assert_eq(PARSE(REQUIRED, "--cgroup", "../cpu.max=1"),
		     VMM_EXIT_CONFIG);
	cr_assert_eq(PARSE(REQUIRED, "--cgroup", ".max=1"), VMM_EXIT_CONFIG);
	cr_assert_eq(PARSE(REQUIRED, "--cgroup", "cpu.=1"), VMM_EXIT_CONFIG);
	cr_assert_eq(PARSE(REQUIRED, "--cgroup", "cpu.max=1\n2"),
		     VMM_EXIT_CONFIG);
	cr_assert_eq(PARSE(REQUIRED, "--resource-limit", "no-file=2"),
		     VMM_EXIT_CONFIG);
	cr_assert_eq(PARSE("--id", "a", "--exec-file", "/bin/", "--uid", "1",
			   "--gid", "1"),
		     VMM_EXIT_CONFIG);
	cr_assert_eq(PARSE("--id", "a", "--exec-file", "/bin/..", "--uid", "1",
			   "--gid", "1"),
		     VMM_EXIT_CONFIG);
}

/* ------------------------------------------------ paths, on a temp dir -- */

static char dir[] = "/tmp/figment-jailer-XXXXXX";
static char path[512];

static const char *at(const char *name)
{
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

static void link_to(const char *target, const char *name)
{
	char t[512];

	snprintf(t, sizeof(t), "%s/%s", dir, target);
	cr_assert_eq(symlink(t, at(name)), 0);
}

static void touch(const char *name, mode_t mode)
{
	int fd = open(at(name), O_CREAT | O_WRONLY | O_TRUNC, mode);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "#!binary", 8), 8);
	close(fd);
	chmod(path, mode);
}

static void dir_setup(void)
{
	memset(&a, 0, sizeof(a));
	cr_assert_not_null(mkdtemp(dir));
	cr_assert_eq(mkdir(at("base"), 0755), 0);
	touch("vmm", 0755);
}

static void dir_teardown(void)
{
	char cmd[600];

	jailer_args_free(&a);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

/* Parses REQUIRED with @exec and @base (paths under the temp dir). */
static int parse_paths(const char *exec, const char *base, const char *netns)
{
	static char e[512], b[512]; /* @a points into them */
	char *argv[16] = { "jailer", "--id", ID, "--uid", "1", "--gid", "1",
			   "--exec-file", e, "--chroot-base-dir", b };
	int argc = 11;

	snprintf(e, sizeof(e), "%s/%s", dir, exec);
	snprintf(b, sizeof(b), "%s/%s", dir, base);
	if (netns) {
		argv[argc++] = "--netns";
		argv[argc++] = (char *)netns;
	}
	jailer_args_free(&a);
	return jailer_parse(argc, argv, &a, err, sizeof(err));
}

static int check(void)
{
	int fd = -2, ret = jailer_check_paths(&a, &fd, err, sizeof(err));

	if (fd >= 0)
		close(fd);
	return ret;
}

TestSuite(jailer_paths, .init = dir_setup, .fini = dir_teardown, .timeout = 10);

Test(jailer_paths, a_good_exec_file_and_base)
{
	cr_assert_eq(parse_paths("vmm", "base", NULL), 0, "%s", err);
	cr_assert_eq(check(), 0, "%s", err);
}

Test(jailer_paths, the_exec_file_must_be_a_regular_executable_file)
{
	link_to("vmm", "link");
	cr_assert_eq(parse_paths("link", "base", NULL), 0);
	cr_assert_eq(check(), VMM_EXIT_CONFIG);
	cr_assert(strstr(err, "is a symlink, not a regular file"), "%s", err);

	touch("plain", 0644);
	parse_paths("plain", "base", NULL);
	cr_assert_eq(check(), VMM_EXIT_CONFIG);
	cr_assert(strstr(err, "is not executable"), "%s", err);

	parse_paths("base", "base", NULL);
	cr_assert_eq(check(), VMM_EXIT_CONFIG);
	cr_assert(strstr(err, "is a directory, not a regular file"), "%s", err);

	parse_paths("missing", "base", NULL);
	cr_assert_eq(check(), VMM_EXIT_CONFIG);
	cr_assert(strstr(err, "No such file or directory"), "%s", err);
}

Test(jailer_paths, the_base_must_be_a_directory_not_a_symlink)
{
	link_to("base", "baselink");
	parse_paths("vmm", "baselink", NULL);
	cr_assert_eq(check(), VMM_EXIT_CONFIG);
	cr_assert(strstr(err, "is a symlink, not a directory"), "%s", err);
	/* a trailing '/' would have made lstat() follow the link */
	parse_paths("vmm", "baselink/", NULL);
	cr_assert_eq(check(), VMM_EXIT_CONFIG);
	cr_assert(strstr(err, "is a symlink"), "%s", err);

	parse_paths("vmm", "vmm", NULL);
	cr_assert_eq(check(), VMM_EXIT_CONFIG);
	cr_assert(strstr(err, "is a regular file, not a directory"), "%s", err);

	parse_paths("vmm", "nowhere", NULL);
	cr_assert_eq(check(), VMM_EXIT_CONFIG);
}

Test(jailer_paths, a_jail_for_the_id_must_not_exist)
{
	cr_assert_eq(mkdir(at("base/vmm"), 0755), 0);
	parse_paths("vmm", "base", NULL);
	cr_assert_eq(check(), 0, "%s", err); /* other jails share base/vmm */
	cr_assert_eq(mkdir(at("base/vmm/" ID), 0755), 0);
	cr_assert_eq(check(), VMM_EXIT_CONFIG);
	cr_assert(strstr(err, "exists already: a jail for id '" ID "'"), "%s",
		  err);
}

Test(jailer_paths, the_netns_must_be_a_network_namespace)
{
	int fd = -1;

	parse_paths("vmm", "base", "/proc/self/ns/net");
	cr_assert_eq(jailer_check_paths(&a, &fd, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_geq(fd, 0);
	close(fd);

	parse_paths("vmm", "base", "/proc/self/ns/mnt");
	cr_assert_eq(check(), VMM_EXIT_CONFIG);
	cr_assert(strstr(err, "is a namespace, but not a network namespace"),
		  "%s", err);

	parse_paths("vmm", "base", at("vmm"));
	cr_assert_eq(check(), VMM_EXIT_CONFIG);
	cr_assert(strstr(err, "is not a namespace file"), "%s", err);

	/* a FIFO with no writer: refused at once, not waited on */
	cr_assert_eq(mkfifo(at("fifo"), 0600), 0);
	parse_paths("vmm", "base", at("fifo"));
	cr_assert_eq(check(), VMM_EXIT_CONFIG);
	cr_assert(strstr(err, "is not a namespace file"), "%s", err);

	parse_paths("vmm", "base", "/nonexistent/netns");
	cr_assert_eq(check(), VMM_EXIT_CONFIG);
	cr_assert(strstr(err, "No such file or directory"), "%s", err);
}

/* ------------------------------------------------------- the chroot dir -- */

Test(jailer_paths, the_chroot_is_made_and_removed_again)
{
	struct jailer_chroot c;
	struct stat st;
	char want[512];

	parse_paths("vmm", "base", NULL);
	cr_assert_eq(jailer_chroot_create(&a, &c, err, sizeof(err)), 0, "%s",
		     err);
	snprintf(want, sizeof(want), "%s/base/vmm/" ID "/root", dir);
	cr_assert_str_eq(c.root, want);
	cr_assert_eq(lstat(want, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0700);
	strcat(want, "/vmm");
	cr_assert_eq(lstat(want, &st), 0);
	cr_assert(S_ISREG(st.st_mode));
	cr_assert_eq(st.st_mode & 07777, 0755);
	cr_assert_eq(st.st_size, 8);

	/* the same id again: refused, and the first jail is left alone */
	struct jailer_chroot c2;

	cr_assert_eq(jailer_chroot_create(&a, &c2, err, sizeof(err)),
		     VMM_EXIT_CONFIG);
	cr_assert(strstr(err, "exists already"), "%s", err);
	cr_assert_eq(lstat(want, &st), 0);

	jailer_chroot_remove(&c);
	cr_assert_neq(lstat(at("base/vmm"), &st), 0);
	cr_assert_eq(lstat(at("base"), &st), 0);
}

/* Enters @c in a child (a new mount namespace of its own, so the test
 * process keeps its root): the child's status is what enter returned, 100
 * more when the jail it ended up in is not the one made (no /vmm in it). */
static int enter_in_child(struct jailer_chroot *c)
{
	int status;
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct stat st;
		int ret = jailer_chroot_enter(c, err, sizeof(err));

		if (ret)
			fprintf(stderr, "enter: %s\n", err);
		_exit(ret ? ret : stat("/vmm", &st) == 0 ? 0 : 100);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* The bind mount and chdir() into the root go by path: a symlink put in
 * place of <base>/<name>/<id> after it was made (by whoever can write in
 * <base>/<name>) must not send the jailer into another directory, which it
 * would then give to uid:gid. */
Test(jailer_paths, a_jail_swapped_for_a_symlink_is_not_entered)
{
	struct jailer_chroot c;
	struct stat st;
	char moved[512], jail[512];

	if (geteuid() != 0)
		cr_skip_test("entering a jail needs root");
	parse_paths("vmm", "base", NULL);
	cr_assert_eq(jailer_chroot_create(&a, &c, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(enter_in_child(&c), 0, "the jail as made is entered");

	/* a decoy with a root/ of its own, where <id> was */
	cr_assert_eq(mkdir(at("decoy"), 0755), 0);
	cr_assert_eq(mkdir(at("decoy/root"), 0755), 0);
	snprintf(jail, sizeof(jail), "%s", at("base/vmm/" ID));
	snprintf(moved, sizeof(moved), "%s", at("base/vmm/moved"));
	cr_assert_eq(rename(jail, moved), 0);
	cr_assert_eq(symlink(at("decoy"), jail), 0);
	cr_assert_eq(enter_in_child(&c), VMM_EXIT_ERROR);
	cr_assert_eq(stat(at("decoy/root"), &st), 0);
	cr_assert_eq(st.st_uid, 0);
}

/* Removing a jail that failed goes through the directories it made, not
 * their paths: with <id> swapped for a symlink, what the symlink leads to
 * (here a decoy root/vmm, in real life any host file named like the exec
 * file) is left alone. */
Test(jailer_paths, removing_a_swapped_jail_follows_no_symlink)
{
	struct jailer_chroot c;
	struct stat st;
	char moved[512], jail[512];

	parse_paths("vmm", "base", NULL);
	cr_assert_eq(jailer_chroot_create(&a, &c, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(mkdir(at("decoy"), 0755), 0);
	cr_assert_eq(mkdir(at("decoy/root"), 0755), 0);
	touch("decoy/root/vmm", 0755);
	snprintf(jail, sizeof(jail), "%s", at("base/vmm/" ID));
	snprintf(moved, sizeof(moved), "%s", at("base/vmm/moved"));
	cr_assert_eq(rename(jail, moved), 0);
	cr_assert_eq(symlink(at("decoy"), jail), 0);

	jailer_chroot_remove(&c);
	cr_assert_eq(stat(at("decoy/root/vmm"), &st), 0,
		     "the decoy's file was removed");
	cr_assert_eq(stat(at("decoy/root"), &st), 0);
	/* what the jailer made is gone, wherever it was moved to */
	cr_assert_neq(lstat(at("base/vmm/moved/root/vmm"), &st), 0);
	cr_assert_neq(lstat(at("base/vmm/moved/root"), &st), 0);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(c.dir_fd[i], -1);
}

/* -------------------------------------- the cgroup plan, on a fake tree -- */

static void write_text(const char *name, const char *text)
{
	FILE *f = fopen(at(name), "w");

	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

/* A /proc/mounts with a v1 cpu hierarchy and a v2 one, both under the temp
 * dir (plain directories: only what plan reads is there). */
static void fake_cgroups(void)
{
	char mounts[2048];

	cr_assert_eq(mkdir(at("cpu"), 0755), 0);
	write_text("cpu/cpu.cfs_quota_us", "-1\n");
	cr_assert_eq(mkdir(at("unified"), 0755), 0);
	write_text("unified/cgroup.controllers", "cpu memory pids\n");
	snprintf(mounts, sizeof(mounts),
		 "proc /proc proc rw 0 0\n"
		 "cgroup %s/cpu cgroup rw,nosuid,relatime,cpu 0 0\n"
		 "cgroup %s/cpuacct cgroup rw,nosuid,relatime,cpuacct 0 0\n"
		 "cgroup2 %s/unified cgroup2 rw,nsdelegate 0 0\n",
		 dir, dir, dir);
	write_text("mounts", mounts);
	write_text("self_cgroup", "1:cpu:/some/where\n0::/mine\n");
}

static int plan(int version, const char *setting, struct jailer_cgroups *cg)
{
	char m[512], s[512];
	char *argv[] = { "jailer", REQUIRED, "--cgroup-version",
			 version == 1 ? "1" : "2", "--cgroup",
			 (char *)setting, NULL };

	jailer_args_free(&a);
	cr_assert_eq(jailer_parse(13, argv, &a, err, sizeof(err)), 0, "%s",
		     err);
	snprintf(m, sizeof(m), "%s/mounts", dir);
	snprintf(s, sizeof(s), "%s/self_cgroup", dir);
	return jailer_cgroup_plan(&a, m, s, cg, err, sizeof(err));
}

Test(jailer_paths, cgroup_plan_v1)
{
	struct jailer_cgroups cg;
	char want[600];

	fake_cgroups();
	cr_assert_eq(plan(1, "cpu.cfs_quota_us=50000", &cg), 0, "%s", err);
	cr_assert_eq(cg.nr, 1);
	snprintf(want, sizeof(want), "%s/cpu/figment/" ID, dir);
	cr_assert_str_eq(cg.h[0].dir, want);
	snprintf(want, sizeof(want), "%s/cpu/some/where", dir);
	cr_assert_str_eq(cg.h[0].origin, want);
	cr_assert_not(cg.h[0].cpuset);

	cr_assert_eq(plan(1, "cpu.nosuch=1", &cg), VMM_EXIT_CONFIG);
	cr_assert(strstr(err, "has no file 'cpu.nosuch'"), "%s", err);
	cr_assert_eq(plan(1, "memory.limit_in_bytes=1", &cg), VMM_EXIT_CONFIG);
	cr_assert(strstr(err, "no cgroup v1 hierarchy has the 'memory' controller"),
		  "%s", err);
	/* "cpu" is a token of the options, not a prefix of "cpuacct" */
	cr_assert_eq(plan(1, "cpuac.x=1", &cg), VMM_EXIT_CONFIG);
}

Test(jailer_paths, cgroup_plan_v2)
{
	struct jailer_cgroups cg;
	char want[600];

	fake_cgroups();
	cr_assert_eq(plan(2, "memory.max=1G", &cg), 0, "%s", err);
	snprintf(want, sizeof(want), "%s/unified/figment/" ID, dir);
	cr_assert_str_eq(cg.h[0].dir, want);
	snprintf(want, sizeof(want), "%s/unified/mine", dir);
	cr_assert_str_eq(cg.h[0].origin, want);
	cr_assert_eq(plan(2, "cgroup.max.depth=1", &cg), 0, "%s", err);

	cr_assert_eq(plan(2, "io.max=8:0 rbps=1", &cg), VMM_EXIT_CONFIG);
	cr_assert(strstr(err, "has no 'io' controller (it has: cpu memory pids)"),
		  "%s", err);
}

Test(jailer_paths, cgroup_apply_undoes_what_it_made)
{
	struct jailer_cgroups cg;
	struct stat st;

	fake_cgroups();
	/* plan passes (the v2 root has the controller); the new cgroup has no
	 * memory.max here (plain directories), so the write fails */
	cr_assert_eq(plan(2, "memory.max=1G", &cg), 0, "%s", err);
	write_text("unified/cgroup.subtree_control", "");
	cr_assert_eq(mkdir(at("unified/figment"), 0755), 0);
	write_text("unified/figment/cgroup.subtree_control", "");
	cr_assert_eq(jailer_cgroup_apply(&cg, getpid(), err, sizeof(err)),
		     VMM_EXIT_CONFIG);
	cr_assert(strstr(err, "--cgroup memory.max: the cgroup"), "%s", err);
	cr_assert(strstr(err, "has no such file"), "%s", err);
	/* the pre-existing parent stays, the VM's cgroup is gone */
	cr_assert_eq(lstat(at("unified/figment"), &st), 0);
	cr_assert_neq(lstat(at("unified/figment/" ID), &st), 0);

	/* v1, nothing there before: both levels made, both removed */
	cr_assert_eq(plan(1, "cpu.cfs_quota_us=5", &cg), 0, "%s", err);
	cr_assert_eq(jailer_cgroup_apply(&cg, getpid(), err, sizeof(err)),
		     VMM_EXIT_CONFIG);
	cr_assert_neq(lstat(at("cpu/figment"), &st), 0);
}
