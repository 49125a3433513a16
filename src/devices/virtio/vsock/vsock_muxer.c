// SPDX-License-Identifier: Apache-2.0
#include "devices/virtio/vsock/vsock_muxer.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int unix_addr(struct sockaddr_un *a, const char *path)
{
	size_t len = strlen(path);

	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (len == 0 || len >= sizeof(a->sun_path))
		return -ENAMETOOLONG;
	memcpy(a->sun_path, path, len);
	return 0;
}

/* Someone listens at @a: a connect succeeds (or waits in a full backlog). */
static bool socket_live(const struct sockaddr_un *a)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	bool live;

	if (fd < 0)
		return true; /* cannot tell: do not remove it */
	live = connect(fd, (const struct sockaddr *)a, sizeof(*a)) == 0 ||
	       errno == EAGAIN;
	close(fd);
	return live;
}

int vsock_muxer_open(struct vsock_muxer *m, const char *uds_path, char *err,
		     size_t errlen)
{
	struct sockaddr_un a;
	struct stat st;
	int ret;

	memset(m, 0, sizeof(*m));
	m->epfd = m->listen_fd = -1;
	if (unix_addr(&a, uds_path)) {
		snprintf(err, errlen,
			 "vsock: the Unix socket path is longer than %d bytes (sun_path)",
			 CONFIG_UDS_PATH_MAX);
		return -ENAMETOOLONG;
	}
	snprintf(m->uds_path, sizeof(m->uds_path), "%s", uds_path);
	m->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (m->epfd < 0)
		goto fail_errno;
	m->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
					       SOCK_NONBLOCK, 0);
	if (m->listen_fd < 0)
		goto fail_errno;
	if (bind(m->listen_fd, (struct sockaddr *)&a, sizeof(a))) {
		/* a socket file left by a process that is gone is replaced;
		 * one somebody listens on is theirs */
		if (errno != EADDRINUSE || lstat(uds_path, &st) ||
		    !S_ISSOCK(st.st_mode) || socket_live(&a)) {
			ret = -errno;
			if (errno == EADDRINUSE)
				snprintf(err, errlen,
					 "vsock: '%s' is in use (another process listens there)",
					 uds_path);
			else
				snprintf(err, errlen, "vsock: cannot bind '%s': %s",
					 uds_path, strerror(errno));
			goto fail;
		}
		if (unlink(uds_path) ||
		    bind(m->listen_fd, (struct sockaddr *)&a, sizeof(a)))
			goto fail_bind;
	}
	if (lstat(uds_path, &st) == 0) {
		m->sock_dev = st.st_dev;
		m->sock_ino = st.st_ino;
	}
	if (listen(m->listen_fd, SOMAXCONN))
		goto fail_bind;
	ret = epoll_ctl(m->epfd, EPOLL_CTL_ADD, m->listen_fd,
			&(struct epoll_event){ .events = EPOLLIN,
					       .data.u64 = VSOCK_MUX_LISTENER });
	if (ret)
		goto fail_errno;
	return 0;

fail_bind:
	ret = -errno;
	snprintf(err, errlen, "vsock: cannot bind '%s': %s", uds_path,
		 strerror(errno));
	goto fail;
fail_errno:
	ret = -errno;
	snprintf(err, errlen, "vsock: %s", strerror(errno));
fail:
	vsock_muxer_close(m);
	return ret;
}

void vsock_muxer_close(struct vsock_muxer *m)
{
	struct stat st;

	if (m->listen_fd >= 0) {
		if (m->sock_ino && lstat(m->uds_path, &st) == 0 &&
		    st.st_dev == m->sock_dev && st.st_ino == m->sock_ino)
			unlink(m->uds_path);
		close(m->listen_fd);
	}
	if (m->epfd >= 0)
		close(m->epfd);
	m->listen_fd = m->epfd = -1;
	m->sock_ino = 0;
}

int vsock_muxer_accept(struct vsock_muxer *m)
{
	int fd;

	if (m->listen_fd < 0)
		return -EAGAIN;
	fd = accept4(m->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return fd;
}

void vsock_muxer_listen_pause(struct vsock_muxer *m)
{
	if (m->listen_fd < 0 || m->listen_paused)
		return;
	if (epoll_ctl(m->epfd, EPOLL_CTL_DEL, m->listen_fd, NULL) == 0)
		m->listen_paused = true;
}

void vsock_muxer_listen_resume(struct vsock_muxer *m)
{
	struct epoll_event ev = { .events = EPOLLIN,
				  .data.u64 = VSOCK_MUX_LISTENER };

	if (m->listen_fd < 0 || !m->listen_paused)
		return;
	if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, m->listen_fd, &ev) == 0)
		m->listen_paused = false;
}

int vsock_muxer_connect(const struct vsock_muxer *m, uint32_t port)
{
	char path[sizeof(m->uds_path) + 16];
	struct sockaddr_un a;
	int fd, ret;

	snprintf(path, sizeof(path), "%s_%u", m->uds_path, port);
	if (unix_addr(&a, path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* a Unix connect completes at once, or fails (EAGAIN: the
	 * listener's backlog is full) */
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

int vsock_muxer_add(struct vsock_muxer *m, int fd, uint64_t key)
{
	struct epoll_event ev = {
		.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
		.data.u64 = key,
	};

	return epoll_ctl(m->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

int vsock_muxer_add_timer(struct vsock_muxer *m, int fd, uint64_t key)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = key };

	return epoll_ctl(m->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

int vsock_muxer_wait(struct vsock_muxer *m, struct epoll_event *ev, int max)
{
	int n = epoll_wait(m->epfd, ev, max, 0);

	return n < 0 ? 0 : n;
}

int vsock_parse_connect(const char *buf, size_t len, uint32_t *port)
{
	static const char word[] = "CONNECT ";
	const size_t wlen = sizeof(word) - 1;
	uint64_t v = 0;
	size_t i;

	if (len < wlen + 2 || len > VSOCK_CONNECT_LINE_MAX ||
	    memcmp(buf, word, wlen) || buf[len - 1] != '\n')
		return -EINVAL;
	for (i = wlen; i < len - 1; i++) {
		if (buf[i] < '0' || buf[i] > '9' || i - wlen >= 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(buf[i] - '0');
	}
	if (v > UINT32_MAX)
		return -EINVAL;
	*port = (uint32_t)v;
	return 0;
}

int vsock_muxer_read_connect(int fd, uint32_t *port)
{
	char buf[VSOCK_CONNECT_LINE_MAX];
	const char *nl;
	ssize_t r;

	/* look first, then take exactly the line */
	r = recv(fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
	if (r == 0)
		return -EPIPE;
	if (r < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	nl = memchr(buf, '\n', (size_t)r);
	if (!nl)
		return r == (ssize_t)sizeof(buf) ? -EINVAL : -EAGAIN;
	r = read(fd, buf, (size_t)(nl - buf + 1));
	if (r != nl - buf + 1)
		return r < 0 ? -errno : -EIO;
	return vsock_parse_connect(buf, (size_t)r, port);
}
