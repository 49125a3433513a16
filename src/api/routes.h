/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The API's endpoints (api/firecracker.yaml): match a request to a handler,
 * decode and validate its body, keep the pre-boot configuration, and post
 * what needs the VM to the VMM thread. Runs on the API thread only.
 */
#ifndef FIGMENT_API_ROUTES_H
#define FIGMENT_API_ROUTES_H

#include "api/api.h"
#include "api/bridge.h"
#include "api/http.h"

#ifndef FIGMENT_VERSION
#define FIGMENT_VERSION "0.1.0"
#endif

struct routes;

/* @opts as given to api_start(); @b is used, not owned. 0 or -ENOMEM. */
int routes_create(struct routes **out, const struct api_options *opts,
		  struct bridge *b);
void routes_destroy(struct routes *r);

/* Answers one request: fills @resp (the caller frees resp->body). */
void routes_handle(struct routes *r, const struct http_request *req,
		   struct http_response *resp);

/* A {"fault_message": ...} body (malloc'd; NULL on ENOMEM). */
char *routes_fault_body(const char *msg);

#endif
