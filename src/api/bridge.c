// SPDX-License-Identifier: Apache-2.0
#include "api/bridge.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "config/config_json.h"
#include "util/event_loop.h"

struct bridge_req {
	enum bridge_op op;
	struct vm_config cfg;
	char *drive_id;
	char *path;
	char *mem_path;
	bool resume, track_dirty, diff, uffd;
	enum bridge_files files;
	int resource;
	char *body;
	char *out; /* GET_CONFIG's answer, until the waiter takes it */
	struct rate_limiter_config rate_limiter;
	bool has_rate_limiter;
	struct rate_limiter_config net_rx, net_tx;
	bool has_net_rx, has_net_tx;
	int result;
	char err[CONFIG_ERR_MAX];
	bool done;
	bool abandoned; /* the waiter timed out: the VMM side frees */
	struct bridge_req *next;
};

struct bridge {
	struct event_loop *loop;
	const struct api_vmm_ops *ops;
	void *vmm;
	int efd;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* on CLOCK_MONOTONIC */
	struct bridge_req *head, **tail;
	bool shutdown;
	int state; /* enum vm_state, atomic */
};

static void req_free(struct bridge_req *r)
{
	vm_config_free(&r->cfg);
	free(r->drive_id);
	free(r->path);
	free(r->mem_path);
	free(r->body);
	free(r->out);
	free(r);
}

enum vm_state bridge_vm_state(struct bridge *b)
{
	return __atomic_load_n(&b->state, __ATOMIC_ACQUIRE);
}

void bridge_set_vm_state(struct bridge *b, enum vm_state s)
{
	__atomic_store_n(&b->state, s, __ATOMIC_RELEASE);
}

/* VMM thread: BRIDGE_OPEN_FILES (snapshot load's drive overrides). */
static int open_files(struct bridge_req *r)
{
	struct vm_config *c = &r->cfg;
	int ret = 0;

	if (r->files != BRIDGE_FILES_OVERRIDES)
		return -EINVAL;
	for (int i = 0; i < c->nr_drives && !ret; i++) {
		int fd = drive_open_backing(c->drives[i].id,
					    c->drives[i].path_on_host, true,
					    NULL, r->err, sizeof(r->err));

		ret = fd < 0 ? fd : close(fd);
	}
	return ret;
}

/* VMM thread: runs one request's callback and updates the state. */
static int run_op(struct bridge *b, struct bridge_req *r)
{
	const struct api_vmm_ops *ops = b->ops;
	int ret = -EOPNOTSUPP;

	switch (r->op) {
	case BRIDGE_START:
		if (ops->instance_start)
			ret = ops->instance_start(b->vmm, r->err,
						  sizeof(r->err));
		/* A late answer to a timed-out start still settles the state. */
		bridge_set_vm_state(b, ret ? VM_NOT_STARTED : VM_RUNNING);
		break;
	case BRIDGE_PAUSE:
		if (ops->pause)
			ret = ops->pause(b->vmm, r->err, sizeof(r->err));
		if (!ret)
			bridge_set_vm_state(b, VM_PAUSED);
		break;
	case BRIDGE_RESUME:
		if (ops->resume)
			ret = ops->resume(b->vmm, r->err, sizeof(r->err));
		if (!ret)
			bridge_set_vm_state(b, VM_RUNNING);
		break;
	case BRIDGE_CTRL_ALT_DEL:
		if (ops->send_ctrl_alt_del)
			ret = ops->send_ctrl_alt_del(b->vmm, r->err,
						     sizeof(r->err));
		break;
	case BRIDGE_FLUSH_METRICS:
		ret = 0;
		if (ops->flush_metrics)
			ret = ops->flush_metrics(b->vmm, r->err, sizeof(r->err));
		break;
	case BRIDGE_DRIVE_UPDATE:
		if (ops->drive_update)
			ret = ops->drive_update(b->vmm, r->drive_id, r->path,
						r->has_rate_limiter ?
							&r->rate_limiter :
							NULL,
						r->err, sizeof(r->err));
		break;
	case BRIDGE_NET_UPDATE:
		if (ops->net_update)
			ret = ops->net_update(b->vmm, r->drive_id,
					      r->has_net_rx ? &r->net_rx : NULL,
					      r->has_net_tx ? &r->net_tx : NULL,
					      r->err, sizeof(r->err));
		break;
	case BRIDGE_SNAPSHOT_CREATE:
		if (ops->snapshot_create)
			ret = ops->snapshot_create(b->vmm, r->path, r->mem_path,
						   r->diff, r->err,
						   sizeof(r->err));
		break;
	case BRIDGE_OPEN_FILES:
		ret = open_files(r);
		break;
	case BRIDGE_CONFIGURE:
		if (ops->configure)
			ret = ops->configure(b->vmm, r->resource, r->drive_id,
					     r->body ? r->body : "", r->err,
					     sizeof(r->err));
		break;
	case BRIDGE_GET_CONFIG:
		if (ops->get_config)
			ret = ops->get_config(b->vmm, r->resource, &r->out,
					      r->err, sizeof(r->err));
		break;
	case BRIDGE_MMDS:
		if (ops->mmds)
			ret = ops->mmds(b->vmm, r->resource, r->body, &r->out,
					r->err, sizeof(r->err));
		break;
	case BRIDGE_MEMORY_REPORT:
		if (ops->memory_report)
			ret = ops->memory_report(b->vmm, &r->out, r->err,
						 sizeof(r->err));
		break;
	case BRIDGE_BALLOON:
		if (ops->balloon)
			ret = ops->balloon(b->vmm, r->resource, r->body, &r->out,
					   r->err, sizeof(r->err));
		break;
	case BRIDGE_SNAPSHOT_LOAD:
		if (ops->snapshot_load)
			ret = ops->snapshot_load(b->vmm, r->path, r->mem_path,
						 &(struct api_snapshot_load){
							 .resume = r->resume,
							 .track_dirty = r->track_dirty,
							 .uffd = r->uffd,
							 .overrides = &r->cfg,
						 },
						 r->err, sizeof(r->err));
		if (!ret)
			bridge_set_vm_state(b, r->resume ? VM_RUNNING : VM_PAUSED);
		else if (bridge_vm_state(b) == VM_STARTING)
			bridge_set_vm_state(b, VM_NOT_STARTED);
		break;
	}
	if (ret == -EOPNOTSUPP && !r->err[0])
		snprintf(r->err, sizeof(r->err),
			 "the VMM does not support this operation");
	return ret;
}

static void bridge_handler(void *opaque, uint32_t events)
{
	struct bridge *b = opaque;
	struct bridge_req *r;
	uint64_t n;

	(void)events;
	if (read(b->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	for (;;) {
		pthread_mutex_lock(&b->lock);
		r = b->head;
		if (r) {
			b->head = r->next;
			if (!b->head)
				b->tail = &b->head;
		}
		pthread_mutex_unlock(&b->lock);
		if (!r)
			return;
		/* The callback runs unlocked: it may take a while (boot). */
		r->result = run_op(b, r);
		pthread_mutex_lock(&b->lock);
		r->done = true;
		if (r->abandoned) {
			pthread_mutex_unlock(&b->lock);
			req_free(r);
			continue;
		}
		pthread_cond_broadcast(&b->cond);
		pthread_mutex_unlock(&b->lock);
	}
}

int bridge_create(struct bridge **out, struct event_loop *vmm_loop,
		  const struct api_vmm_ops *ops, void *vmm,
		  enum vm_state initial)
{
	struct bridge *b = calloc(1, sizeof(*b));
	pthread_condattr_t attr;
	int ret;

	if (!b)
		return -ENOMEM;
	b->loop = vmm_loop;
	b->ops = ops;
	b->vmm = vmm;
	b->state = initial;
	b->tail = &b->head;
	pthread_mutex_init(&b->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&b->cond, &attr);
	pthread_condattr_destroy(&attr);
	b->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (b->efd < 0) {
		ret = -errno;
		goto err;
	}
	ret = event_loop_add(vmm_loop, b->efd, EPOLLIN, bridge_handler, b);
	if (ret)
		goto err_fd;
	*out = b;
	return 0;
err_fd:
	close(b->efd);
err:
	pthread_cond_destroy(&b->cond);
	pthread_mutex_destroy(&b->lock);
	free(b);
	return ret;
}

void bridge_shutdown(struct bridge *b)
{
	pthread_mutex_lock(&b->lock);
	b->shutdown = true;
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

void bridge_destroy(struct bridge *b)
{
	struct bridge_req *r;

	if (!b)
		return;
	event_loop_del(b->loop, b->efd);
	bridge_shutdown(b);
	/* Only abandoned requests can remain: their waiters are gone. */
	while ((r = b->head)) {
		b->head = r->next;
		req_free(r);
	}
	close(b->efd);
	pthread_cond_destroy(&b->cond);
	pthread_mutex_destroy(&b->lock);
	free(b);
}

static struct timespec deadline_after(unsigned ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	return ts;
}

int bridge_call(struct bridge *b, const struct bridge_msg *m,
		unsigned timeout_ms, char *err, size_t errlen)
{
	struct bridge_req *r = calloc(1, sizeof(*r));
	struct timespec deadline = deadline_after(timeout_ms);
	uint64_t one = 1;
	int ret = 0;

	if (!r)
		goto nomem;
	r->op = m->op;
	r->resume = m->resume;
	r->track_dirty = m->track_dirty;
	r->diff = m->diff;
	r->uffd = m->uffd;
	r->files = m->files;
	r->resource = m->resource;
	if (m->rate_limiter) {
		r->rate_limiter = *m->rate_limiter;
		r->has_rate_limiter = true;
	}
	if (m->net_rx) {
		r->net_rx = *m->net_rx;
		r->has_net_rx = true;
	}
	if (m->net_tx) {
		r->net_tx = *m->net_tx;
		r->has_net_tx = true;
	}
	if (m->cfg && vm_config_copy(&r->cfg, m->cfg))
		goto nomem;
	if ((m->drive_id && !(r->drive_id = strdup(m->drive_id))) ||
	    (m->path && !(r->path = strdup(m->path))) ||
	    (m->mem_path && !(r->mem_path = strdup(m->mem_path))) ||
	    (m->body && !(r->body = strdup(m->body))))
		goto nomem;

	pthread_mutex_lock(&b->lock);
	if (b->shutdown) {
		pthread_mutex_unlock(&b->lock);
		req_free(r);
		snprintf(err, errlen, "the VMM is shutting down");
		return -ESHUTDOWN;
	}
	*b->tail = r;
	b->tail = &r->next;
	if (write(b->efd, &one, sizeof(one)) < 0) {
		/* Only fails when the counter would overflow: already woken. */
	}
	while (!r->done && !b->shutdown && ret != ETIMEDOUT)
		ret = pthread_cond_timedwait(&b->cond, &b->lock, &deadline);
	if (!r->done) {
		/* Still queued or running: whoever holds it last frees it. */
		r->abandoned = true;
		pthread_mutex_unlock(&b->lock);
		if (b->shutdown) {
			snprintf(err, errlen, "the VMM is shutting down");
			return -ESHUTDOWN;
		}
		snprintf(err, errlen,
			 "the VMM thread did not answer within %u ms",
			 timeout_ms);
		return -ETIMEDOUT;
	}
	pthread_mutex_unlock(&b->lock);
	ret = r->result;
	if (ret)
		snprintf(err, errlen, "%s",
			 r->err[0] ? r->err : strerror(-ret));
	else if (m->out) {
		*m->out = r->out;
		r->out = NULL;
	}
	req_free(r);
	return ret;
nomem:
	if (r)
		req_free(r);
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}
