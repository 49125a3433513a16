// SPDX-License-Identifier: Apache-2.0
#include "api/http.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int http_parser_init(struct http_parser *p, size_t max_body)
{
	memset(p, 0, sizeof(*p));
	p->max_body = max_body ? max_body : HTTP_DEFAULT_MAX_BODY;
	p->cap = HTTP_MAX_HEAD + p->max_body;
	p->buf = malloc(p->cap);
	return p->buf ? 0 : -ENOMEM;
}

void http_parser_free(struct http_parser *p)
{
	free(p->buf);
	p->buf = NULL;
	p->len = p->cap = 0;
}

/* Drops the request handed out last, keeping pipelined bytes after it. */
static void compact(struct http_parser *p)
{
	if (!p->consumed)
		return;
	memmove(p->buf, p->buf + p->consumed, p->len - p->consumed);
	p->len -= p->consumed;
	p->consumed = 0;
	p->head_len = p->scan = 0;
	p->method_seen = false;
	p->content_length = 0;
	p->expect_continue = p->continue_sent = false;
}

size_t http_parser_room(const struct http_parser *p)
{
	return p->cap - p->len + p->consumed;
}

char *http_parser_tail(struct http_parser *p)
{
	compact(p);
	return p->buf + p->len;
}

void http_parser_commit(struct http_parser *p, size_t n)
{
	if (n > p->cap - p->len)
		n = p->cap - p->len;
	p->len += n;
}

size_t http_parser_feed(struct http_parser *p, const void *data, size_t len)
{
	size_t n;

	compact(p);
	n = http_parser_room(p);
	if (len < n)
		n = len;
	memcpy(p->buf + p->len, data, n);
	p->len += n;
	return n;
}

bool http_parser_partial(const struct http_parser *p)
{
	return p->len > p->consumed;
}

bool http_parser_wants_continue(struct http_parser *p)
{
	if (!p->expect_continue || p->continue_sent)
		return false;
	p->continue_sent = true;
	return true;
}

static int parse_error(struct http_parser *p, int status, const char *msg)
{
	p->error_status = status;
	p->error_msg = msg;
	return -EPROTO;
}

static bool is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c);
}

/* True when the comma-separated header value contains @token. */
static bool value_has_token(const char *v, size_t n, const char *token)
{
	size_t tlen = strlen(token);
	size_t i = 0;

	while (i < n) {
		size_t start, end;

		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		start = i;
		while (i < n && v[i] != ',')
			i++;
		end = i;
		while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t'))
			end--;
		if (end - start == tlen && !strncasecmp(v + start, token, tlen))
			return true;
	}
	return false;
}

/*
 * Looks for the blank line that ends the head, checking every byte on the
 * way so garbage is refused as soon as it arrives rather than after 8 KiB.
 */
static int scan_head(struct http_parser *p)
{
	const unsigned char *b = (const unsigned char *)p->buf + p->consumed;
	size_t avail = p->len - p->consumed;
	size_t i;

	for (i = p->scan; i < avail && i < HTTP_MAX_HEAD; i++) {
		unsigned char c = b[i];

		/* Garbage in place of a method is refused at its first byte. */
		if (!p->method_seen) {
			if (c == ' ' && i > 0)
				p->method_seen = true;
			else if (c < 'A' || c > 'Z' || i >= HTTP_METHOD_MAX)
				return parse_error(p, 400, "malformed request method");
			continue;
		}
		if (c == '\n') {
			if (i == 0 || b[i - 1] != '\r')
				return parse_error(p, 400, "bare LF in the request head");
			if (i >= 3 && b[i - 2] == '\n') {
				p->head_len = i + 1;
				return 0;
			}
		} else if (c == '\r') {
			if (i + 1 < avail && b[i + 1] != '\n')
				return parse_error(p, 400, "bare CR in the request head");
		} else if ((c < 0x20 && c != '\t') || c >= 0x7f) {
			return parse_error(p, 400, "invalid byte in the request head");
		}
	}
	/* Resume one byte back: a CR at the end is checked with its LF. */
	p->scan = i ? i - 1 : 0;
	if (!memchr(b, '\n', i) && i > HTTP_MAX_TARGET + 32)
		return parse_error(p, 414, "request line too long");
	if (i >= HTTP_MAX_HEAD)
		return parse_error(p, 431, "request head too large");
	return 0;
}

static int parse_request_line(struct http_parser *p, const char *s,
			      size_t n)
{
	struct http_request *r = &p->req;
	size_t i = 0, t, tlen;
	const char *ver;

	while (i < n && s[i] >= 'A' && s[i] <= 'Z')
		i++;
	if (i == 0 || i > HTTP_METHOD_MAX || i >= n || s[i] != ' ')
		return parse_error(p, 400, "malformed request method");
	memcpy(r->method, s, i);
	r->method[i] = '\0';
	t = ++i;
	while (i < n && s[i] != ' ')
		i++;
	tlen = i - t;
	if (i >= n || tlen == 0)
		return parse_error(p, 400, "malformed request line");
	if (tlen > HTTP_MAX_TARGET)
		return parse_error(p, 414, "request target too long");
	for (size_t k = 0; k < tlen; k++) {
		unsigned char c = s[t + k];

		if (c <= 0x20 || c >= 0x7f)
			return parse_error(p, 400, "invalid byte in request target");
		if (c == '#')
			return parse_error(p, 400, "fragment in request target");
	}
	/* RFC 9112 3.2.2: a server takes the absolute form too (what a
	 * client configured with a proxy sends); only its path counts */
	if (tlen > 7 && !strncasecmp(s + t, "http://", 7)) {
		size_t a = t + 7, end = t + tlen;

		while (a < end && s[a] != '/' && s[a] != '?')
			a++;
		if (a == t + 7)
			return parse_error(p, 400, "no host in request target");
		r->path[0] = '/';
		r->path[1] = '\0';
		tlen = end - a;
		t = a;
		if (tlen && s[t] != '/') /* "http://host?q": the path is "/" */
			tlen = 0;
	} else if (s[t] != '/') {
		return parse_error(p, 400, "request target must be an absolute path");
	}
	for (size_t k = 0; k < tlen && s[t + k] != '?'; k++) {
		r->path[k] = s[t + k];
		r->path[k + 1] = '\0';
	}
	ver = s + i + 1;
	if (n - i - 1 != 8 || strncmp(ver, "HTTP/", 5))
		return parse_error(p, 400, "malformed HTTP version");
	if (ver[5] != '1' || ver[6] != '.' || (ver[7] != '0' && ver[7] != '1'))
		return parse_error(p, 505, "HTTP version not supported");
	r->keep_alive = ver[7] == '1';
	return 0;
}

static int parse_content_length(struct http_parser *p, const char *v,
				size_t n)
{
	uint64_t val = 0;

	if (p->req.has_content_length)
		return parse_error(p, 400, "duplicate Content-Length");
	if (n == 0)
		return parse_error(p, 400, "empty Content-Length");
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return parse_error(p, 400, "invalid Content-Length");
		/* Bounded long before uint64_t could overflow. */
		if (val <= p->max_body)
			val = val * 10 + (uint64_t)(v[i] - '0');
	}
	if (val > p->max_body)
		return parse_error(p, 413, "request body too large");
	p->req.has_content_length = true;
	p->content_length = val;
	return 0;
}

static int parse_header(struct http_parser *p, const char *s, size_t n)
{
	size_t i = 0, vs, ve;

	if (s[0] == ' ' || s[0] == '\t')
		return parse_error(p, 400, "folded header lines are not allowed");
	while (i < n && is_tchar((unsigned char)s[i]))
		i++;
	if (i == 0 || i >= n || s[i] != ':')
		return parse_error(p, 400, "malformed header line");
	vs = i + 1;
	while (vs < n && (s[vs] == ' ' || s[vs] == '\t'))
		vs++;
	ve = n;
	while (ve > vs && (s[ve - 1] == ' ' || s[ve - 1] == '\t'))
		ve--;

#define HDR(name) (i == sizeof(name) - 1 && !strncasecmp(s, name, i))
	if (HDR("Content-Length"))
		return parse_content_length(p, s + vs, ve - vs);
	if (HDR("Transfer-Encoding"))
		return parse_error(p, 501,
				   "Transfer-Encoding is not supported, send Content-Length");
	if (HDR("Connection")) {
		if (value_has_token(s + vs, ve - vs, "close"))
			p->req.keep_alive = false;
		else if (value_has_token(s + vs, ve - vs, "keep-alive"))
			p->req.keep_alive = true;
	} else if (HDR("Expect")) {
		if (ve - vs != 12 || strncasecmp(s + vs, "100-continue", 12))
			return parse_error(p, 417, "unsupported Expect header");
		p->expect_continue = true;
	}
#undef HDR
	return 0;
}

static int parse_head(struct http_parser *p)
{
	const char *s = p->buf + p->consumed;
	const char *end = s + p->head_len - 2; /* before the final CRLF */
	const char *eol = memchr(s, '\r', end - s);
	int nr_headers = 0;
	int ret;

	memset(&p->req, 0, sizeof(p->req));
	ret = parse_request_line(p, s, eol - s);
	if (ret)
		return ret;
	p->req.headers = eol + 2;
	p->req.headers_len = (size_t)(end - (eol + 2));
	for (s = eol + 2; s < end; s = eol + 2) {
		eol = memchr(s, '\r', end - s);
		if (++nr_headers > HTTP_MAX_HEADERS)
			return parse_error(p, 431, "too many headers");
		ret = parse_header(p, s, eol - s);
		if (ret)
			return ret;
	}
	return 0;
}

int http_parse(struct http_parser *p, struct http_request *req)
{
	int ret;

	if (p->error_status)
		return -EPROTO;
	compact(p);
	if (!p->head_len) {
		ret = scan_head(p);
		if (ret || !p->head_len)
			return ret ? ret : HTTP_NEED_MORE;
		ret = parse_head(p);
		if (ret)
			return ret;
	}
	if (p->len < p->head_len + p->content_length)
		return HTTP_NEED_MORE;
	*req = p->req;
	req->body = p->content_length ? p->buf + p->head_len : NULL;
	req->body_len = p->content_length;
	p->expect_continue = false;
	p->consumed = p->head_len + p->content_length;
	return HTTP_REQUEST_READY;
}

const char *http_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 413: return "Payload Too Large";
	case 414: return "URI Too Long";
	case 417: return "Expectation Failed";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

char *http_response_build(int status, const char *body, size_t body_len,
			  bool close, size_t *out_len)
{
	char head[256];
	int n;
	char *out;

	if (body && body_len)
		n = snprintf(head, sizeof(head),
			     "HTTP/1.1 %d %s\r\nServer: figment API\r\n"
			     "Content-Type: application/json\r\n"
			     "Content-Length: %zu\r\n%s\r\n",
			     status, http_reason(status), body_len,
			     close ? "Connection: close\r\n" : "");
	else
		/* RFC 9110: no Content-Length on 1xx and 204 answers. */
		n = snprintf(head, sizeof(head),
			     "HTTP/1.1 %d %s\r\nServer: figment API\r\n%s%s\r\n",
			     status, http_reason(status),
			     status == 204 || status < 200 ? "" :
							     "Content-Length: 0\r\n",
			     close ? "Connection: close\r\n" : "");
	if (!body)
		body_len = 0;
	out = malloc((size_t)n + body_len);
	if (!out)
		return NULL;
	memcpy(out, head, n);
	if (body_len)
		memcpy(out + n, body, body_len);
	*out_len = (size_t)n + body_len;
	return out;
}

bool http_header(const struct http_request *req, const char *name,
		 const char **val, size_t *len)
{
	const char *s = req->headers, *end = s + req->headers_len;
	size_t nlen = strlen(name);

	/* the lines were checked by parse_header(): "name:value" each, CRLF
	 * between them */
	while (s && s < end) {
		const char *eol = memchr(s, '\r', (size_t)(end - s));
		const char *v, *ve;

		if (!eol)
			eol = end;
		if ((size_t)(eol - s) > nlen && s[nlen] == ':' &&
		    !strncasecmp(s, name, nlen)) {
			v = s + nlen + 1;
			ve = eol;
			while (v < ve && (*v == ' ' || *v == '\t'))
				v++;
			while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			*val = v;
			*len = (size_t)(ve - v);
			return true;
		}
		s = eol + 2;
	}
	return false;
}
