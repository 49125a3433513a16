// SPDX-License-Identifier: Apache-2.0
/* The HTTP/1.1 request parser: good requests, pipelining, split input and
 * every malformed case the API socket must refuse. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/http.h"

static struct http_parser p;

static void setup(void)
{
	cr_assert_eq(http_parser_init(&p, 0), 0);
}

static void teardown(void)
{
	http_parser_free(&p);
}

TestSuite(http, .init = setup, .fini = teardown);

static int feed_str(const char *s)
{
	size_t n = strlen(s);

	cr_assert_eq(http_parser_feed(&p, s, n), n);
	return 0;
}

/* Feeds @s and expects the parser to fail with @status. */
static void expect_error(const char *s, int status)
{
	struct http_request req;

	feed_str(s);
	cr_assert_eq(http_parse(&p, &req), -EPROTO, "accepted: %s", s);
	cr_assert_eq(p.error_status, status, "status %d for: %s",
		     p.error_status, s);
}

Test(http, simple_get)
{
	struct http_request req;

	feed_str("GET /machine-config HTTP/1.1\r\nHost: localhost\r\n"
		 "Accept: application/json\r\n\r\n");
	cr_assert_eq(http_parse(&p, &req), HTTP_REQUEST_READY);
	cr_assert_str_eq(req.method, "GET");
	cr_assert_str_eq(req.path, "/machine-config");
	cr_assert_null(req.body);
	cr_assert(req.keep_alive);
	cr_assert_eq(http_parse(&p, &req), HTTP_NEED_MORE);
}

Test(http, put_with_body_and_query)
{
	struct http_request req;

	feed_str("PUT /drives/rootfs?x=1 HTTP/1.1\r\ncontent-length: 13\r\n"
		 "Content-Type: application/json\r\n\r\n{\"a\": \"bcd\"}");
	cr_assert_eq(http_parse(&p, &req), HTTP_NEED_MORE);
	feed_str("\n");
	cr_assert_eq(http_parse(&p, &req), HTTP_REQUEST_READY);
	cr_assert_str_eq(req.method, "PUT");
	cr_assert_str_eq(req.path, "/drives/rootfs");
	cr_assert_eq(req.body_len, 13);
	cr_assert_eq(memcmp(req.body, "{\"a\": \"bcd\"}\n", 13), 0);
}

Test(http, http10_and_connection_close)
{
	struct http_request req;

	feed_str("GET / HTTP/1.0\r\n\r\n");
	cr_assert_eq(http_parse(&p, &req), HTTP_REQUEST_READY);
	cr_assert_not(req.keep_alive);
	feed_str("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
	cr_assert_eq(http_parse(&p, &req), HTTP_REQUEST_READY);
	cr_assert(req.keep_alive);
	feed_str("GET / HTTP/1.1\r\nConnection: foo, Close\r\n\r\n");
	cr_assert_eq(http_parse(&p, &req), HTTP_REQUEST_READY);
	cr_assert_not(req.keep_alive);
}

Test(http, pipelined)
{
	struct http_request req;

	feed_str("GET /a HTTP/1.1\r\n\r\nPUT /b HTTP/1.1\r\nContent-Length: 2\r\n"
		 "\r\n{}GET /c HTTP/1.1\r\n\r\nGET /d HT");
	cr_assert_eq(http_parse(&p, &req), HTTP_REQUEST_READY);
	cr_assert_str_eq(req.path, "/a");
	cr_assert_eq(http_parse(&p, &req), HTTP_REQUEST_READY);
	cr_assert_str_eq(req.path, "/b");
	cr_assert_eq(req.body_len, 2);
	cr_assert_eq(memcmp(req.body, "{}", 2), 0);
	cr_assert_eq(http_parse(&p, &req), HTTP_REQUEST_READY);
	cr_assert_str_eq(req.path, "/c");
	cr_assert_eq(http_parse(&p, &req), HTTP_NEED_MORE);
	cr_assert(http_parser_partial(&p));
	feed_str("TP/1.1\r\n\r\n");
	cr_assert_eq(http_parse(&p, &req), HTTP_REQUEST_READY);
	cr_assert_str_eq(req.path, "/d");
	cr_assert_not(http_parser_partial(&p));
}

Test(http, one_byte_at_a_time)
{
	const char *s = "PATCH /vm HTTP/1.1\r\nContent-Length: 19\r\n\r\n"
			"{\"state\":\"Paused\"}\n"
			"GET /version HTTP/1.1\r\n\r\n";
	struct http_request req;
	int got = 0;

	for (size_t i = 0; s[i]; i++) {
		int ret;

		cr_assert_eq(http_parser_feed(&p, s + i, 1), 1);
		while ((ret = http_parse(&p, &req)) == HTTP_REQUEST_READY) {
			if (got++ == 0) {
				cr_assert_str_eq(req.path, "/vm");
				cr_assert_eq(req.body_len, 19);
			} else {
				cr_assert_str_eq(req.path, "/version");
			}
		}
		cr_assert_eq(ret, HTTP_NEED_MORE, "at byte %zu", i);
	}
	cr_assert_eq(got, 2);
}

Test(http, zero_copy_reads)
{
	const char *s = "GET / HTTP/1.1\r\n\r\n";
	struct http_request req;

	cr_assert_geq(http_parser_room(&p), strlen(s));
	memcpy(http_parser_tail(&p), s, strlen(s));
	http_parser_commit(&p, strlen(s));
	cr_assert_eq(http_parse(&p, &req), HTTP_REQUEST_READY);
}

Test(http, expect_continue)
{
	struct http_request req;

	feed_str("PUT /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
	cr_assert_eq(http_parse(&p, &req), HTTP_NEED_MORE);
	cr_assert(http_parser_wants_continue(&p));
	cr_assert_not(http_parser_wants_continue(&p));
	feed_str("{}");
	cr_assert_eq(http_parse(&p, &req), HTTP_REQUEST_READY);
}

Test(http, body_at_the_limit)
{
	char head[128];
	char *body = malloc(HTTP_DEFAULT_MAX_BODY);
	struct http_request req;

	memset(body, ' ', HTTP_DEFAULT_MAX_BODY);
	snprintf(head, sizeof(head), "PUT /x HTTP/1.1\r\nContent-Length: %d\r\n\r\n",
		 HTTP_DEFAULT_MAX_BODY);
	feed_str(head);
	cr_assert_eq(http_parser_feed(&p, body, HTTP_DEFAULT_MAX_BODY),
		     HTTP_DEFAULT_MAX_BODY);
	cr_assert_eq(http_parse(&p, &req), HTTP_REQUEST_READY);
	cr_assert_eq(req.body_len, HTTP_DEFAULT_MAX_BODY);
	free(body);
}

Test(http, body_too_large)
{
	char head[128];

	snprintf(head, sizeof(head), "PUT /x HTTP/1.1\r\nContent-Length: %d\r\n\r\n",
		 HTTP_DEFAULT_MAX_BODY + 1);
	expect_error(head, 413);
}

Test(http, configurable_body_limit)
{
	struct http_parser q;
	struct http_request req;
	const char *s = "PUT /x HTTP/1.1\r\nContent-Length: 11\r\n\r\n";

	cr_assert_eq(http_parser_init(&q, 10), 0);
	http_parser_feed(&q, s, strlen(s));
	cr_assert_eq(http_parse(&q, &req), -EPROTO);
	cr_assert_eq(q.error_status, 413);
	http_parser_free(&q);
}

Test(http, content_length_huge)
{
	expect_error("PUT /x HTTP/1.1\r\nContent-Length: 99999999999999999999999999\r\n\r\n",
		     413);
}

Test(http, content_length_negative)
{
	expect_error("PUT /x HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400);
}

Test(http, content_length_not_a_number)
{
	expect_error("PUT /x HTTP/1.1\r\nContent-Length: 12abc\r\n\r\n", 400);
}

Test(http, content_length_empty)
{
	expect_error("PUT /x HTTP/1.1\r\nContent-Length:\r\n\r\n", 400);
}

Test(http, content_length_with_sign)
{
	expect_error("PUT /x HTTP/1.1\r\nContent-Length: +5\r\n\r\n", 400);
}

Test(http, content_length_list)
{
	expect_error("PUT /x HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n", 400);
}

Test(http, content_length_duplicate)
{
	expect_error("PUT /x HTTP/1.1\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\n{}",
		     400);
}

Test(http, chunked)
{
	expect_error("PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
		     501);
}

Test(http, lying_content_length_short)
{
	struct http_request req;

	/* The extra bytes become the next "request", which is garbage. */
	feed_str("PUT /x HTTP/1.1\r\nContent-Length: 1\r\n\r\n{}");
	cr_assert_eq(http_parse(&p, &req), HTTP_REQUEST_READY);
	cr_assert_eq(req.body_len, 1);
	feed_str("\r\n\r\n");
	cr_assert_eq(http_parse(&p, &req), -EPROTO);
	cr_assert_eq(p.error_status, 400);
}

Test(http, lying_content_length_long)
{
	struct http_request req;

	feed_str("PUT /x HTTP/1.1\r\nContent-Length: 100\r\n\r\n{}");
	cr_assert_eq(http_parse(&p, &req), HTTP_NEED_MORE);
	cr_assert(http_parser_partial(&p));
}

Test(http, body_without_content_length)
{
	struct http_request req;

	feed_str("PUT /x HTTP/1.1\r\n\r\n{\"a\":1}\r\n\r\n");
	cr_assert_eq(http_parse(&p, &req), HTTP_REQUEST_READY);
	cr_assert_eq(req.body_len, 0);
	cr_assert_eq(http_parse(&p, &req), -EPROTO);
	cr_assert_eq(p.error_status, 400);
}

Test(http, request_line_too_long)
{
	char *s = malloc(HTTP_MAX_HEAD + 64);

	strcpy(s, "GET /");
	memset(s + 5, 'a', HTTP_MAX_TARGET + 100);
	s[5 + HTTP_MAX_TARGET + 100] = '\0';
	expect_error(s, 414);
	free(s);
}

Test(http, target_too_long)
{
	char *s = malloc(HTTP_MAX_HEAD);

	strcpy(s, "GET /");
	memset(s + 5, 'a', HTTP_MAX_TARGET);
	strcpy(s + 5 + HTTP_MAX_TARGET, " HTTP/1.1\r\n\r\n");
	expect_error(s, 414);
	free(s);
}

Test(http, headers_too_large)
{
	char line[128];

	feed_str("GET / HTTP/1.1\r\n");
	for (int i = 0; i < HTTP_MAX_HEAD / 40; i++) {
		snprintf(line, sizeof(line), "X-Header-%04d: %026d\r\n", i, 0);
		http_parser_feed(&p, line, strlen(line));
	}
	expect_error("\r\n", 431);
}

Test(http, too_many_headers)
{
	feed_str("GET / HTTP/1.1\r\n");
	for (int i = 0; i <= HTTP_MAX_HEADERS; i++)
		feed_str("A: b\r\n");
	expect_error("\r\n", 431);
}

Test(http, bad_version)
{
	expect_error("GET / HTTP/2.0\r\n\r\n", 505);
}

Test(http, garbage_version)
{
	expect_error("GET / FOO/1.1\r\n\r\n", 400);
}

Test(http, lowercase_method)
{
	expect_error("get / HTTP/1.1\r\n\r\n", 400);
}

Test(http, missing_target)
{
	expect_error("GET HTTP/1.1\r\n\r\n", 400);
}

Test(http, absolute_form_target_is_its_path)
{
	static const struct {
		const char *target, *path;
	} cases[] = {
		{ "http://169.254.169.254/latest/meta-data?x=1", "/latest/meta-data" },
		{ "HTTP://localhost/machine-config", "/machine-config" },
		{ "http://host", "/" },
		{ "http://host:80?q", "/" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct http_parser p;
		struct http_request r;
		char req[160];

		snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\n\r\n",
			 cases[i].target);
		cr_assert_eq(http_parser_init(&p, 0), 0);
		http_parser_feed(&p, req, strlen(req));
		cr_assert_eq(http_parse(&p, &r), HTTP_REQUEST_READY, "%s", req);
		cr_assert_str_eq(r.path, cases[i].path);
		http_parser_free(&p);
	}
}

Test(http, absolute_form_needs_a_host)
{
	expect_error("GET http:///x HTTP/1.1\r\n\r\n", 400);
	expect_error("GET ftp://x/ HTTP/1.1\r\n\r\n", 400);
}

Test(http, control_byte_in_path)
{
	expect_error("GET /a\x01 HTTP/1.1\r\n\r\n", 400);
}

Test(http, non_ascii_in_path)
{
	expect_error("GET /\xc3\xa9 HTTP/1.1\r\n\r\n", 400);
}

Test(http, tab_in_path)
{
	expect_error("GET /a\tb HTTP/1.1\r\n\r\n", 400);
}

Test(http, bare_lf)
{
	expect_error("GET / HTTP/1.1\n\n", 400);
}

Test(http, bare_cr)
{
	expect_error("GET / HTTP/1.1\rX\r\n\r\n", 400);
}

Test(http, folded_header)
{
	expect_error("GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", 400);
}

Test(http, header_without_colon)
{
	expect_error("GET / HTTP/1.1\r\nfoo\r\n\r\n", 400);
}

Test(http, space_before_colon)
{
	expect_error("GET / HTTP/1.1\r\nContent-Length : 2\r\n\r\n", 400);
}

Test(http, unsupported_expect)
{
	expect_error("GET / HTTP/1.1\r\nExpect: magic\r\n\r\n", 417);
}

Test(http, binary_garbage_refused_early)
{
	static const char junk[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";
	struct http_request req;

	http_parser_feed(&p, junk, sizeof(junk) - 1);
	cr_assert_eq(http_parse(&p, &req), -EPROTO);
	cr_assert_eq(p.error_status, 400);
}

Test(http, empty_request_line)
{
	expect_error("\r\n\r\n", 400);
}

Test(http, error_is_sticky)
{
	struct http_request req;

	expect_error("BAD\r\n\r\n", 400);
	feed_str("GET / HTTP/1.1\r\n\r\n");
	cr_assert_eq(http_parse(&p, &req), -EPROTO);
}

Test(http, buffer_is_bounded)
{
	char junk[4096];
	size_t total = 0, n;

	memset(junk, 'A', sizeof(junk));
	while ((n = http_parser_feed(&p, junk, sizeof(junk))) > 0)
		total += n;
	cr_assert_eq(total, HTTP_MAX_HEAD + HTTP_DEFAULT_MAX_BODY);
}

Test(http, response_with_body)
{
	size_t len;
	char *r = http_response_build(200, "{}", 2, false, &len);
	const char *want = "HTTP/1.1 200 OK\r\nServer: figment API\r\n"
			   "Content-Type: application/json\r\n"
			   "Content-Length: 2\r\n\r\n{}";

	cr_assert_eq(len, strlen(want));
	cr_assert_eq(memcmp(r, want, len), 0);
	free(r);
}

Test(http, response_no_content_close)
{
	size_t len;
	char *r = http_response_build(204, NULL, 0, true, &len);
	const char *want = "HTTP/1.1 204 No Content\r\nServer: figment API\r\n"
			   "Connection: close\r\n\r\n";

	cr_assert_eq(len, strlen(want));
	cr_assert_eq(memcmp(r, want, len), 0);
	free(r);
}

Test(http, header_lookup_is_case_blind_and_trims)
{
	struct http_request req;
	const char *v;
	size_t n;

	feed_str("GET / HTTP/1.1\r\nHost: a\r\nX-Token:  abc \r\nx-token: second\r\n"
		 "Empty:\r\n\r\n");
	cr_assert_eq(http_parse(&p, &req), HTTP_REQUEST_READY);
	cr_assert(http_header(&req, "x-TOKEN", &v, &n));
	cr_assert_eq(n, 3);
	cr_assert_eq(strncmp(v, "abc", 3), 0, "the first one, trimmed");
	cr_assert(http_header(&req, "Empty", &v, &n));
	cr_assert_eq(n, 0);
	cr_assert_not(http_header(&req, "X-Tok", &v, &n));
	cr_assert_not(http_header(&req, "Missing", &v, &n));
	feed_str("GET / HTTP/1.1\r\n\r\n");
	cr_assert_eq(http_parse(&p, &req), HTTP_REQUEST_READY);
	cr_assert_not(http_header(&req, "Host", &v, &n));
}
