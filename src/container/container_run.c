// SPDX-License-Identifier: Apache-2.0
/* `figment container run`: see container_run.h. Everything a run makes
 * lives in one folder (the disk copy, the vsock sockets, the console log)
 * removed at the end; the VM is a child process in its own process group
 * that dies with figment (PR_SET_PDEATHSIG). */
#include "container/container_run.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "container/agent_proto.h"
#include "container/image_disk.h"
#include "container/layer_unpack.h"
#include "vmm_exit.h"

#define EXIT_NOT_FOUND 127
#define GUEST_CID "3"
#define DEFAULT_TIMEOUT_S 120
#define GUEST_CMDLINE "console=ttyS0 reboot=k panic=-1 pci=off quiet"

static bool verbose;
static struct timespec t0;

static double ms_since_start(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0.tv_sec) * 1e3 + (double)(t.tv_nsec - t0.tv_nsec) / 1e6;
}

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
	if (!verbose)
		return;
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "figment: container: [%.1f ms] ", ms_since_start());
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "figment: container: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

int container_args(const struct oci_process_defaults *d, char **argv, int argc,
		   struct oci_strv *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < d->entrypoint.n; i++)
		if (oci_strv_push(out, d->entrypoint.v[i]))
			return -1;
	if (argc > 0) {
		for (int i = 0; i < argc; i++)
			if (oci_strv_push(out, argv[i]))
				return -1;
	} else {
		for (size_t i = 0; i < d->cmd.n; i++)
			if (oci_strv_push(out, d->cmd.v[i]))
				return -1;
	}
	return out->n ? 0 : -1;
}

static size_t key_len(const char *kv)
{
	return strcspn(kv, "=");
}

int container_env(const struct oci_strv *image_env, const struct oci_strv *cli_env,
		  struct oci_strv *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < image_env->n; i++)
		if (oci_strv_push(out, image_env->v[i]))
			return -1;
	for (size_t i = 0; i < cli_env->n; i++) {
		const char *kv = cli_env->v[i];
		char *owned = NULL;
		if (!strchr(kv, '=')) {
			const char *v = getenv(kv);
			if (!v)
				continue;
			if (asprintf(&owned, "%s=%s", kv, v) < 0)
				return -1;
			kv = owned;
		}
		size_t k = key_len(kv);
		size_t j;
		for (j = 0; j < out->n; j++)
			if (key_len(out->v[j]) == k && !strncmp(out->v[j], kv, k))
				break;
		int r = 0;
		if (j < out->n) {
			char *c = strdup(kv);
			if (c) {
				free(out->v[j]);
				out->v[j] = c;
			} else {
				r = -1;
			}
		} else {
			r = oci_strv_push(out, kv);
		}
		free(owned);
		if (r)
			return -1;
	}
	return 0;
}

/* --- the run folder ------------------------------------------------------- */

static char rundir[128];

static void remove_rundir(void)
{
	if (*rundir && layer_remove_tree(rundir))
		error("could not remove %s: %s", rundir, strerror(errno));
	*rundir = '\0';
}

static int make_rundir(void)
{
	const char *tmp = getenv("TMPDIR");
	/* the vsock socket paths must fit sun_path */
	if (!tmp || !*tmp || strlen(tmp) > 60)
		tmp = "/tmp";
	snprintf(rundir, sizeof(rundir), "%s/figment-ctr.XXXXXX", tmp);
	if (!mkdtemp(rundir)) {
		error("%s: %s", rundir, strerror(errno));
		*rundir = '\0';
		return -1;
	}
	return 0;
}

static void run_path(char *out, size_t outlen, const char *name)
{
	snprintf(out, outlen, "%s/%s", rundir, name);
}

/* --- inputs --------------------------------------------------------------- */

static void cache_root(char *out, size_t outlen)
{
	const char *c = getenv("FIGMENT_CACHE");
	const char *home = getenv("HOME");
	if (c && *c)
		snprintf(out, outlen, "%s", c);
	else
		snprintf(out, outlen, "%s/.cache/figment", home && *home ? home : "/root");
}

static int find_input(const char *given, const char *env, const char *what, char *out,
		      size_t outlen)
{
	const char *e = env ? getenv(env) : NULL;
	if (given)
		snprintf(out, outlen, "%s", given);
	else if (e && *e)
		snprintf(out, outlen, "%s", e);
	struct stat st;
	if (stat(out, &st) || !S_ISREG(st.st_mode)) {
		error("%s %s: %s (%s)", what, out, errno == ENOENT || !S_ISREG(st.st_mode) ?
		      "missing or not a file" : strerror(errno),
		      env && !strcmp(env, "FIGMENT_AGENT") ? "make figment builds it, or give --agent" :
		      "make guest builds it, or give --kernel");
		return -1;
	}
	return 0;
}

static void default_agent(char *out, size_t outlen)
{
	char exe[PATH_MAX - 64];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	snprintf(out, outlen, "%s/figment-agent.cpio", exe);
}

/* --- the VM --------------------------------------------------------------- */

static pid_t vm_pid = -1;

static pid_t start_vm(const struct container_opts *o, const char *kernel, const char *agent,
		      const char *disk, sigset_t *oldmask)
{
	char cpus[24], mem[24], drive[PATH_MAX + 32], vsock[PATH_MAX + 32], serial[PATH_MAX];
	char log[PATH_MAX], uds[PATH_MAX];
	snprintf(cpus, sizeof(cpus), "%llu", (unsigned long long)o->cpus);
	snprintf(mem, sizeof(mem), "%llu", (unsigned long long)o->mem_mib);
	snprintf(drive, sizeof(drive), "id=root,path=%s", disk);
	run_path(uds, sizeof(uds), "v.sock");
	snprintf(vsock, sizeof(vsock), "cid=" GUEST_CID ",uds=%s", uds);
	run_path(serial, sizeof(serial), "console.log");
	run_path(log, sizeof(log), "vmm.log");
	char *const argv[] = {
		(char *)"figment", (char *)"run", (char *)"--kernel", (char *)kernel,
		(char *)"--initrd", (char *)agent, (char *)"--cmdline", (char *)GUEST_CMDLINE,
		(char *)"--cpus", cpus, (char *)"--mem", mem, (char *)"--drive", drive,
		(char *)"--vsock", vsock, (char *)"--serial", serial, NULL,
	};
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		error("fork: %s", strerror(errno));
		return -1;
	}
	if (pid)
		return pid;
	/* the child: its own process group (a terminal's Ctrl-C is figment's
	 * to handle), gone when figment is */
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	int null = open("/dev/null", O_RDONLY);
	int lfd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (null < 0 || lfd < 0 || dup2(null, 0) < 0 || dup2(lfd, 1) < 0 || dup2(lfd, 2) < 0)
		_exit(1);
	sigprocmask(SIG_SETMASK, oldmask, NULL);
	execv("/proc/self/exe", argv);
	_exit(127);
}

/* The last lines of a file of the run folder, on stderr. */
static void show_tail(const char *name)
{
	char path[PATH_MAX];
	run_path(path, sizeof(path), name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	char buf[2048];
	off_t size = lseek(fd, 0, SEEK_END);
	off_t from = size > (off_t)sizeof(buf) - 1 ? size - (off_t)sizeof(buf) + 1 : 0;
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, from);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	fprintf(stderr, "figment: container: last lines of the VM's %s:\n%s%s", name, buf,
		buf[n - 1] == '\n' ? "" : "\n");
}

/* Ends the VM: it had 5 s to power off by itself, then SIGKILL. */
static int reap_vm(int grace_ms)
{
	int status = 0;
	for (int waited = 0; vm_pid > 0; waited += 10) {
		pid_t r = waitpid(vm_pid, &status, WNOHANG);
		if (r == vm_pid || (r < 0 && errno != EINTR))
			break;
		if (waited >= grace_ms) {
			kill(vm_pid, SIGKILL);
			waitpid(vm_pid, &status, 0);
			break;
		}
		usleep(10000);
	}
	vm_pid = -1;
	return status;
}

/* --- the agent's stream ------------------------------------------------- */

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

static int send_msg(int fd, uint8_t type, const void *data, uint32_t len)
{
	uint8_t h[AGENT_HDR_LEN];
	agent_hdr_put(h, type, len);
	return write_all(fd, h, sizeof(h)) || (len && write_all(fd, data, len)) ? -1 : 0;
}

static char *spec_json(const struct oci_strv *args, const struct oci_strv *env,
		       const char *cwd, const char *user, const char *hostname)
{
	json_t *a = json_array(), *e = json_array();
	for (size_t i = 0; i < args->n; i++)
		json_array_append_new(a, json_string(args->v[i]));
	for (size_t i = 0; i < env->n; i++)
		json_array_append_new(e, json_string(env->v[i]));
	json_t *j = json_pack("{s:i, s:o, s:o, s:s, s:s, s:s}", "version", AGENT_PROTO_VERSION,
			      "args", a, "env", e, "cwd", cwd, "user", user ? user : "",
			      "hostname", hostname);
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	return s;
}

struct session {
	int listener, conn, sig;
	bool stdin_open, hello, out_broken;
	int exit_status; /* -1 until EXIT */
	char *spec;
};

/* One message from the agent. 0 goes on, 1 done (EXIT), -1 broken. */
static int agent_message(struct session *s)
{
	static uint8_t buf[AGENT_DATA_MAX];
	uint8_t h[AGENT_HDR_LEN];
	if (read_full(s->conn, h, sizeof(h)))
		return -1;
	uint32_t len = agent_u32_get(h + 4);
	if (len > sizeof(buf) || read_full(s->conn, buf, len)) {
		error("agent: message %u of %u bytes is too long or cut short", h[0], len);
		return -1;
	}
	switch (h[0]) {
	case AGENT_HELLO:
		if (len != 4 || agent_u32_get(buf) != AGENT_PROTO_VERSION) {
			error("agent: protocol version %u, this figment speaks %u",
			      len == 4 ? agent_u32_get(buf) : 0, AGENT_PROTO_VERSION);
			return -1;
		}
		note("agent connected (protocol %u)", AGENT_PROTO_VERSION);
		s->hello = true;
		if (send_msg(s->conn, AGENT_SPEC, s->spec, (uint32_t)strlen(s->spec)))
			return -1;
		return 0;
	case AGENT_STDOUT:
	case AGENT_STDERR:
		if (!s->hello)
			return -1;
		if (!s->out_broken &&
		    write_all(h[0] == AGENT_STDOUT ? 1 : 2, buf, len) && errno == EPIPE)
			s->out_broken = true;
		return 0;
	case AGENT_ERROR:
		error("%.*s", (int)len, (const char *)buf);
		return 0;
	case AGENT_EXIT:
		if (len != 4)
			return -1;
		s->exit_status = (int)(agent_u32_get(buf) & 0xff);
		note("process exited with status %d", s->exit_status);
		return 1;
	default:
		error("agent: unknown message type %u", h[0]);
		return -1;
	}
}

static void forward_stdin(struct session *s)
{
	static uint8_t buf[AGENT_DATA_MAX];
	ssize_t n = read(0, buf, sizeof(buf));
	if (n < 0 && errno == EINTR)
		return;
	if (n <= 0) {
		s->stdin_open = false;
		send_msg(s->conn, AGENT_STDIN_EOF, NULL, 0);
		return;
	}
	send_msg(s->conn, AGENT_STDIN, buf, (uint32_t)n);
}

static int timeout_s(void)
{
	const char *t = getenv("FIGMENT_CONTAINER_TIMEOUT");
	int v = t ? atoi(t) : 0;
	return v > 0 ? v : DEFAULT_TIMEOUT_S;
}

/* Serves the agent until EXIT; returns figment's exit status. */
static int session_loop(struct session *s)
{
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	int limit = timeout_s();
	for (;;) {
		struct pollfd p[3] = {
			{ .fd = s->conn >= 0 ? s->conn : s->listener, .events = POLLIN },
			{ .fd = s->sig, .events = POLLIN },
			{ .fd = s->conn >= 0 && s->hello && s->stdin_open ? 0 : -1, .events = POLLIN },
		};
		int r = poll(p, 3, 100);
		if (r < 0 && errno != EINTR) {
			error("poll: %s", strerror(errno));
			return VMM_EXIT_ERROR;
		}
		if (p[1].revents) {
			struct signalfd_siginfo si;
			if (read(s->sig, &si, sizeof(si)) == sizeof(si) && si.ssi_signo != SIGCHLD) {
				note("signal %u: stopping the VM", si.ssi_signo);
				return 128 + (int)si.ssi_signo;
			}
		}
		if (s->conn < 0 && p[0].revents) {
			s->conn = accept4(s->listener, NULL, NULL, SOCK_CLOEXEC);
			if (s->conn >= 0) {
				close(s->listener);
				s->listener = -1;
			}
			continue;
		}
		if (s->conn >= 0 && p[0].revents) {
			int m = agent_message(s);
			if (m > 0)
				return s->exit_status;
			if (m < 0) {
				error("the agent's connection ended before the process's exit status came");
				show_tail("console.log");
				return VMM_EXIT_ERROR;
			}
		}
		if (p[2].revents)
			forward_stdin(s);
		int status;
		if (waitpid(vm_pid, &status, WNOHANG) == vm_pid) {
			vm_pid = -1;
			error("the VM ended before the process did (figment run: %s %d)",
			      WIFEXITED(status) ? "exit status" : "signal",
			      WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
			show_tail("vmm.log");
			show_tail("console.log");
			return VMM_EXIT_ERROR;
		}
		if (!s->hello) {
			struct timespec now;
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (now.tv_sec - start.tv_sec > limit) {
				error("the agent did not connect within %d s (FIGMENT_CONTAINER_TIMEOUT)",
				      limit);
				show_tail("console.log");
				return VMM_EXIT_ERROR;
			}
		}
	}
}

static int listen_agent(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/v.sock_%u", rundir, AGENT_PORT);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path)) {
		error("socket path %s/v.sock_%u is too long", rundir, AGENT_PORT);
		return -1;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 1)) {
		error("agent socket %s: %s", sa.sun_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* --- the image ------------------------------------------------------------ */

/* The disk this container runs on (a copy in the run folder) and the
 * image's process defaults. */
static int prepare_disk(const struct container_opts *o, struct oci_image *img, char *disk,
			size_t disklen)
{
	char err[2048];
	run_path(disk, disklen, "disk.ext4");
	if (o->rootfs) {
		struct stat st;
		if (stat(o->rootfs, &st) || !S_ISDIR(st.st_mode)) {
			error("--rootfs %s: not a folder", o->rootfs);
			return VMM_EXIT_CONFIG;
		}
		if (image_disk_make(o->rootfs, disk, err, sizeof(err))) {
			error("--rootfs %s: %s", o->rootfs, err);
			return VMM_EXIT_CONFIG;
		}
		note("disk made from %s", o->rootfs);
		return 0;
	}
	const char *layout = o->image;
	char unpacked[PATH_MAX];
	struct stat st;
	if (stat(o->image, &st)) {
		error("--image %s: %s", o->image, strerror(errno));
		return VMM_EXIT_CONFIG;
	}
	if (S_ISREG(st.st_mode)) {
		/* an image layout's tar: unpacked with the layers' own checks */
		run_path(unpacked, sizeof(unpacked), "image");
		if (mkdir(unpacked, 0700) || layer_unpack(unpacked, o->image, err, sizeof(err))) {
			error("--image %s: %s", o->image, err);
			return VMM_EXIT_CONFIG;
		}
		layout = unpacked;
		note("image tar unpacked");
	}
	if (oci_image_open(layout, "amd64", img, err, sizeof(err))) {
		error("--image %s: %s", o->image, err);
		return VMM_EXIT_CONFIG;
	}
	note("image %s: %zu layers; manifest and config digests checked", img->manifest_digest,
	     img->n_layers);
	char cached[PATH_MAX];
	bool built;
	if (image_disk_get(img, cached, sizeof(cached), &built, err, sizeof(err))) {
		error("--image %s: %s", o->image, err);
		return VMM_EXIT_CONFIG;
	}
	note("image disk %s: %s", cached, built ? "unpacked and made" : "cached, nothing unpacked");
	if (image_disk_copy(cached, disk, err, sizeof(err))) {
		error("%s", err);
		return VMM_EXIT_ERROR;
	}
	note("container disk copied");
	return 0;
}

int container_run(const struct container_opts *o)
{
	clock_gettime(CLOCK_MONOTONIC, &t0);
	verbose = o->verbose;
	int ret = VMM_EXIT_ERROR;
	struct oci_image img = { 0 };
	struct oci_strv args = { 0 }, env = { 0 };
	struct session s = { .listener = -1, .conn = -1, .sig = -1, .exit_status = -1 };
	char kernel[PATH_MAX], agent[PATH_MAX], disk[PATH_MAX], cache[PATH_MAX - 64];

	cache_root(cache, sizeof(cache));
	snprintf(kernel, sizeof(kernel), "%s/guest/bzImage", cache);
	default_agent(agent, sizeof(agent));
	if (find_input(o->kernel, "FIGMENT_CONTAINER_KERNEL", "guest kernel", kernel,
		       sizeof(kernel)) ||
	    find_input(o->agent, "FIGMENT_AGENT", "agent initramfs", agent, sizeof(agent)))
		return VMM_EXIT_CONFIG;

	/* signals from here on arrive through the loop */
	sigset_t mask, old;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, &old);
	signal(SIGPIPE, SIG_IGN);
	s.sig = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

	if (s.sig < 0 || make_rundir())
		goto out;
	int r = prepare_disk(o, &img, disk, sizeof(disk));
	if (r) {
		ret = r;
		goto out;
	}
	if (container_args(&img.process, o->argv, o->argc, &args)) {
		error("no command: the image has no Entrypoint or Cmd; give one after --");
		ret = VMM_EXIT_USAGE;
		goto out;
	}
	if (container_env(&img.process.env, &o->env, &env)) {
		error("out of memory");
		goto out;
	}
	const char *cwd = o->workdir ? o->workdir : img.process.workdir ? img.process.workdir : "/";
	const char *user = o->user ? o->user : img.process.user;
	char hostname[16];
	snprintf(hostname, sizeof(hostname), "%s", strrchr(rundir, '.') + 1);
	s.spec = spec_json(&args, &env, cwd, user, hostname);
	if (!s.spec) {
		error("out of memory");
		goto out;
	}
	if ((s.listener = listen_agent()) < 0)
		goto out;
	s.stdin_open = fcntl(0, F_GETFD) >= 0;
	vm_pid = start_vm(o, kernel, agent, disk, &old);
	if (vm_pid < 0)
		goto out;
	note("VM started (pid %d)", (int)vm_pid);
	ret = session_loop(&s);
out:
	/* the agent powers off once it sees the stream closed */
	if (s.conn >= 0)
		close(s.conn);
	s.conn = -1;
	if (vm_pid > 0) {
		/* after EXIT the agent powers off by itself; otherwise stop it */
		if (s.exit_status < 0)
			kill(vm_pid, SIGTERM);
		reap_vm(s.exit_status < 0 ? 2000 : 5000);
		note("VM gone");
	}
	if (s.conn >= 0)
		close(s.conn);
	if (s.listener >= 0)
		close(s.listener);
	if (s.sig >= 0)
		close(s.sig);
	remove_rundir();
	free(s.spec);
	oci_strv_free(&args);
	oci_strv_free(&env);
	oci_image_free(&img);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return ret;
}
