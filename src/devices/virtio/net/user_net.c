// SPDX-License-Identifier: Apache-2.0
/*
 * User-mode networking: a process of its own turns the guest's frames into
 * ordinary sockets of an unprivileged user, so the network stack that
 * parses what a hostile guest sends does not live in figment. Either
 * passt (Debian's; it isolates itself with namespaces and its own seccomp
 * filter) or figment-slirp (ours, tools/slirp/: libslirp, which Debian
 * ships only as a shared library with GLib, so it cannot be linked into the
 * static figment; it puts itself under seccomp too). figment starts it with
 * one end of a stream socket pair (`--fd 3`) and both speak passt's QEMU
 * protocol: each frame preceded by its length, 32 bits, big-endian, no
 * virtio-net header. The helper ends when figment's end closes (also when
 * figment is killed).
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/virtio_net.h>

#include "config/net_config.h"
#include "devices/virtio/net/net.h"
#include "devices/virtio/net/net_backend.h"
#include "util/log.h"

extern char **environ;

#define PASST_LEN     4 /* the length in front of each frame */
#define PASST_RX_BUF  (4 * (PASST_LEN + VIRTIO_NET_MAX_FRAME))
#define PASST_MAX_ARGS (32 + 2 * CONFIG_MAX_HOSTFWDS)

struct passt {
	struct net_backend b;
	pid_t pid;
	const char *helper; /* "passt" or "figment-slirp", for messages */
	char id[CONFIG_ID_MAX + 1];
	bool dead; /* passt went away or broke the framing: said once */
	/* receive: bytes from the stream, frames parsed from rx[rx_start] */
	size_t rx_start, rx_end;
	uint8_t rx[PASST_RX_BUF];
	/* transmit: the rest of a frame the socket took only part of */
	size_t tail_off, tail_len;
	uint8_t tail[PASST_LEN + VIRTIO_NET_MAX_FRAME];
};

static struct passt *to_passt(struct net_backend *b)
{
	return (struct passt *)b;
}

static void passt_gone(struct passt *p, const char *why)
{
	if (!p->dead)
		log_err("network interface '%s': %s %s; the interface carries nothing from now on",
			  p->id, p->helper, why);
	p->dead = true;
}

/* Writes what waits of a partly sent frame; true when nothing waits. */
static bool tail_flush(struct passt *p)
{
	while (p->tail_len) {
		ssize_t w = write(p->b.fd, p->tail + p->tail_off, p->tail_len);

		if (w < 0) {
			if (errno != EAGAIN && errno != EINTR)
				passt_gone(p, "stopped taking frames");
			return false;
		}
		p->tail_off += (size_t)w;
		p->tail_len -= (size_t)w;
	}
	return true;
}

static int passt_send(struct net_backend *b, const struct iovec *iov,
		      int iovcnt)
{
	struct passt *p = to_passt(b);
	struct iovec v[VIRTQ_MAX_SIZE + 1];
	size_t len = 0, sent, at;
	uint32_t be_len;
	ssize_t w;
	int i;

	if (p->dead)
		return -EPIPE;
	if (iovcnt < 1 || iovcnt > VIRTQ_MAX_SIZE + 1)
		return -EINVAL;
	/* the stream must stay whole: a frame the socket took only part of
	 * goes on first */
	if (!tail_flush(p))
		return -EAGAIN;
	/* the header is dropped: nothing offloaded was negotiated, so it
	 * says nothing */
	for (i = 1; i < iovcnt; i++) {
		v[i] = iov[i];
		len += iov[i].iov_len;
	}
	be_len = htobe32((uint32_t)len);
	v[0].iov_base = &be_len;
	v[0].iov_len = PASST_LEN;
	w = writev(b->fd, v, iovcnt);
	if (w < 0)
		return errno == EAGAIN ? -EAGAIN : (passt_gone(p, "stopped taking frames"), -EPIPE);
	sent = (size_t)w;
	if (sent == PASST_LEN + len)
		return 0;
	/* keep the rest for later (the socket's EPOLLOUT, or the next
	 * frame): the frame counts as sent */
	p->tail_off = 0;
	p->tail_len = 0;
	at = 0;
	for (i = 0; i < iovcnt; i++) {
		size_t n = v[i].iov_len;
		size_t skip = sent > at ? (sent - at < n ? sent - at : n) : 0;

		memcpy(p->tail + p->tail_len, (uint8_t *)v[i].iov_base + skip,
		       n - skip);
		p->tail_len += n - skip;
		at += n;
	}
	return 0;
}

static void passt_writable(struct net_backend *b)
{
	tail_flush(to_passt(b));
}

static ssize_t passt_recv(struct net_backend *b, uint8_t *buf, size_t len)
{
	struct passt *p = to_passt(b);

	if (p->dead)
		return -EPIPE;
	for (;;) {
		size_t have = p->rx_end - p->rx_start;
		ssize_t r;

		if (have >= PASST_LEN) {
			uint32_t flen;

			memcpy(&flen, p->rx + p->rx_start, PASST_LEN);
			flen = be32toh(flen);
			if (flen == 0 || flen > VIRTIO_NET_MAX_FRAME) {
				passt_gone(p, "sent a frame length that makes no sense");
				return -EPROTO;
			}
			if (have >= PASST_LEN + flen) {
				if (VIRTIO_NET_HDR_LEN + flen > len)
					return -EMSGSIZE;
				/* no offloads: a header of zeroes */
				memset(buf, 0, VIRTIO_NET_HDR_LEN);
				memcpy(buf + VIRTIO_NET_HDR_LEN,
				       p->rx + p->rx_start + PASST_LEN, flen);
				p->rx_start += PASST_LEN + flen;
				return (ssize_t)(VIRTIO_NET_HDR_LEN + flen);
			}
		}
		/* a frame not yet whole: move it to the front, read more */
		if (p->rx_start) {
			memmove(p->rx, p->rx + p->rx_start, have);
			p->rx_start = 0;
			p->rx_end = have;
		}
		r = read(b->fd, p->rx + p->rx_end, sizeof(p->rx) - p->rx_end);
		if (r == 0) {
			passt_gone(p, "ended");
			return -EPIPE;
		}
		if (r < 0)
			return -errno;
		p->rx_end += (size_t)r;
	}
}

static void passt_destroy(struct net_backend *b)
{
	/* passt sees the end of its stream and exits */
	close(b->fd);
	free(to_passt(b));
}

static const struct net_backend_ops passt_ops = {
	.kind = "user mode",
	.send = passt_send,
	.recv = passt_recv,
	.writable = passt_writable,
	.destroy = passt_destroy,
};

/* A forwarded host port that is taken is an error now, with its name,
 * rather than a line from passt after the VM started. */
static int ports_free(const struct net_config *n, char *err, size_t errlen)
{
	for (int i = 0; i < n->nr_hostfwd; i++) {
		const struct net_hostfwd *f = &n->hostfwd[i];
		struct sockaddr_in a = {
			.sin_family = AF_INET,
			.sin_port = htons(f->host_port),
			.sin_addr.s_addr = f->host_addr,
		};
		int s = socket(AF_INET, (f->udp ? SOCK_DGRAM : SOCK_STREAM) |
						SOCK_CLOEXEC, 0);
		int one = 1, ret = 0;

		if (s < 0)
			return -errno;
		setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
			char fwd[48];

			ret = -errno;
			net_hostfwd_format(f, fwd);
			snprintf(err, errlen, "hostfwd %s: cannot have the host port: %s",
				 fwd, strerror(errno));
		}
		close(s);
		if (ret)
			return ret;
	}
	return 0;
}

/* passt's -t/-u spec for @f: [ADDR/]PORT:GUESTPORT */
static void fwd_spec(const struct net_hostfwd *f, char buf[40])
{
	struct in_addr a = { .s_addr = f->host_addr };
	char addr[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &a, addr, sizeof(addr));
	snprintf(buf, 40, "%s/%u:%u", addr, f->host_port, f->guest_port);
}

/* passt's command line for @n; @fwds and @mtu hold its strings. */
static int passt_argv(const struct net_config *n, const char **argv,
		      char fwds[][40], char mtu[8])
{
	int argc = 0;

	snprintf(mtu, 8, "%d", VIRTIO_NET_MTU);
	argv[argc++] = "passt";
	argv[argc++] = "--foreground";
	argv[argc++] = "--quiet";
	argv[argc++] = "--stderr";
	argv[argc++] = "--fd";
	argv[argc++] = "3";
	/* the same network as libslirp's (net_config.h), so that a guest
	 * sees no difference between the backends */
	argv[argc++] = "--address";
	argv[argc++] = NET_USER_GUEST_IP;
	argv[argc++] = "--netmask";
	argv[argc++] = "24";
	argv[argc++] = "--gateway";
	argv[argc++] = NET_USER_GATEWAY;
	argv[argc++] = "--dns";
	argv[argc++] = NET_USER_DNS;
	argv[argc++] = "--dns-forward";
	argv[argc++] = NET_USER_DNS;
	argv[argc++] = "--mtu";
	argv[argc++] = mtu;
	argv[argc++] = "--ipv4-only";
	if (geteuid() == 0) {
		/* it would drop to "nobody" by name; a number needs no
		 * password database (a jail or the lab has none) */
		argv[argc++] = "--runas";
		argv[argc++] = "65534:65534";
	}
	for (int i = 0; i < n->nr_hostfwd; i++) {
		fwd_spec(&n->hostfwd[i], fwds[i]);
		argv[argc++] = n->hostfwd[i].udp ? "--udp-ports" : "--tcp-ports";
		argv[argc++] = fwds[i];
	}
	argv[argc] = NULL;
	return argc;
}

/* figment-slirp's: --fd 3 [--tcp|--udp ADDR/PORT:GUESTPORT]... */
static int slirp_argv(const struct net_config *n, const char **argv,
		      char fwds[][40])
{
	int argc = 0;

	argv[argc++] = "figment-slirp";
	argv[argc++] = "--fd";
	argv[argc++] = "3";
	for (int i = 0; i < n->nr_hostfwd; i++) {
		fwd_spec(&n->hostfwd[i], fwds[i]);
		argv[argc++] = n->hostfwd[i].udp ? "--udp" : "--tcp";
		argv[argc++] = fwds[i];
	}
	argv[argc] = NULL;
	return argc;
}

/* figment-slirp next to this figment (a build tree, an install), else
 * on PATH. */
static const char *slirp_path(char *buf, size_t len)
{
	ssize_t r = readlink("/proc/self/exe", buf, len - 1);
	char *slash;

	if (r > 0) {
		buf[r] = '\0';
		slash = strrchr(buf, '/');
		if (slash && (size_t)(slash - buf) + sizeof("/figment-slirp") <= len) {
			strcpy(slash, "/figment-slirp");
			if (access(buf, X_OK) == 0)
				return buf;
		}
	}
	return "figment-slirp";
}

static int spawn_helper(const struct net_config *n, int child_fd, pid_t *pid,
			char *err, size_t errlen)
{
	char fwds[CONFIG_MAX_HOSTFWDS][40], mtu[8], path[4096];
	const char *argv[PASST_MAX_ARGS], *prog;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, dfl;
	int ret;

	if (n->backend == NET_BACKEND_SLIRP) {
		slirp_argv(n, argv, fwds);
		prog = slirp_path(path, sizeof(path));
	} else {
		passt_argv(n, argv, fwds, mtu);
		prog = "passt";
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, child_fd, 3);
	/* nothing else of figment's (a TAP, the KVM fds) reaches it */
	posix_spawn_file_actions_addclosefrom_np(&fa, 4);
	/* not figment's signal mask (SIGTERM, SIGINT, SIGHUP blocked for its
	 * signalfd, the vCPU kick) nor its ignored SIGPIPE: a helper that
	 * `kill` cannot end is no helper of the user's */
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
					       POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &dfl);
	ret = posix_spawnp(pid, prog, &fa, &attr, (char *const *)argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	if (ret) {
		snprintf(err, errlen, "cannot start %s: %s%s", argv[0],
			 strerror(ret),
			 ret != ENOENT ? "" :
			 n->backend == NET_BACKEND_SLIRP ? " (it is built with figment: make figment)" :
			 " (install Debian's passt, or try user=slirp)");
		return -ret;
	}
	return 0;
}

struct net_backend *net_user_on_fd(int fd, const char *helper, const char *id)
{
	struct passt *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->b.ops = &passt_ops;
	p->b.fd = fd;
	p->b.features = 0; /* frames cross without a header: no offloads */
	p->helper = helper;
	snprintf(p->id, sizeof(p->id), "%s", id);
	return &p->b;
}

int net_user_open(const struct net_config *n, struct net_backend **out,
		  char *err, size_t errlen)
{
	const char *helper =
		n->backend == NET_BACKEND_SLIRP ? "figment-slirp" : "passt";
	struct net_backend *b = NULL;
	pid_t pid;
	int sv[2], ret;

	ret = ports_free(n, err, errlen);
	if (ret)
		return ret;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		ret = -errno;
		snprintf(err, errlen, "socketpair: %s", strerror(errno));
		return ret;
	}
	ret = spawn_helper(n, sv[1], &pid, err, errlen);
	close(sv[1]);
	if (!ret && fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0) {
		ret = -errno;
		snprintf(err, errlen, "fcntl: %s", strerror(errno));
	}
	if (!ret && !(b = net_user_on_fd(sv[0], helper, n->id))) {
		ret = -ENOMEM;
		snprintf(err, errlen, "out of memory");
	}
	if (ret) {
		/* a helper that started sees its stream end and exits */
		close(sv[0]);
		return ret;
	}
	log_info("network interface '%s': user-mode networking by %s (pid %d), guest %s/%d, gateway %s",
		 n->id, helper, (int)pid, NET_USER_GUEST_IP, NET_USER_PREFIX,
		 NET_USER_GATEWAY);
	*out = b;
	return 0;
}
