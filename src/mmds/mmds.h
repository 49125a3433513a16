/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The microVM metadata service (Firecracker's MMDS) of one VM: a JSON data
 * store the host sets through the API (PUT, PATCH, GET /mmds), and the
 * answers to the guest's HTTP requests for it, which mmds_tcp.c carries.
 *
 * V1 answers every GET; V2 first wants a session token (PUT
 * /latest/api/token with X-metadata-token-ttl-seconds 1..21600, no
 * X-Forwarded-For), then X-metadata-token on each GET (the X-aws-ec2-
 * names are taken too). Answers are JSON with "Accept: application/json",
 * else IMDS text (an object's keys one per line, objects with a "/", a
 * string as it is; other types 501); imds_compat always gives IMDS text.
 *
 * Only the VMM thread calls these (the API's calls arrive there through
 * the bridge, the guest's through the net device), so there is no lock.
 * The store is not saved in snapshots (as Firecracker: a clone is
 * reseeded); tokens die with the process.
 */
#ifndef FIGMENT_MMDS_MMDS_H
#define FIGMENT_MMDS_MMDS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/http.h"
#include "config/vm_config.h"

#define MMDS_DEFAULT_SIZE_LIMIT 51200 /* Firecracker's: the API's body limit */
#define MMDS_MAX_SIZE_LIMIT (64u << 20)
#define MMDS_MAX_TOKENS 64	      /* live V2 tokens; the oldest goes first */
#define MMDS_TOKEN_TTL_MAX 21600      /* seconds */

struct mmds;

/* A store of at most @size_limit bytes of compact JSON (0: the default).
 * NULL when out of memory. */
struct mmds *mmds_create(size_t size_limit);
void mmds_destroy(struct mmds *m);

/* The version and answer format the guest gets (PUT /mmds/config). */
void mmds_set_version(struct mmds *m, enum mmds_version v, bool imds_compat);

/* PUT /mmds: @value (a JSON object; borrowed) replaces the store. PATCH
 * /mmds: @patch (an object) merged in as RFC 7396 says (a null removes a
 * key); refused before the first PUT. 0, or -EINVAL / -E2BIG / -ENOMEM with Firecracker's
 * message in @err; the store is unchanged on failure. */
int mmds_put(struct mmds *m, const json_t *value, char *err, size_t errlen);
int mmds_patch(struct mmds *m, const json_t *patch, char *err, size_t errlen);
/* GET /mmds: the store as compact JSON, "{}" before the first PUT;
 * malloc'd, NULL when out of memory. */
char *mmds_get_json(const struct mmds *m);

/* What the guest gets for one request. */
struct mmds_reply {
	int status;
	bool json;  /* Content-Type application/json, else text/plain */
	char *body; /* malloc'd, NUL-terminated; NULL: none */
	/* a header to echo (the token's TTL), "" for none */
	char extra_header[96];
};

/* Answers the guest's request @req at time @now_ns (CLOCK_MONOTONIC). */
void mmds_answer(struct mmds *m, const struct http_request *req,
		 uint64_t now_ns, struct mmds_reply *out);
void mmds_reply_free(struct mmds_reply *r);

/* The reply as HTTP/1.1 bytes (malloc'd, *@len bytes; "Connection: close"
 * when @close; its head alone, Content-Length kept, when @head_only: the
 * answer to a HEAD). NULL when out of memory. */
char *mmds_reply_build(const struct mmds_reply *r, bool close, bool head_only,
		       size_t *len);

#endif
