// SPDX-License-Identifier: Apache-2.0
/* api_start/api_stop: the server, the routes and the bridge, on one thread. */
#include "api/api.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "api/bridge.h"
#include "api/routes.h"
#include "api/server.h"
#include "sandbox/sandbox.h"
#include "util/log.h"

struct api_server {
	struct server *server;
	struct routes *routes;
	struct bridge *bridge;
	pthread_t thread;
};

static void api_handle(void *ctx, const struct http_request *req,
		       struct http_response *resp)
{
	routes_handle(ctx, req, resp);
}

static void *api_thread(void *opaque)
{
	struct api_server *a = opaque;
	int ret;

	pthread_setname_np(pthread_self(), "fc_api"); /* Firecracker's name */
	ret = sandbox_enter(SECCOMP_THREAD_API, "api");
	if (ret) {
		log_err("cannot put the API thread under seccomp: %s",
			strerror(-ret));
		return NULL;
	}
	ret = server_run(a->server);
	if (ret)
		log_err("API server stopped: %d", ret);
	return NULL;
}

int api_start(struct api_server **out, const struct api_options *opts,
	      struct event_loop *vmm_loop, const struct api_vmm_ops *ops,
	      void *vmm)
{
	struct server_options so = {
		.path = opts->sock_path,
		.max_body = opts->max_body,
		.client_timeout_ms = opts->client_timeout_ms,
	};
	struct api_server *a;
	sigset_t all, old;
	int ret;

	if (!opts->sock_path || !ops || !vmm_loop)
		return -EINVAL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	ret = bridge_create(&a->bridge, vmm_loop, ops, vmm,
			    !opts->started ? VM_NOT_STARTED :
			    opts->started_paused ? VM_PAUSED : VM_RUNNING);
	if (ret)
		goto err;
	ret = routes_create(&a->routes, opts, a->bridge);
	if (ret)
		goto err;
	ret = server_open(&a->server, &so, api_handle, a->routes);
	if (ret)
		goto err;
	/* Signals are for the VMM and vCPU threads, not the API thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = -pthread_create(&a->thread, NULL, api_thread, a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret)
		goto err;
	*out = a;
	return 0;
err:
	server_close(a->server);
	routes_destroy(a->routes);
	bridge_destroy(a->bridge);
	free(a);
	return ret;
}

void api_stop(struct api_server *a)
{
	if (!a)
		return;
	/* Wake an API thread waiting on the VMM before joining it. */
	bridge_shutdown(a->bridge);
	server_stop(a->server);
	pthread_join(a->thread, NULL);
	server_close(a->server);
	routes_destroy(a->routes);
	bridge_destroy(a->bridge);
	free(a);
}

void api_notify_stopped(struct api_server *a)
{
	if (a)
		bridge_set_vm_state(a->bridge, VM_STOPPED);
}
