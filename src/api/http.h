/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A strict, bounded, incremental HTTP/1.1 request parser for the API socket
 * and the metadata service (mmds/), and the API's response writer. Only what Firecracker's clients send is accepted:
 * a request line, headers, and a body framed by Content-Length. Anything else
 * (chunked bodies, folded headers, bare LFs, control bytes, oversized parts)
 * is an error that carries the status code to answer before closing.
 *
 * The parser owns one buffer of HTTP_MAX_HEAD + max_body bytes. Bytes are
 * appended as they arrive; pipelined requests are parsed one at a time.
 */
#ifndef FIGMENT_API_HTTP_H
#define FIGMENT_API_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#define HTTP_MAX_HEAD 8192	     /* request line + headers + blank line */
#define HTTP_MAX_TARGET 1024	     /* request target (path and query) */
#define HTTP_MAX_HEADERS 64
#define HTTP_DEFAULT_MAX_BODY 51200  /* Firecracker's default payload limit */
#define HTTP_METHOD_MAX 15

struct http_request {
	char method[HTTP_METHOD_MAX + 1];
	char path[HTTP_MAX_TARGET + 1]; /* the target without its query */
	const char *body;		/* into the parser's buffer; NULL: none */
	size_t body_len;
	bool has_content_length;
	bool keep_alive; /* the client lets the connection stay open */
	/* the header lines (checked), for http_header(); into the buffer */
	const char *headers;
	size_t headers_len;
};

struct http_parser {
	char *buf;
	size_t len; /* bytes held */
	size_t cap;
	size_t max_body;
	size_t scan;	 /* where the search for the end of the head resumes */
	bool method_seen; /* the method's bytes were checked as they came */
	size_t head_len; /* 0: head not complete yet */
	size_t content_length;
	size_t consumed; /* bytes of the request handed out, dropped on next */
	bool expect_continue;
	bool continue_sent;
	struct http_request req;
	int error_status; /* status code to answer when parsing failed */
	const char *error_msg;
};

/* What a request handler answers. */
struct http_response {
	int status;
	char *body; /* malloc'd JSON, NULL for none */
};

enum { HTTP_NEED_MORE = 0, HTTP_REQUEST_READY = 1 };

/* Allocates the buffer; @max_body 0 means HTTP_DEFAULT_MAX_BODY. 0 or -ENOMEM. */
int http_parser_init(struct http_parser *p, size_t max_body);
void http_parser_free(struct http_parser *p);

/* Free space at the end of the buffer for the next read (may be 0 while a
 * complete request waits to be parsed). */
size_t http_parser_room(const struct http_parser *p);
char *http_parser_tail(struct http_parser *p);
/* Records @n bytes written at http_parser_tail(). http_parser_tail() and
 * http_parser_feed() end the life of the request handed out last. */
void http_parser_commit(struct http_parser *p, size_t n);
/* Copies as much of @data as fits; returns the number of bytes taken. */
size_t http_parser_feed(struct http_parser *p, const void *data, size_t len);

/*
 * Parses the next request from the buffered bytes. Drops the request handed
 * out by the previous call first, so @req (and its body) stay valid until the
 * next call. Returns HTTP_REQUEST_READY with *req filled, HTTP_NEED_MORE, or
 * -EPROTO with p->error_status (400, 413, 414, 431, 501, 505...) and
 * p->error_msg set; after an error the connection must be closed.
 */
int http_parse(struct http_parser *p, struct http_request *req);

/* True once when the client asked "Expect: 100-continue" and waits for the
 * interim answer before sending its body. */
bool http_parser_wants_continue(struct http_parser *p);

/* True when bytes of an unfinished request are buffered. */
bool http_parser_partial(const struct http_parser *p);

/*
 * Builds a complete response: status line, Server, Content-Type and
 * Content-Length when there is a body, Connection: close when @close.
 * Returns a malloc'd buffer of *out_len bytes, or NULL on ENOMEM.
 */
char *http_response_build(int status, const char *body, size_t body_len,
			  bool close, size_t *out_len);

const char *http_reason(int status);

/* The value of @req's first header @name (case-insensitive), without the
 * spaces around it: true with *@val / *@len set, false when absent. */
bool http_header(const struct http_request *req, const char *name,
		 const char **val, size_t *len);

#endif
