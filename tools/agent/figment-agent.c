// SPDX-License-Identifier: Apache-2.0
/*
 * figment's container agent: PID 1 of a container's microVM (the whole
 * initramfs). It mounts the container's disk (/dev/vda, ext4), connects to
 * the host over vsock (CID 2, port AGENT_PORT), says HELLO, takes the
 * process spec (args, env, cwd, user), runs the process chrooted in the
 * disk with pipes for its stdio, forwards them and the exit status, and
 * powers the VM off. Protocol: docs/agent-protocol.md. The host is trusted
 * (it made this VM); the process is not, but it only ever sees its pipes.
 * Built static (make): the initramfs has nothing else.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <jansson.h>
#include <linux/reboot.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "container/agent_proto.h"

#define ROOT "/newroot"
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define MAX_GROUPS 64

static int vs = -1; /* the vsock stream to the host */

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "figment-agent: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static __attribute__((noreturn)) void power_off(void)
{
	sync();
	reboot(LINUX_REBOOT_CMD_POWER_OFF);
	for (;;)
		pause();
}

static __attribute__((noreturn, format(printf, 1, 2))) void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "figment-agent: error: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	power_off();
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int read_full(int fd, void *buf, size_t len)
{
	char *p = buf;
	while (len) {
		ssize_t n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void send_msg(uint8_t type, const void *data, uint32_t len)
{
	uint8_t h[AGENT_HDR_LEN];
	agent_hdr_put(h, type, len);
	if (write_all(vs, h, sizeof(h)) || (len && write_all(vs, data, len)))
		die("lost the host connection: %s", strerror(errno));
}

static void send_u32(uint8_t type, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	send_msg(type, b, 4);
}

static void early_mounts(void)
{
	mkdir("/dev", 0755);
	mkdir("/proc", 0555);
	mkdir(ROOT, 0755);
	if (mount("devtmpfs", "/dev", "devtmpfs", 0, NULL) && errno != EBUSY)
		die("mount /dev: %s", strerror(errno));
	int fd = open("/dev/console", O_RDWR | O_NOCTTY);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	if (mount("proc", "/proc", "proc", 0, NULL))
		die("mount /proc: %s", strerror(errno));
	/* the virtio-blk probe may still be running */
	for (int i = 0; mount("/dev/vda", ROOT, "ext4", 0, NULL); i++) {
		if (i == 200)
			die("mount /dev/vda (the container's disk): %s", strerror(errno));
		usleep(10000);
	}
}

/* The container's own /proc, /sys and /dev (what runc gives a process too). */
static void container_mounts(void)
{
	static const struct { const char *dir, *type; mode_t mode; unsigned long flags; } m[] = {
		{ ROOT "/proc", "proc", 0555, MS_NOSUID | MS_NODEV | MS_NOEXEC },
		{ ROOT "/sys", "sysfs", 0555, MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY },
		{ ROOT "/dev", "devtmpfs", 0755, MS_NOSUID },
	};
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		struct stat st;
		if (lstat(m[i].dir, &st) == 0 && !S_ISDIR(st.st_mode))
			continue; /* a symlink or file of the image's: leave it alone */
		mkdir(m[i].dir, m[i].mode);
		if (mount(m[i].type, m[i].dir, m[i].type, m[i].flags, NULL))
			say("mount %s: %s", m[i].dir, strerror(errno));
	}
	mkdir(ROOT "/tmp", 01777);
}

static void connect_host(void)
{
	struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_HOST,
				 .svm_port = AGENT_PORT };
	for (int i = 0;; i++) {
		vs = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (vs < 0)
			die("vsock socket: %s", strerror(errno));
		if (connect(vs, (struct sockaddr *)&a, sizeof(a)) == 0)
			return;
		int e = errno;
		close(vs);
		if (i == 100)
			die("connect to the host (vsock port %u): %s", AGENT_PORT, strerror(e));
		usleep(20000);
	}
}

struct spec {
	char **args, **env;
	const char *cwd, *user, *hostname;
	json_t *json;
};

static char **strv(json_t *a, const char *what, size_t extra)
{
	if (!json_is_array(a))
		die("spec: \"%s\" is not an array", what);
	char **v = calloc(json_array_size(a) + extra + 1, sizeof(*v));
	if (!v)
		die("out of memory");
	size_t i;
	json_t *s;
	json_array_foreach(a, i, s) {
		if (!json_is_string(s))
			die("spec: \"%s\" holds a non-string", what);
		v[i] = (char *)json_string_value(s);
	}
	return v;
}

static void read_spec(struct spec *sp)
{
	uint8_t h[AGENT_HDR_LEN];
	if (read_full(vs, h, sizeof(h)))
		die("no spec from the host");
	uint32_t len = agent_u32_get(h + 4);
	if (h[0] != AGENT_SPEC || len > AGENT_SPEC_MAX)
		die("expected a spec, got message %u of %u bytes", h[0], len);
	char *buf = malloc(len + 1);
	if (!buf || read_full(vs, buf, len))
		die("short spec");
	json_error_t je;
	sp->json = json_loadb(buf, len, 0, &je);
	free(buf);
	if (!json_is_object(sp->json))
		die("spec: not a JSON object: %s", je.text);
	sp->args = strv(json_object_get(sp->json, "args"), "args", 0);
	sp->env = strv(json_object_get(sp->json, "env"), "env", 2);
	if (!sp->args[0])
		die("spec: no args");
	sp->cwd = json_string_value(json_object_get(sp->json, "cwd"));
	sp->user = json_string_value(json_object_get(sp->json, "user"));
	sp->hostname = json_string_value(json_object_get(sp->json, "hostname"));
	if (!sp->cwd || sp->cwd[0] != '/')
		sp->cwd = "/";
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* Field @n (0-based) of a colon-separated line, NUL-terminated in place. */
static char *field(char **fields, int n)
{
	return fields[n];
}

/* Splits @line at ':' into at most @max fields; returns how many. */
static int split(char *line, char **fields, int max)
{
	int n = 0;
	line[strcspn(line, "\n")] = '\0';
	while (n < max) {
		fields[n++] = line;
		char *c = strchr(line, ':');
		if (!c)
			break;
		*c = '\0';
		line = c + 1;
	}
	return n;
}

struct ids {
	uid_t uid;
	gid_t gid;
	gid_t groups[MAX_GROUPS];
	int ngroups;
	char name[64];
	char home[256];
};

/* The image's /etc/passwd and /etc/group, as runc reads them: "name",
 * "uid", "name:group", "uid:gid". A numeric uid without a passwd line runs
 * with gid 0. */
static int resolve_user(const char *user, struct ids *ids, char *err, size_t errlen)
{
	memset(ids, 0, sizeof(*ids));
	strcpy(ids->home, "/");
	if (!user || !*user)
		user = "0";
	char u[256], *g = NULL;
	snprintf(u, sizeof(u), "%s", user);
	char *colon = strchr(u, ':');
	if (colon) {
		*colon = '\0';
		g = colon + 1;
	}
	bool found = false;
	FILE *f = fopen(ROOT "/etc/passwd", "re");
	char line[1024], *fl[7];
	while (f && fgets(line, sizeof(line), f)) {
		if (split(line, fl, 7) < 7)
			continue;
		if (strcmp(field(fl, 0), u) && strcmp(field(fl, 2), u))
			continue;
		ids->uid = (uid_t)strtoul(fl[2], NULL, 10);
		ids->gid = (gid_t)strtoul(fl[3], NULL, 10);
		snprintf(ids->name, sizeof(ids->name), "%s", fl[0]);
		snprintf(ids->home, sizeof(ids->home), "%s", *fl[5] ? fl[5] : "/");
		found = true;
		break;
	}
	if (f)
		fclose(f);
	if (!found) {
		if (!all_digits(u)) {
			snprintf(err, errlen, "unable to find user %s: no matching entries in passwd file", u);
			return -1;
		}
		ids->uid = (uid_t)strtoul(u, NULL, 10);
	}
	if (g && all_digits(g))
		ids->gid = (gid_t)strtoul(g, NULL, 10);
	bool gfound = !g || all_digits(g);
	f = fopen(ROOT "/etc/group", "re");
	while (f && fgets(line, sizeof(line), f)) {
		if (split(line, fl, 4) < 4)
			continue;
		if (g && !gfound && !strcmp(fl[0], g)) {
			ids->gid = (gid_t)strtoul(fl[2], NULL, 10);
			gfound = true;
		}
		/* supplementary groups: those that list the user */
		if (!*ids->name || g)
			continue;
		for (char *m = strtok(fl[3], ","); m; m = strtok(NULL, ","))
			if (!strcmp(m, ids->name) && ids->ngroups < MAX_GROUPS)
				ids->groups[ids->ngroups++] = (gid_t)strtoul(fl[2], NULL, 10);
	}
	if (f)
		fclose(f);
	if (!gfound) {
		snprintf(err, errlen, "unable to find group %s: no matching entries in group file", g);
		return -1;
	}
	ids->groups[ids->ngroups++] = ids->gid;
	return 0;
}

static bool env_has(char **env, const char *key)
{
	size_t k = strlen(key);
	for (; *env; env++)
		if (!strncmp(*env, key, k) && (*env)[k] == '=')
			return true;
	return false;
}

static void env_add(char **env, const char *kv)
{
	while (*env)
		env++;
	*env = strdup(kv);
}

static int mkdir_p(const char *path)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s", path);
	for (char *s = p + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			mkdir(p, 0755);
			*s = '/';
		}
	return mkdir(p, 0755) && errno != EEXIST ? -1 : 0;
}

/* What the child reports through the close-on-exec pipe when it cannot
 * start the process. */
struct start_failure {
	int err;
	int status;
	char msg[400];
};

static __attribute__((noreturn)) void child(struct spec *sp, struct ids *ids, int in, int out,
					    int errp, int report)
{
	struct start_failure sf = { 0 };
	setsid();
	dup2(in, 0);
	dup2(out, 1);
	dup2(errp, 2);
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (chroot(ROOT) || chdir("/")) {
		sf.err = errno;
		sf.status = 126;
		snprintf(sf.msg, sizeof(sf.msg), "chroot: %s", strerror(errno));
		goto fail;
	}
	mkdir_p(sp->cwd);
	if (setgroups((size_t)ids->ngroups, ids->groups) || setgid(ids->gid) || setuid(ids->uid)) {
		sf.err = errno;
		sf.status = 126;
		snprintf(sf.msg, sizeof(sf.msg), "setting uid %u gid %u: %s", ids->uid, ids->gid,
			 strerror(errno));
		goto fail;
	}
	if (chdir(sp->cwd)) {
		sf.err = errno;
		sf.status = 126;
		snprintf(sf.msg, sizeof(sf.msg), "chdir to cwd (\"%s\"): %s", sp->cwd, strerror(errno));
		goto fail;
	}
	environ = sp->env;
	execvp(sp->args[0], sp->args);
	sf.err = errno;
	if (errno == ENOENT) {
		sf.status = 127;
		snprintf(sf.msg, sizeof(sf.msg), strchr(sp->args[0], '/') ?
			 "exec: \"%s\": no such file or directory" :
			 "exec: \"%s\": executable file not found in $PATH", sp->args[0]);
	} else {
		sf.status = 126;
		snprintf(sf.msg, sizeof(sf.msg), "exec: \"%s\": %s", sp->args[0], strerror(errno));
	}
fail:
	if (write(report, &sf, sizeof(sf)) < 0)
		_exit(126);
	_exit(sf.status);
}

static int64_t now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Forwards stdio until the process ended and its output is drained;
 * returns its exit status. */
static int serve(pid_t pid, int to_in, int from_out, int from_err)
{
	/* room for one more whole STDIN message whenever the stream is read */
	static uint8_t inbuf[2 * AGENT_DATA_MAX], buf[AGENT_DATA_MAX];
	size_t inlen = 0;
	bool stdin_eof = false, host_eof = false;
	int status = -1;
	int64_t exited_at = 0;
	for (;;) {
		/* reap everything (PID 1); note the process's own end */
		int ws;
		pid_t r;
		while ((r = waitpid(-1, &ws, WNOHANG)) > 0)
			if (r == pid) {
				status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
				exited_at = now_ms();
			}
		if (status >= 0 && ((from_out < 0 && from_err < 0) || now_ms() - exited_at > 200))
			return status;
		if (to_in >= 0 && stdin_eof && !inlen) {
			close(to_in);
			to_in = -1;
		}
		struct pollfd p[4] = {
			{ .fd = host_eof || inlen > AGENT_DATA_MAX ? -1 : vs, .events = POLLIN },
			{ .fd = from_out, .events = POLLIN },
			{ .fd = from_err, .events = POLLIN },
			{ .fd = inlen ? to_in : -1, .events = POLLOUT },
		};
		if (poll(p, 4, status >= 0 ? 20 : 50) < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		for (int i = 1; i <= 2; i++) {
			if (!p[i].revents)
				continue;
			int *fd = i == 1 ? &from_out : &from_err;
			ssize_t n = read(*fd, buf, sizeof(buf));
			if (n > 0) {
				send_msg(i == 1 ? AGENT_STDOUT : AGENT_STDERR, buf, (uint32_t)n);
			} else if (n == 0 || errno != EINTR) {
				close(*fd);
				*fd = -1;
			}
		}
		if (p[3].revents) {
			ssize_t n = write(to_in, inbuf, inlen);
			if (n > 0) {
				memmove(inbuf, inbuf + n, inlen - (size_t)n);
				inlen -= (size_t)n;
			} else if (n < 0 && errno != EINTR && errno != EAGAIN) {
				/* the process closed its stdin: what comes is dropped */
				close(to_in);
				to_in = -1;
				inlen = 0;
			}
		}
		if (p[0].revents) {
			uint8_t h[AGENT_HDR_LEN];
			if (read_full(vs, h, sizeof(h))) {
				host_eof = true;
				stdin_eof = true;
				continue;
			}
			uint32_t len = agent_u32_get(h + 4);
			if (h[0] == AGENT_STDIN && len <= sizeof(inbuf) - inlen) {
				if (read_full(vs, inbuf + inlen, len))
					die("short message from the host");
				if (to_in >= 0)
					inlen += len;
			} else if (h[0] == AGENT_STDIN_EOF && len == 0) {
				stdin_eof = true;
			} else {
				die("unexpected message %u (%u bytes) from the host", h[0], len);
			}
		}
	}
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	early_mounts();
	connect_host();
	send_u32(AGENT_HELLO, AGENT_PROTO_VERSION);
	struct spec sp;
	read_spec(&sp);
	if (sp.hostname && *sp.hostname)
		sethostname(sp.hostname, strlen(sp.hostname));
	container_mounts();

	struct ids ids;
	char err[512];
	if (resolve_user(sp.user, &ids, err, sizeof(err))) {
		send_msg(AGENT_ERROR, err, (uint32_t)strlen(err));
		send_u32(AGENT_EXIT, 126);
		goto end;
	}
	if (!env_has(sp.env, "PATH"))
		env_add(sp.env, "PATH=" DEFAULT_PATH);
	if (!env_has(sp.env, "HOME")) {
		char h[300];
		snprintf(h, sizeof(h), "HOME=%s", ids.home);
		env_add(sp.env, h);
	}

	int in[2], out[2], errp[2], rep[2];
	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(errp, O_CLOEXEC) ||
	    pipe2(rep, O_CLOEXEC))
		die("pipe: %s", strerror(errno));
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0)
		child(&sp, &ids, in[0], out[1], errp[1], rep[1]);
	close(in[0]);
	close(out[1]);
	close(errp[1]);
	close(rep[1]);
	fcntl(in[1], F_SETFL, O_NONBLOCK);
	struct start_failure sf;
	ssize_t n;
	while ((n = read(rep[0], &sf, sizeof(sf))) < 0 && errno == EINTR)
		;
	close(rep[0]);
	if (n == (ssize_t)sizeof(sf)) {
		sf.msg[sizeof(sf.msg) - 1] = '\0';
		send_msg(AGENT_ERROR, sf.msg, (uint32_t)strlen(sf.msg));
		waitpid(pid, NULL, 0);
		send_u32(AGENT_EXIT, (uint32_t)sf.status);
		goto end;
	}
	int status = serve(pid, in[1], out[0], errp[0]);
	send_u32(AGENT_EXIT, (uint32_t)status);
end:
	/* let the host read everything before the VM goes */
	shutdown(vs, SHUT_WR);
	struct pollfd p = { .fd = vs, .events = POLLIN };
	char sink[256];
	int64_t deadline = now_ms() + 2000;
	while (now_ms() < deadline && poll(&p, 1, 100) >= 0)
		if ((p.revents & (POLLIN | POLLHUP)) && read(vs, sink, sizeof(sink)) <= 0)
			break;
	power_off();
}
