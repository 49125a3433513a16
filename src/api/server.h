/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The API's Unix socket server: the listening socket, a bounded set of
 * client connections and the API thread's own epoll loop. Each connection
 * feeds an http_parser; complete requests are answered one at a time, in
 * order (pipelining), by a handler. Slow, idle or silent clients are closed
 * after a timeout, extra clients beyond the limit are accepted and closed,
 * and malformed requests get their error status and a closed connection.
 */
#ifndef FIGMENT_API_SERVER_H
#define FIGMENT_API_SERVER_H

#include <stddef.h>

#include "api/http.h"

#define SERVER_MAX_CLIENTS 64
#define SERVER_CLIENT_TIMEOUT_MS 30000

/* Answers @req: fills @resp (the server frees resp->body). */
typedef void (*server_handler)(void *ctx, const struct http_request *req,
			       struct http_response *resp);

struct server_options {
	const char *path;
	size_t max_body;	    /* 0: HTTP_DEFAULT_MAX_BODY */
	unsigned client_timeout_ms; /* 0: SERVER_CLIENT_TIMEOUT_MS */
	int max_clients;	    /* 0: SERVER_MAX_CLIENTS */
};

struct server;

/*
 * Binds and listens on opts->path (mode 0600). A stale socket there (nobody
 * accepting) is replaced; a live one is refused with -EADDRINUSE, anything
 * that is not a socket with -EEXIST. 0 or a negative errno.
 */
int server_open(struct server **out, const struct server_options *opts,
		server_handler handler, void *ctx);
/* Serves until server_stop(); returns 0 or a negative errno. */
int server_run(struct server *s);
/* Makes server_run() return soon. Any thread. */
void server_stop(struct server *s);
/* Closes all connections and the socket, removes the socket file (if it is
 * still ours) and frees @s. Not while server_run() runs. */
void server_close(struct server *s);

#endif
