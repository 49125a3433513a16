/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host side of virtio-vsock, Firecracker's hybrid model: Unix stream
 * sockets standing in for the guest's peers.
 *
 *  - host-initiated: a host program connects to the listening socket
 *    @uds_path and writes "CONNECT <port>\n"; the device then opens the
 *    guest's port and, once the guest accepted, answers "OK <hostport>\n";
 *  - guest-initiated: a guest connection to host port P is a connection
 *    to the Unix socket "<uds_path>_P".
 *
 * Every socket is non-blocking and sits in the muxer's own epoll set
 * (connections edge-triggered, the listener level-triggered), which the
 * device watches as one fd on the VMM thread's loop: so a VM with any
 * number of connections needs one watch, and the packet logic (vsock.c)
 * asks "what is ready" with vsock_muxer_wait(), never blocking.
 */
#ifndef FIGMENT_DEVICES_VIRTIO_VSOCK_MUXER_H
#define FIGMENT_DEVICES_VIRTIO_VSOCK_MUXER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/types.h>

#include "config/vm_config.h"

/* The epoll key of the listening socket; a connection's is its own. */
#define VSOCK_MUX_LISTENER UINT64_MAX
/* "CONNECT 4294967295\n" and a little slack: a longer first line is not
 * a connect request. */
#define VSOCK_CONNECT_LINE_MAX 32

struct vsock_muxer {
	int epfd;
	int listen_fd; /* -1: none */
	char uds_path[CONFIG_UDS_PATH_MAX + 1];
	/* the socket file we bound (removed at close if it is still ours) */
	dev_t sock_dev;
	ino_t sock_ino;
	bool listen_paused; /* out of descriptors: not in the epoll set */
};

/*
 * Binds and listens on @uds_path (a stale socket file nobody listens on is
 * replaced; a live one is refused), and makes the epoll set. Setup only
 * (socket, bind, listen are not in the VMM thread's seccomp filter). 0, or
 * a negative errno with the reason in @err.
 */
int vsock_muxer_open(struct vsock_muxer *m, const char *uds_path, char *err,
		     size_t errlen);

/* Closes the listener and the epoll set, and removes the socket file if it
 * is still the one bound. The connections are the caller's. */
void vsock_muxer_close(struct vsock_muxer *m);

/* A new host connection (non-blocking), or -EAGAIN when none waits, or
 * another negative errno. */
int vsock_muxer_accept(struct vsock_muxer *m);

/* Takes the listener out of the epoll set (accept4 fails with EMFILE: a
 * level-triggered listener would spin) or puts it back (a descriptor was
 * freed). */
void vsock_muxer_listen_pause(struct vsock_muxer *m);
void vsock_muxer_listen_resume(struct vsock_muxer *m);

/* A non-blocking connection to "<uds_path>_<port>": the fd, or a negative
 * errno (-ENAMETOOLONG when that path does not fit sun_path; -ENOENT,
 * -ECONNREFUSED, -EAGAIN: nobody listens, or its backlog is full). */
int vsock_muxer_connect(const struct vsock_muxer *m, uint32_t port);

/* Adds connection @fd to the epoll set (in, out, peer hang-up;
 * edge-triggered) under @key. 0 or a negative errno. */
int vsock_muxer_add(struct vsock_muxer *m, int fd, uint64_t key);

/* Adds timerfd @fd to the epoll set (readable; level-triggered) under
 * @key. 0 or a negative errno. */
int vsock_muxer_add_timer(struct vsock_muxer *m, int fd, uint64_t key);

/* Up to @max ready events, without waiting: their number, or 0. */
int vsock_muxer_wait(struct vsock_muxer *m, struct epoll_event *ev, int max);

/*
 * The host's connect request: exactly "CONNECT <port>\n", the port 1 to 10
 * decimal digits within 32 bits. @len bytes from @buf, the newline
 * included. 0 with *@port, or -EINVAL.
 */
int vsock_parse_connect(const char *buf, size_t len, uint32_t *port);

/*
 * Reads the connect request from a new host connection @fd, taking exactly
 * its bytes (what follows is the stream's). 0 with *@port; -EAGAIN when the
 * line is not complete yet; -EINVAL when it is not a connect request (too
 * long, malformed); -EPIPE when the host closed first; another negative
 * errno on a socket error.
 */
int vsock_muxer_read_connect(int fd, uint32_t *port);

#endif
