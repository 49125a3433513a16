// SPDX-License-Identifier: Apache-2.0
#include "devices/virtio/virtio_dev.h"

#include <errno.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "util/log.h"
#include "util/metrics.h"

#define COMMON_FEATURES                                                        \
	((1ULL << VIRTIO_F_VERSION_1) |                                        \
	 (1ULL << VIRTIO_RING_F_INDIRECT_DESC) |                               \
	 (1ULL << VIRTIO_RING_F_EVENT_IDX))

/* The four steps of device initialisation (virtio 1.2, 3.1.1), in order. */
#define S_ACK	      VIRTIO_CONFIG_S_ACKNOWLEDGE
#define S_DRIVER      VIRTIO_CONFIG_S_DRIVER
#define S_FEATURES_OK VIRTIO_CONFIG_S_FEATURES_OK
#define S_DRIVER_OK   VIRTIO_CONFIG_S_DRIVER_OK
#define S_NEEDS_RESET VIRTIO_CONFIG_S_NEEDS_RESET
#define S_FAILED      VIRTIO_CONFIG_S_FAILED

/* After this many warnings a device logs guest misbehaviour at debug level
 * only, so a guest that loops through reset cannot flood the log. */
#define WARN_BUDGET 8

static unsigned int warnings;

int virtio_dev_init(struct virtio_dev *dev, const struct virtio_dev_ops *ops,
		    const struct guest_memory *mem, uint64_t features)
{
	int ret;

	if (ops->nr_queues > VIRTIO_MAX_QUEUES ||
	    ops->queue_max_size > VIRTQ_MAX_SIZE ||
	    ops->config_size > VIRTIO_MAX_CONFIG)
		return -EINVAL;
	memset(dev, 0, sizeof(*dev));
	ret = pthread_mutex_init(&dev->lock, NULL);
	if (ret)
		return -ret;
	dev->ops = ops;
	dev->mem = mem;
	dev->limit_timer_fd = -1;
	dev->device_features = features | COMMON_FEATURES;
	for (int i = 0; i < VIRTIO_MAX_QUEUES; i++)
		virtq_init(&dev->queues[i],
			   i < ops->nr_queues ? ops->queue_max_size : 0);
	return 0;
}

void virtio_dev_uninit(struct virtio_dev *dev)
{
	pthread_mutex_destroy(&dev->lock);
}

void virtio_dev_destroy(struct virtio_dev *dev)
{
	if (dev)
		dev->ops->destroy(dev);
}

void virtio_dev_set_host(struct virtio_dev *dev,
			 const struct virtio_host_ops *ops, void *host)
{
	pthread_mutex_lock(&dev->lock);
	dev->host_ops = ops;
	dev->host = host;
	pthread_mutex_unlock(&dev->lock);
}

static void guest_warn(struct virtio_dev *dev, const char *what)
{
	if (__atomic_add_fetch(&warnings, 1, __ATOMIC_RELAXED) <= WARN_BUDGET)
		log_guest(LOG_WARN, "virtio-%s: %s", dev->ops->name, what);
	else
		log_guest(LOG_DEBUG, "virtio-%s: %s", dev->ops->name, what);
}

static void raise_irq(struct virtio_dev *dev, uint32_t bits)
{
	dev->interrupt_status |= bits;
	dev->interrupts++;
	if (dev->host_ops && dev->host_ops->interrupt)
		dev->host_ops->interrupt(dev->host);
}

void virtio_dev_signal_used(struct virtio_dev *dev, struct virtq *q)
{
	if (virtq_should_notify(q))
		raise_irq(dev, VIRTIO_INT_USED);
}

void virtio_dev_notify_later(struct virtio_dev *dev, unsigned int qidx)
{
	if (qidx < dev->ops->nr_queues && dev->host_ops &&
	    dev->host_ops->kick_later)
		dev->host_ops->kick_later(dev->host, qidx);
}

void virtio_dev_needs_reset(struct virtio_dev *dev, const char *why)
{
	if (dev->status & S_NEEDS_RESET)
		return;
	guest_warn(dev, why ? why : "device needs reset");
	dev->status |= S_NEEDS_RESET;
	raise_irq(dev, VIRTIO_INT_CONFIG);
}

void virtio_dev_config_changed(struct virtio_dev *dev)
{
	dev->config_generation++;
	/* Only a driver that is up listens; a later probe reads fresh values. */
	if (dev->status & S_DRIVER_OK)
		raise_irq(dev, VIRTIO_INT_CONFIG);
}

bool virtio_dev_is_live(const struct virtio_dev *dev)
{
	return dev->active && dev->active_epoch == dev->reset_epoch &&
	       (dev->status & (S_DRIVER_OK | S_NEEDS_RESET | S_FAILED)) ==
		       S_DRIVER_OK;
}

int virtio_dev_watch(struct virtio_dev *dev, int fd, uint32_t events,
		     virtio_watch_fn fn)
{
	if (!dev->host_ops || !dev->host_ops->watch)
		return -ENOTSUP;
	return dev->host_ops->watch(dev->host, fd, events, fn);
}

static void serve_ready_queues(struct virtio_dev *dev)
{
	for (unsigned int q = 0; q < dev->ops->nr_queues; q++)
		virtio_dev_notify_locked(dev, q);
}

static void deactivate_locked(struct virtio_dev *dev)
{
	if (!dev->active)
		return;
	if (dev->ops->deactivate)
		dev->ops->deactivate(dev);
	if (dev->host_ops && dev->host_ops->unwatch_all)
		dev->host_ops->unwatch_all(dev->host);
	dev->active = false;
}

static void sync_locked(struct virtio_dev *dev)
{
	bool want = (dev->status & (S_DRIVER_OK | S_NEEDS_RESET | S_FAILED)) ==
		    S_DRIVER_OK;

	if (dev->active && (!want || dev->active_epoch != dev->reset_epoch))
		deactivate_locked(dev);
	if (!want || dev->active)
		return;
	if (dev->ops->activate) {
		int ret = dev->ops->activate(dev);

		if (ret) {
			/* what it watched before failing goes too */
			if (dev->host_ops && dev->host_ops->unwatch_all)
				dev->host_ops->unwatch_all(dev->host);
			log_warn("virtio-%s: cannot activate: %s",
				 dev->ops->name, strerror(-ret));
			virtio_dev_needs_reset(dev, "activation failed");
			return;
		}
	}
	dev->active = true;
	dev->active_epoch = dev->reset_epoch;
	/* kicks that came before activation waited: serve them now */
	serve_ready_queues(dev);
}

void virtio_dev_sync(struct virtio_dev *dev)
{
	pthread_mutex_lock(&dev->lock);
	sync_locked(dev);
	pthread_mutex_unlock(&dev->lock);
}

/* The status changed in a way activation cares about. */
static void request_sync(struct virtio_dev *dev)
{
	if (dev->host_ops && dev->host_ops->request_sync)
		dev->host_ops->request_sync(dev->host);
	else
		sync_locked(dev);
}

void virtio_dev_restored(struct virtio_dev *dev)
{
	dev->active = false;
	dev->reset_epoch++;
	if (dev->status & S_DRIVER_OK)
		request_sync(dev);
}

void virtio_dev_watch_ready(struct virtio_dev *dev, virtio_watch_fn fn,
			    int fd, uint32_t events)
{
	pthread_mutex_lock(&dev->lock);
	if (virtio_dev_is_live(dev))
		fn(dev, fd, events);
	pthread_mutex_unlock(&dev->lock);
}

static void device_reset(struct virtio_dev *dev)
{
	bool was_active = dev->active;

	dev->driver_features = 0;
	dev->status = 0;
	dev->interrupt_status = 0;
	dev->reset_epoch++;
	for (int i = 0; i < VIRTIO_MAX_QUEUES; i++)
		virtq_reset(&dev->queues[i]);
	if (dev->ops->reset)
		dev->ops->reset(dev);
	if (was_active)
		request_sync(dev);
}

static bool features_acceptable(const struct virtio_dev *dev)
{
	if (dev->driver_features & ~dev->device_features)
		return false;
	return dev->driver_features & (1ULL << VIRTIO_F_VERSION_1);
}

/*
 * Status only moves forward one step at a time (0 -> ACK -> DRIVER ->
 * FEATURES_OK -> DRIVER_OK), or to FAILED, or back to 0 (reset). Anything
 * else is ignored: the driver reads the status back and sees its write did
 * not take. NEEDS_RESET belongs to the device and is kept.
 */
void virtio_dev_write_status(struct virtio_dev *dev, uint32_t v)
{
	uint32_t cur = dev->status & ~S_NEEDS_RESET;
	uint32_t added;

	if (v == 0) {
		device_reset(dev);
		return;
	}
	v &= ~S_NEEDS_RESET;
	if (v == cur)
		return;
	added = v & ~cur;
	if ((v & cur) != cur || (v & ~0xffu) || (cur & S_FAILED))
		goto ignore;
	if (added == S_FAILED) {
		dev->status |= S_FAILED;
		if (dev->active)
			request_sync(dev);
		return;
	}
	if ((cur == 0 && added == S_ACK) || (cur == S_ACK && added == S_DRIVER)) {
		dev->status |= added;
		return;
	}
	if (cur == (S_ACK | S_DRIVER | S_FEATURES_OK) && added == S_DRIVER_OK) {
		dev->status |= added;
		if (!(dev->status & S_NEEDS_RESET))
			request_sync(dev);
		return;
	}
	if (cur == (S_ACK | S_DRIVER) && added == S_FEATURES_OK) {
		if (!features_acceptable(dev)) {
			guest_warn(dev, "driver accepted features not offered "
					"or without VERSION_1");
			return;
		}
		dev->status |= added;
		return;
	}
ignore:
	dev->ignored_accesses++;
}

bool virtio_dev_write_driver_features(struct virtio_dev *dev, uint32_t word,
				      uint32_t v)
{
	/* only while negotiating: after ACK|DRIVER, before FEATURES_OK */
	if ((dev->status &
	     (S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK | S_FAILED)) !=
		    (S_ACK | S_DRIVER) ||
	    word > 1)
		return false;
	if (word == 0)
		dev->driver_features =
			(dev->driver_features & ~0xffffffffULL) | v;
	else
		dev->driver_features = (dev->driver_features & 0xffffffffULL) |
				       ((uint64_t)v << 32);
	return true;
}

struct virtq *virtio_dev_setup_queue(struct virtio_dev *dev, unsigned int qidx)
{
	uint32_t s = dev->status;
	struct virtq *q;

	if (qidx >= dev->ops->nr_queues)
		return NULL;
	q = &dev->queues[qidx];
	if (q->ready || !(s & S_FEATURES_OK) ||
	    (s & (S_DRIVER_OK | S_FAILED | S_NEEDS_RESET)))
		return NULL;
	return q;
}

void virtio_dev_queue_ready(struct virtio_dev *dev, unsigned int qidx,
			    uint32_t v)
{
	struct virtq *q;
	int ret;

	if (qidx >= dev->ops->nr_queues ||
	    (dev->status & (S_DRIVER_OK | S_FAILED)) ||
	    !(dev->status & S_FEATURES_OK)) {
		dev->ignored_accesses++;
		return;
	}
	q = &dev->queues[qidx];
	if (v == 0) {
		q->ready = false;
		return;
	}
	if (v != 1 || q->ready || (dev->status & S_NEEDS_RESET)) {
		dev->ignored_accesses++;
		return;
	}
	ret = virtq_activate(q, dev->mem, dev->driver_features);
	if (ret)
		virtio_dev_needs_reset(dev, ret == -EFAULT
						    ? "queue rings outside guest RAM"
						    : "queue size or alignment invalid");
}

void virtio_dev_ack_interrupt(struct virtio_dev *dev, uint32_t v)
{
	dev->interrupt_status &= ~v;
}

void virtio_dev_notify_locked(struct virtio_dev *dev, unsigned int qidx)
{
	struct virtq *q;

	if (qidx >= dev->ops->nr_queues) {
		dev->ignored_accesses++;
		return;
	}
	q = &dev->queues[qidx];
	if (!virtio_dev_is_live(dev) || !q->ready || q->broken)
		return;
	dev->ops->queue_notify(dev, qidx);
	if (q->broken)
		virtio_dev_needs_reset(dev, q->why_broken);
}

void virtio_dev_notify(struct virtio_dev *dev, unsigned int qidx)
{
	pthread_mutex_lock(&dev->lock);
	virtio_dev_notify_locked(dev, qidx);
	pthread_mutex_unlock(&dev->lock);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* With a rate limit: takes the chain's bytes and one request from the
 * buckets, or gives the chain back and arms the timer for when they will
 * have them. True when the chain must wait. Never waits itself. */
static bool limit_blocks(struct virtio_dev *dev, struct virtq *q,
			 const struct virtq_chain *c)
{
	struct itimerspec its = { 0 };
	uint64_t ns;

	if (rate_limit_is_off(&dev->limit) || dev->limit_timer_fd < 0)
		return false;
	ns = rate_limit_take(&dev->limit, c->read_len + c->write_len, now_ns());
	if (!ns)
		return false;
	virtq_unpop(q);
	if (ns > 3600ULL * 1000000000ULL)
		ns = 3600ULL * 1000000000ULL; /* a limit set absurdly low */
	its.it_value.tv_sec = (time_t)(ns / 1000000000ULL);
	its.it_value.tv_nsec = (long)(ns % 1000000000ULL);
	if (timerfd_settime(dev->limit_timer_fd, 0, &its, NULL) == 0)
		dev->limit_waiting = true;
	metrics_inc(dev->m_throttled);
	return dev->limit_waiting;
}

void virtio_dev_set_rate_limit(struct virtio_dev *dev,
			       const struct rate_limiter_config *rl)
{
	uint64_t now = now_ns();

	pthread_mutex_lock(&dev->lock);
	token_bucket_init(&dev->limit.bw, rl->bandwidth.size,
			  rl->bandwidth.one_time_burst, rl->bandwidth.refill_ms,
			  now);
	token_bucket_init(&dev->limit.ops, rl->ops.size,
			  rl->ops.one_time_burst, rl->ops.refill_ms, now);
	pthread_mutex_unlock(&dev->lock);
	/* a request waiting on the old limit is looked at again now */
	if (dev->limit_waiting && dev->limit_timer_fd >= 0) {
		struct itimerspec its = { .it_value.tv_nsec = 1 };

		timerfd_settime(dev->limit_timer_fd, 0, &its, NULL);
	}
}

void virtio_dev_limit_expired(struct virtio_dev *dev)
{
	uint64_t n;

	if (read(dev->limit_timer_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&dev->lock);
	dev->limit_waiting = false;
	serve_ready_queues(dev);
	pthread_mutex_unlock(&dev->lock);
}

void virtio_serve_queue(struct virtio_dev *dev, unsigned int qidx,
			struct virtq_chain *c, virtio_serve_fn serve)
{
	struct virtq *q = virtio_dev_queue(dev, qidx);
	uint32_t chains = q->size;
	uint64_t work = 0;
	bool pushed = false;
	/* waiting for tokens: the limit timer brings the queue back */
	bool limited = dev->limit_waiting;

	while (!limited && chains > 0 && work < VIRTIO_BATCH_BYTES &&
	       virtq_pop(q, c) == 1) {
		uint32_t used;

		limited = limit_blocks(dev, q, c);
		if (limited)
			break;
		used = serve(dev, c, &work);
		chains--;
		if (virtq_push(q, c->head, used))
			break;
		pushed = true;
	}
	if (pushed)
		virtio_dev_signal_used(dev, q);
	/* Budget spent, not queue emptied: come back after the loop served
	 * the others (a limited queue comes back with its timer). */
	if (!limited && (chains == 0 || work >= VIRTIO_BATCH_BYTES) &&
	    virtq_has_avail(q))
		virtio_dev_notify_later(dev, qidx);
}
