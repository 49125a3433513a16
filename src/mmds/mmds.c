// SPDX-License-Identifier: Apache-2.0
#include "mmds/mmds.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "util/metrics.h"

#define TOKEN_BYTES 32
#define TOKEN_LEN   43 /* base64url of 32 bytes, no padding */
#define PATH_TO_TOKEN "/latest/api/token"

struct mmds_token {
	char text[TOKEN_LEN + 1]; /* "" when free */
	uint64_t expires_ns;
};

struct mmds {
	json_t *store; /* NULL before the first PUT */
	size_t size_limit;
	enum mmds_version version;
	bool imds_compat;
	struct mmds_token tokens[MMDS_MAX_TOKENS];
	struct {
		uint64_t *requests, *no_token, *invalid_token, *tokens_issued;
		uint64_t *errors;
	} m;
};

struct mmds *mmds_create(size_t size_limit)
{
	struct mmds *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->size_limit = size_limit ? size_limit : MMDS_DEFAULT_SIZE_LIMIT;
	m->m.requests = metrics_counter("mmds", "rx_requests");
	m->m.no_token = metrics_counter("mmds", "rx_no_token");
	m->m.invalid_token = metrics_counter("mmds", "rx_invalid_token");
	m->m.tokens_issued = metrics_counter("mmds", "tokens_issued");
	m->m.errors = metrics_counter("mmds", "rx_error_answers");
	return m;
}

void mmds_destroy(struct mmds *m)
{
	if (!m)
		return;
	json_decref(m->store);
	free(m);
}

void mmds_set_version(struct mmds *m, enum mmds_version v, bool imds_compat)
{
	m->version = v;
	m->imds_compat = imds_compat;
}

/* --- the store --- */

static int check_size(const struct mmds *m, const json_t *v, char *err,
		      size_t errlen)
{
	size_t n = json_dumpb(v, NULL, 0, JSON_COMPACT);

	if (n == 0) {
		snprintf(err, errlen, "The MMDS data store could not be encoded.");
		return -ENOMEM;
	}
	if (n > m->size_limit) {
		snprintf(err, errlen,
			 "The MMDS patch request doesn't fit: %zu bytes, the data store holds at most %zu.",
			 n, m->size_limit);
		return -E2BIG;
	}
	return 0;
}

int mmds_put(struct mmds *m, const json_t *value, char *err, size_t errlen)
{
	json_t *copy;
	int ret;

	if (!json_is_object(value)) {
		snprintf(err, errlen, "The MMDS data store is a JSON object.");
		return -EINVAL;
	}
	ret = check_size(m, value, err, errlen);
	if (ret)
		return ret;
	copy = json_deep_copy(value);
	if (!copy) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	json_decref(m->store);
	m->store = copy;
	return 0;
}

/* RFC 7396: returns the merged value (a new reference), NULL on ENOMEM. */
static json_t *merge_patch(json_t *target, const json_t *patch)
{
	const char *key;
	json_t *v, *out;

	if (!json_is_object(patch))
		return json_deep_copy(patch);
	out = json_is_object(target) ? json_incref(target) : json_object();
	if (!out)
		return NULL;
	json_object_foreach((json_t *)patch, key, v) {
		json_t *merged;

		if (json_is_null(v)) {
			json_object_del(out, key);
			continue;
		}
		merged = merge_patch(json_object_get(out, key), v);
		if (!merged || json_object_set_new(out, key, merged)) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

int mmds_patch(struct mmds *m, const json_t *patch, char *err, size_t errlen)
{
	json_t *work, *merged;
	int ret;

	if (!m->store) {
		snprintf(err, errlen, "The MMDS data store is not initialized.");
		return -EINVAL;
	}
	if (!json_is_object(patch)) {
		snprintf(err, errlen, "An MMDS patch is a JSON object.");
		return -EINVAL;
	}
	/* on a copy: a patch that does not fit leaves the store as it was */
	work = json_deep_copy(m->store);
	merged = work ? merge_patch(work, patch) : NULL;
	json_decref(work);
	if (!merged) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ret = check_size(m, merged, err, errlen);
	if (ret) {
		json_decref(merged);
		return ret;
	}
	json_decref(m->store);
	m->store = merged;
	return 0;
}

char *mmds_get_json(const struct mmds *m)
{
	if (!m->store)
		return strdup("{}");
	return json_dumps(m->store, JSON_COMPACT | JSON_ENCODE_ANY |
					    JSON_PRESERVE_ORDER);
}

/* --- tokens --- */

static void base64url(const uint8_t *in, size_t n, char *out)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	uint32_t acc = 0;
	int bits = 0;

	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			*out++ = tab[(acc >> bits) & 63];
		}
	}
	if (bits)
		*out++ = tab[(acc << (6 - bits)) & 63];
	*out = '\0';
}

/* A new token valid for @ttl_s seconds into *@text; it takes a free or
 * expired slot, else the one that expires first. 0 or -EIO. */
static int token_issue(struct mmds *m, uint32_t ttl_s, uint64_t now,
		       const char **text)
{
	struct mmds_token *slot = &m->tokens[0];
	uint8_t raw[TOKEN_BYTES];

	if (getrandom(raw, sizeof(raw), GRND_NONBLOCK) != sizeof(raw))
		return -EIO;
	for (int i = 0; i < MMDS_MAX_TOKENS; i++) {
		struct mmds_token *t = &m->tokens[i];

		if (!t->text[0] || t->expires_ns <= now) {
			slot = t;
			break;
		}
		if (t->expires_ns < slot->expires_ns)
			slot = t;
	}
	base64url(raw, sizeof(raw), slot->text);
	slot->expires_ns = now + (uint64_t)ttl_s * 1000000000ULL;
	*text = slot->text;
	metrics_inc(m->m.tokens_issued);
	return 0;
}

/* Compares all of a token's bytes whatever the first difference, so the
 * time taken does not tell the guest how much of a guess was right. */
static bool token_equal(const char *a, const char *b, size_t blen)
{
	unsigned char diff = blen != TOKEN_LEN;

	for (size_t i = 0; i < TOKEN_LEN; i++)
		diff |= (unsigned char)a[i] ^
			(unsigned char)(i < blen ? b[i] : 0);
	return !diff;
}

static bool token_valid(const struct mmds *m, const char *tok, size_t len,
			uint64_t now)
{
	bool ok = false;

	for (int i = 0; i < MMDS_MAX_TOKENS; i++) {
		const struct mmds_token *t = &m->tokens[i];

		if (t->text[0] && t->expires_ns > now &&
		    token_equal(t->text, tok, len))
			ok = true;
	}
	return ok;
}

/* --- the guest's requests --- */

static bool header(const struct http_request *req, const char *a,
		   const char *b, const char **v, size_t *len)
{
	return http_header(req, a, v, len) || (b && http_header(req, b, v, len));
}

static void reply_text(struct mmds_reply *r, int status, const char *msg)
{
	r->status = status;
	r->json = false;
	r->body = strdup(msg);
}

/* @path names @want, as lookup() reads paths: a run of '/' is one, a
 * trailing one does not count (so the token's path is the one a GET of
 * the same spelling would look up). */
static bool path_is(const char *path, const char *want)
{
	for (;;) {
		while (*path == '/' && path[1] == '/')
			path++;
		if (!*path || (path[0] == '/' && !path[1]))
			return !*want;
		if (*path++ != *want++)
			return false;
	}
}

/* The value at JSON pointer @path (RFC 6901: "/" separated, "~1" is "/",
 * "~0" is "~"); runs of "/" count as one and a trailing "/" is ignored, as
 * Firecracker does. NULL when there is none. */
static json_t *lookup(json_t *root, const char *path)
{
	char tok[HTTP_MAX_TARGET + 1];
	json_t *v = root;

	while (v && *path) {
		size_t n = 0;

		while (*path == '/')
			path++;
		if (!*path)
			break;
		while (*path && *path != '/') {
			char c = *path++;

			if (c == '~') {
				if (*path != '0' && *path != '1')
					return NULL;
				c = *path++ == '0' ? '~' : '/';
			}
			tok[n++] = c;
		}
		tok[n] = '\0';
		if (json_is_object(v)) {
			v = json_object_get(v, tok);
		} else if (json_is_array(v)) {
			char *end;
			unsigned long i;

			if (!n || (n > 1 && tok[0] == '0') || tok[0] < '0' ||
			    tok[0] > '9')
				return NULL;
			i = strtoul(tok, &end, 10);
			v = *end ? NULL : json_array_get(v, i);
		} else {
			return NULL;
		}
	}
	return v;
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* IMDS text: an object's keys sorted, one a line, objects with a "/"; a
 * string as it is. NULL for other types (or ENOMEM: *@oom). */
static char *imds_text(json_t *v, bool *oom)
{
	const char **keys;
	const char *key;
	json_t *child;
	size_t n = 0, len = 1, i;
	char *out, *p;

	*oom = false;
	if (json_is_string(v)) {
		out = strdup(json_string_value(v));
		*oom = !out;
		return out;
	}
	if (!json_is_object(v))
		return NULL;
	keys = calloc(json_object_size(v) + 1, sizeof(*keys));
	if (!keys) {
		*oom = true;
		return NULL;
	}
	json_object_foreach(v, key, child) {
		keys[n++] = key;
		len += strlen(key) + 2;
	}
	qsort(keys, n, sizeof(*keys), key_cmp);
	out = p = malloc(len);
	if (!out) {
		free(keys);
		*oom = true;
		return NULL;
	}
	for (i = 0; i < n; i++) {
		size_t kl = strlen(keys[i]);

		memcpy(p, keys[i], kl);
		p += kl;
		if (json_is_object(json_object_get(v, keys[i])))
			*p++ = '/';
		if (i + 1 < n)
			*p++ = '\n';
	}
	*p = '\0';
	free(keys);
	return out;
}

static bool wants_json(const struct mmds *m, const struct http_request *req)
{
	const char *v;
	size_t n;

	return !m->imds_compat && http_header(req, "Accept", &v, &n) &&
	       n == 16 && !strncasecmp(v, "application/json", 16);
}

static void answer_get(struct mmds *m, const struct http_request *req,
		       struct mmds_reply *r)
{
	json_t *v = m->store ? lookup(m->store, req->path) : NULL;
	char msg[HTTP_MAX_TARGET + 64];
	bool oom;

	if (!v) {
		snprintf(msg, sizeof(msg), "Resource not found: %s.", req->path);
		reply_text(r, 404, msg);
		return;
	}
	r->status = 200;
	if (wants_json(m, req)) {
		r->json = true;
		r->body = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY |
						JSON_PRESERVE_ORDER);
		oom = !r->body;
	} else {
		r->body = imds_text(v, &oom);
		if (!r->body && !oom)
			reply_text(r, 501, "Cannot retrieve value. The value has an unsupported type.");
	}
	if (oom)
		reply_text(r, 500, "out of memory");
}

static void answer_token(struct mmds *m, const struct http_request *req,
			 uint64_t now, struct mmds_reply *r)
{
	static const char ttl_name[] = "X-metadata-token-ttl-seconds";
	static const char aws_ttl_name[] =
		"X-aws-ec2-metadata-token-ttl-seconds";
	const char *v, *tok;
	char msg[160];
	size_t n;
	uint64_t ttl = 0;
	bool aws;

	/* a token asked for through a proxy would let a server the guest
	 * runs be turned against its own metadata (IMDSv2's rule) */
	if (http_header(req, "X-Forwarded-For", &v, &n)) {
		reply_text(r, 400, "Invalid header. Reason: Unsupported header name. Key: X-Forwarded-For");
		return;
	}
	if (!path_is(req->path, PATH_TO_TOKEN)) {
		snprintf(msg, sizeof(msg), "Resource not found: %.100s.",
			 req->path);
		reply_text(r, 404, msg);
		return;
	}
	aws = !http_header(req, ttl_name, &v, &n);
	if (aws && !http_header(req, aws_ttl_name, &v, &n)) {
		reply_text(r, 400, "Token time to live value not found. Use `X-metadata-token-ttl-seconds` header to specify the token's lifetime.");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9' || ttl > MMDS_TOKEN_TTL_MAX) {
			ttl = 0;
			break;
		}
		ttl = ttl * 10 + (uint64_t)(v[i] - '0');
	}
	if (ttl < 1 || ttl > MMDS_TOKEN_TTL_MAX) {
		snprintf(msg, sizeof(msg),
			 "Invalid time to live value provided for token: %.*s. Please provide a value between 1 and %d.",
			 (int)(n > 24 ? 24 : n), v, MMDS_TOKEN_TTL_MAX);
		reply_text(r, 400, msg);
		return;
	}
	if (token_issue(m, (uint32_t)ttl, now, &tok)) {
		reply_text(r, 500, "no random bytes for a token");
		return;
	}
	reply_text(r, 200, tok);
	snprintf(r->extra_header, sizeof(r->extra_header), "%s: %u\r\n",
		 aws ? aws_ttl_name : ttl_name, (unsigned)ttl);
}

void mmds_answer(struct mmds *m, const struct http_request *req,
		 uint64_t now_ns, struct mmds_reply *out)
{
	const char *tok;
	size_t n;
	bool has;

	memset(out, 0, sizeof(*out));
	metrics_inc(m->m.requests);
	if (!strcmp(req->method, "PUT")) {
		answer_token(m, req, now_ns, out);
	} else if (strcmp(req->method, "GET")) {
		reply_text(out, 405, "Not allowed HTTP method.");
		snprintf(out->extra_header, sizeof(out->extra_header),
			 "Allow: GET, PUT\r\n");
	} else {
		has = header(req, "X-metadata-token", "X-aws-ec2-metadata-token",
			     &tok, &n);
		if (!has)
			metrics_inc(m->m.no_token);
		else if (!token_valid(m, tok, n, now_ns))
			metrics_inc(m->m.invalid_token);
		/* V1 answers either way, as Firecracker (the counters tell
		 * whether a guest is ready for V2) */
		if (m->version == MMDS_V2 && !has)
			reply_text(out, 401, "No MMDS token provided. Use `X-metadata-token` header to specify the session token.");
		else if (m->version == MMDS_V2 && !token_valid(m, tok, n, now_ns))
			reply_text(out, 401, "MMDS token not valid.");
		else
			answer_get(m, req, out);
	}
	if (out->status >= 400)
		metrics_inc(m->m.errors);
}

void mmds_reply_free(struct mmds_reply *r)
{
	free(r->body);
	r->body = NULL;
}

char *mmds_reply_build(const struct mmds_reply *r, bool close, bool head_only,
		       size_t *len)
{
	size_t blen = r->body ? strlen(r->body) : 0;
	size_t sent = head_only ? 0 : blen;
	char head[320];
	int n;
	char *out;

	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 %d %s\r\nServer: figment MMDS\r\n"
		     "Content-Type: %s\r\nContent-Length: %zu\r\n%s%s\r\n",
		     r->status, http_reason(r->status),
		     r->json ? "application/json" : "text/plain", blen,
		     r->extra_header, close ? "Connection: close\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(head))
		return NULL;
	out = malloc((size_t)n + sent);
	if (!out)
		return NULL;
	memcpy(out, head, (size_t)n);
	if (sent)
		memcpy(out + n, r->body, sent);
	*len = (size_t)n + sent;
	return out;
}
