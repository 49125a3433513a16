// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer harness for the API's HTTP/1.1 request parser. Input: one byte
 * choosing how the rest is split into feeds (as reads from a socket would
 * split it), then the bytes a client sends. Parses every request out of it,
 * checking that each one handed out is well-formed and inside the buffer,
 * and that a failure carries an error status.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "api/http.h"

static void check_request(const struct http_parser *p,
			  const struct http_request *r)
{
	assert(r->method[0] >= 'A' && r->method[0] <= 'Z');
	assert(r->path[0] == '/');
	assert(strlen(r->path) <= HTTP_MAX_TARGET);
	for (const char *c = r->path; *c; c++)
		assert(*c > 0x20 && *c < 0x7f && *c != '?');
	assert(r->body_len <= p->max_body);
	if (r->body_len)
		assert(r->body >= p->buf &&
		       r->body + r->body_len <= p->buf + p->len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_parser p;
	struct http_request req;
	size_t chunk, off = 0;

	if (size < 1)
		return 0;
	chunk = (size_t)data[0] + 1; /* 1..256 bytes per feed */
	data++;
	size--;
	/* A small body limit reaches the 413 paths with short inputs. */
	if (http_parser_init(&p, chunk > 128 ? 0 : 64))
		return 0;
	while (off < size) {
		size_t n = size - off < chunk ? size - off : chunk;
		int ret;

		n = http_parser_feed(&p, data + off, n);
		off += n;
		while ((ret = http_parse(&p, &req)) == HTTP_REQUEST_READY) {
			check_request(&p, &req);
			(void)http_parser_wants_continue(&p);
		}
		if (ret < 0) {
			assert(p.error_status >= 400 && p.error_status < 600);
			assert(p.error_msg);
			break;
		}
		if (n == 0)
			break; /* full with an unfinished request: impossible */
	}
	http_parser_free(&p);
	return 0;
}
