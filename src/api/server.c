// SPDX-License-Identifier: Apache-2.0
#include "api/server.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "api/routes.h"
#include "util/log.h"

struct conn {
	int fd; /* -1: slot free */
	struct http_parser parser;
	char *out; /* response bytes not written yet */
	size_t out_len, out_off;
	bool close_after; /* close once out is written */
	bool read_eof;	  /* the client shut down its side */
	uint32_t events;  /* what epoll watches now */
	uint64_t deadline;
};

struct server {
	char *path;
	int listen_fd;
	int epfd;
	int stop_fd;
	dev_t dev;
	ino_t ino;
	size_t max_body;
	unsigned timeout_ms;
	int max_clients;
	int nr_clients;
	uint64_t accept_resume; /* 0, or when to retry accept() after EMFILE */
	struct conn *conns;
	server_handler handler;
	void *ctx;
};

/* epoll data for the two non-connection fds. */
static char listen_tag, stop_tag;

#define SERVER_ACCEPT_RETRY_MS 100

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Watches (or stops watching) the listening socket. */
static void listen_watch(struct server *s, bool on)
{
	struct epoll_event ev = { .events = on ? EPOLLIN : 0,
				  .data.ptr = &listen_tag };

	epoll_ctl(s->epfd, EPOLL_CTL_MOD, s->listen_fd, &ev);
}

static void accept_resume(struct server *s)
{
	if (s->accept_resume) {
		s->accept_resume = 0;
		listen_watch(s, true);
	}
}

static void conn_close(struct server *s, struct conn *c)
{
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	http_parser_free(&c->parser);
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = 0;
	s->nr_clients--;
	accept_resume(s); /* an fd is free again */
}

/* Writes what is pending; false when the connection had to be closed. */
static bool conn_flush(struct server *s, struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off,
				 c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (n <= 0) {
			conn_close(s, c);
			return false;
		}
		c->out_off += n;
	}
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = 0;
	if (c->close_after) {
		conn_close(s, c);
		return false;
	}
	return true;
}

/* Appends @len bytes of @data to what the connection will write. */
static int conn_queue(struct conn *c, char *data, size_t len)
{
	char *n;

	if (!c->out) {
		c->out = data;
		c->out_len = len;
		c->out_off = 0;
		return 0;
	}
	n = realloc(c->out, c->out_len + len);
	if (!n) {
		free(data);
		return -ENOMEM;
	}
	memcpy(n + c->out_len, data, len);
	free(data);
	c->out = n;
	c->out_len += len;
	return 0;
}

static void conn_respond(struct conn *c, int status, const char *body,
			 bool close)
{
	size_t len;
	char *resp = http_response_build(status, body, body ? strlen(body) : 0,
					 close, &len);

	if (close)
		c->close_after = true;
	if (!resp || conn_queue(c, resp, len))
		c->close_after = true; /* out of memory: drop the client */
}

static void conn_error(struct conn *c, int status, const char *msg)
{
	char *body = routes_fault_body(msg);

	conn_respond(c, status, body, true);
	free(body);
}

/* Answers every complete request buffered, in order, while writes keep up. */
static bool conn_process(struct server *s, struct conn *c)
{
	struct http_request req;

	while (!c->out && !c->close_after) {
		struct http_response resp = { 0 };
		int ret = http_parse(&c->parser, &req);

		if (ret == HTTP_NEED_MORE) {
			if (http_parser_wants_continue(&c->parser))
				conn_respond(c, 100, NULL, false);
			break;
		}
		if (ret < 0) {
			conn_error(c, c->parser.error_status, c->parser.error_msg);
			break;
		}
		s->handler(s->ctx, &req, &resp);
		conn_respond(c, resp.status, resp.body, !req.keep_alive);
		free(resp.body);
		c->deadline = now_ms() + s->timeout_ms;
		if (!conn_flush(s, c))
			return false;
	}
	return conn_flush(s, c);
}

static void conn_update_events(struct server *s, struct conn *c)
{
	struct epoll_event ev = { .data.ptr = c };

	/* Backpressure: read nothing more until answers are written. */
	if (c->out)
		ev.events = EPOLLOUT;
	else if (!c->read_eof && !c->close_after)
		ev.events = EPOLLIN | EPOLLRDHUP;
	if (ev.events != c->events) {
		epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev);
		c->events = ev.events;
	}
}

static void conn_event(struct server *s, struct conn *c, uint32_t events)
{
	if (events & EPOLLERR) {
		conn_close(s, c);
		return;
	}
	if (c->out && !conn_flush(s, c))
		return;
	if (!c->out && !c->read_eof && (events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP))) {
		size_t room = http_parser_room(&c->parser);
		ssize_t n = 0;

		if (room) {
			n = recv(c->fd, http_parser_tail(&c->parser), room,
				 MSG_DONTWAIT);
			if (n > 0)
				http_parser_commit(&c->parser, n);
			else if (n == 0)
				c->read_eof = true;
			else if (errno != EAGAIN && errno != EINTR) {
				conn_close(s, c);
				return;
			}
		}
	}
	if (!conn_process(s, c))
		return;
	/* Half-closed: answer what was complete, then hang up. */
	if (c->read_eof && !c->out) {
		conn_close(s, c);
		return;
	}
	conn_update_events(s, c);
}

static void server_accept(struct server *s)
{
	for (;;) {
		int fd = accept4(s->listen_fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };
		struct conn *c = NULL;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			/* Out of fds or memory: the socket stays readable, so
			 * stop watching it until a client leaves or a while
			 * passed, rather than spin on accept(). */
			s->accept_resume = now_ms() + SERVER_ACCEPT_RETRY_MS;
			listen_watch(s, false);
			return;
		}
		for (int i = 0; i < s->max_clients && s->nr_clients < s->max_clients; i++) {
			if (s->conns[i].fd < 0) {
				c = &s->conns[i];
				break;
			}
		}
		if (!c) {
			static const char busy[] =
				"HTTP/1.1 503 Service Unavailable\r\n"
				"Content-Length: 0\r\nConnection: close\r\n\r\n";

			if (send(fd, busy, sizeof(busy) - 1,
				 MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
				/* Best effort: the client is dropped anyway. */
			}
			close(fd);
			continue;
		}
		memset(c, 0, sizeof(*c));
		c->fd = fd;
		if (http_parser_init(&c->parser, s->max_body)) {
			close(fd);
			c->fd = -1;
			continue;
		}
		ev.data.ptr = c;
		c->events = ev.events;
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			http_parser_free(&c->parser);
			close(fd);
			c->fd = -1;
			continue;
		}
		c->deadline = now_ms() + s->timeout_ms;
		s->nr_clients++;
	}
}

/* Closes clients past their deadline; returns ms to the next one, or -1. */
static int server_sweep(struct server *s)
{
	uint64_t now = now_ms(), next = UINT64_MAX;

	if (s->accept_resume && s->accept_resume <= now)
		accept_resume(s);
	if (s->accept_resume)
		next = s->accept_resume;
	for (int i = 0; i < s->max_clients; i++) {
		struct conn *c = &s->conns[i];

		if (c->fd < 0)
			continue;
		if (c->deadline <= now) {
			if (!c->out && http_parser_partial(&c->parser)) {
				conn_error(c, 408, "request not received in time");
				c->out_off = 0;
				/* One try: a slow client gets what fits. */
				if (!conn_flush(s, c))
					continue;
			}
			conn_close(s, c);
			continue;
		}
		if (c->deadline < next)
			next = c->deadline;
	}
	return next == UINT64_MAX ? -1 : (int)(next - now);
}

int server_run(struct server *s)
{
	struct epoll_event evs[32];

	for (;;) {
		int timeout = server_sweep(s);
		int n = epoll_wait(s->epfd, evs, 32, timeout);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;

			if (p == &stop_tag)
				return 0;
			if (p == &listen_tag)
				server_accept(s);
			else if (((struct conn *)p)->fd >= 0)
				conn_event(s, p, evs[i].events);
		}
	}
}

void server_stop(struct server *s)
{
	uint64_t one = 1;

	if (write(s->stop_fd, &one, sizeof(one)) < 0) {
		/* Only fails when already signalled. */
	}
}

/* Deals with something already at @path before binding there. */
static int clear_stale(const char *path, const struct sockaddr_un *addr)
{
	struct stat st;
	int fd, ret;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	ret = connect(fd, (const struct sockaddr *)addr, sizeof(*addr));
	close(fd);
	if (ret == 0)
		return -EADDRINUSE; /* someone live serves there */
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int server_open(struct server **out, const struct server_options *opts,
		server_handler handler, void *ctx)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN };
	struct server *s;
	struct stat st;
	int ret;

	if (strlen(opts->path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, opts->path);
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->listen_fd = s->epfd = s->stop_fd = -1;
	s->handler = handler;
	s->ctx = ctx;
	s->max_body = opts->max_body ? opts->max_body : HTTP_DEFAULT_MAX_BODY;
	s->timeout_ms = opts->client_timeout_ms ? opts->client_timeout_ms :
						  SERVER_CLIENT_TIMEOUT_MS;
	s->max_clients = opts->max_clients > 0 ? opts->max_clients :
						 SERVER_MAX_CLIENTS;
	s->path = strdup(opts->path);
	s->conns = calloc(s->max_clients, sizeof(*s->conns));
	if (!s->path || !s->conns) {
		ret = -ENOMEM;
		goto err;
	}
	for (int i = 0; i < s->max_clients; i++)
		s->conns[i].fd = -1;

	ret = clear_stale(opts->path, &addr);
	if (ret)
		goto err;
	s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			      0);
	if (s->listen_fd < 0)
		goto err_errno;
	/* Linux creates the socket file with the socket inode's mode (less
	 * the umask): set it first so the file is never world-accessible. */
	if (fchmod(s->listen_fd, 0600) < 0)
		goto err_errno;
	if (bind(s->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		goto err_errno;
	if (chmod(opts->path, 0600) < 0 || stat(opts->path, &st) < 0) {
		ret = -errno;
		unlink(opts->path);
		goto err;
	}
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	if (listen(s->listen_fd, 128) < 0) {
		ret = -errno;
		unlink(opts->path);
		goto err;
	}
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->epfd < 0 || s->stop_fd < 0)
		goto err_unlink;
	ev.data.ptr = &listen_tag;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->listen_fd, &ev) < 0)
		goto err_unlink;
	ev.data.ptr = &stop_tag;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->stop_fd, &ev) < 0)
		goto err_unlink;
	*out = s;
	return 0;

err_unlink:
	ret = -errno;
	unlink(opts->path);
	goto err;
err_errno:
	ret = -errno;
err:
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->epfd >= 0)
		close(s->epfd);
	if (s->stop_fd >= 0)
		close(s->stop_fd);
	free(s->conns);
	free(s->path);
	free(s);
	return ret;
}

void server_close(struct server *s)
{
	struct stat st;

	if (!s)
		return;
	for (int i = 0; i < s->max_clients; i++)
		if (s->conns[i].fd >= 0)
			conn_close(s, &s->conns[i]);
	/* Remove the socket only if nobody replaced it meanwhile. */
	if (stat(s->path, &st) == 0 && st.st_dev == s->dev &&
	    st.st_ino == s->ino)
		unlink(s->path);
	close(s->listen_fd);
	close(s->epfd);
	close(s->stop_fd);
	free(s->conns);
	free(s->path);
	free(s);
}
