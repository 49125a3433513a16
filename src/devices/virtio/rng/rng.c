// SPDX-License-Identifier: Apache-2.0
#include "devices/virtio/rng/rng.h"
#include "util/metrics.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

#include <linux/virtio_ids.h>

struct virtio_rng {
	struct virtio_dev vdev; /* first: the transport's view */
	struct virtq_chain chain;    /* scratch, used under vdev.lock */
	uint64_t *m_requests, *m_bytes; /* metrics "entropy" */
};

/* Fills [p, p + len) with random bytes; returns the bytes filled. */
static uint64_t rng_fill(uint8_t *p, uint64_t len)
{
	uint64_t done = 0;

	while (done < len) {
		ssize_t r = getrandom(p + done, len - done, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		done += (uint64_t)r;
	}
	return done;
}

static uint32_t rng_serve(const struct virtq_chain *c)
{
	uint64_t budget = VIRTIO_RNG_MAX_PER_CHAIN, done = 0;

	for (int i = c->nr_read; i < c->nr_segs && budget > 0; i++) {
		uint64_t n = c->segs[i].len < budget ? c->segs[i].len : budget;
		uint64_t got = rng_fill(c->segs[i].host, n);

		done += got;
		budget -= n;
		if (got < n)
			break;
	}
	return (uint32_t)done;
}

static uint32_t rng_serve_chain(struct virtio_dev *dev,
				const struct virtq_chain *c, uint64_t *work)
{
	struct virtio_rng *r = (struct virtio_rng *)dev;
	uint32_t n = rng_serve(c);

	metrics_inc(r->m_requests);
	metrics_add(r->m_bytes, n);
	*work += n;
	return n;
}

static void rng_queue_notify(struct virtio_dev *dev, unsigned int qidx)
{
	struct virtio_rng *r = (struct virtio_rng *)dev;

	virtio_serve_queue(dev, qidx, &r->chain, rng_serve_chain);
}

static void rng_config_read(struct virtio_dev *dev, uint32_t offset,
			    uint8_t *data, uint32_t len)
{
	/* no config space: config_size is 0, so this is never called */
	(void)dev;
	(void)offset;
	(void)data;
	(void)len;
}

static void rng_destroy(struct virtio_dev *dev)
{
	virtio_dev_uninit(dev);
	free(dev);
}

static const struct virtio_dev_ops rng_ops = {
	.name = "rng",
	.device_id = VIRTIO_ID_RNG,
	.nr_queues = 1,
	.queue_max_size = VIRTIO_RNG_QUEUE_SIZE,
	.config_size = 0,
	.config_read = rng_config_read,
	.queue_notify = rng_queue_notify,
	.destroy = rng_destroy,
};

int virtio_rng_create(const struct guest_memory *mem,
		      struct virtio_dev **out)
{
	struct virtio_rng *r = calloc(1, sizeof(*r));
	int ret;

	if (!r)
		return -ENOMEM;
	ret = virtio_dev_init(&r->vdev, &rng_ops, mem, 0);
	if (ret) {
		free(r);
		return ret;
	}
	r->m_requests = metrics_counter("entropy", "requests");
	r->m_bytes = metrics_counter("entropy", "bytes");
	*out = &r->vdev;
	return 0;
}
