// SPDX-License-Identifier: Apache-2.0
#include "devices/virtio/mmio.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "arch/x86/acpi.h"
#include "arch/x86/aml.h"
#include "util/checked.h"
#include "util/log.h"
#include "util/metrics.h"

/* Shared-memory region registers (no regions: length reads as ~0). */
#define REG_SHM_SEL	  0x0ac
#define REG_SHM_LEN_LOW	  0x0b0
#define REG_SHM_LEN_HIGH  0x0b4
#define REG_SHM_BASE_LOW  0x0b8
#define REG_SHM_BASE_HIGH 0x0bc

#define TRANSPORT_FEATURES                                                     \
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

int virtio_mmio_init(struct virtio_mmio_dev *dev,
		     const struct virtio_mmio_ops *ops,
		     const struct guest_memory *mem, uint64_t features)
{
	int ret;

	if (ops->nr_queues > VIRTIO_MMIO_MAX_QUEUES ||
	    ops->queue_max_size > VIRTQ_MAX_SIZE ||
	    ops->config_size > VIRTIO_MMIO_WINDOW - VIRTIO_MMIO_CONFIG_OFFSET)
		return -EINVAL;
	memset(dev, 0, sizeof(*dev));
	ret = pthread_mutex_init(&dev->lock, NULL);
	if (ret)
		return -ret;
	dev->ops = ops;
	dev->mem = mem;
	dev->irq_fd = -1;
	dev->limit_timer_fd = -1;
	for (int i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++)
		dev->kick_fd[i] = -1;
	dev->device_features = features | TRANSPORT_FEATURES;
	for (int i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++)
		virtq_init(&dev->queues[i],
			   i < ops->nr_queues ? ops->queue_max_size : 0);
	return 0;
}

void virtio_mmio_uninit(struct virtio_mmio_dev *dev)
{
	pthread_mutex_destroy(&dev->lock);
}

void virtio_mmio_destroy(struct virtio_mmio_dev *dev)
{
	if (dev)
		dev->ops->destroy(dev);
}

static void guest_warn(struct virtio_mmio_dev *dev, const char *what)
{
	if (__atomic_add_fetch(&warnings, 1, __ATOMIC_RELAXED) <= WARN_BUDGET)
		log_guest(LOG_WARN, "virtio-%s: %s", dev->ops->name, what);
	else
		log_guest(LOG_DEBUG, "virtio-%s: %s", dev->ops->name, what);
}

static void raise_irq(struct virtio_mmio_dev *dev, uint32_t bits)
{
	uint64_t one = 1;

	dev->interrupt_status |= bits;
	dev->interrupts++;
	if (dev->irq_fd < 0)
		return;
	if (write(dev->irq_fd, &one, sizeof(one)) < 0) {
		/* Only fails when the counter would overflow: an interrupt is
		 * already pending. */
	}
}

void virtio_mmio_signal_used(struct virtio_mmio_dev *dev, struct virtq *q)
{
	if (virtq_should_notify(q))
		raise_irq(dev, VIRTIO_MMIO_INT_VRING);
}

void virtio_mmio_notify_later(struct virtio_mmio_dev *dev, unsigned int qidx)
{
	uint64_t one = 1;

	if (qidx >= VIRTIO_MMIO_MAX_QUEUES || dev->kick_fd[qidx] < 0)
		return;
	if (write(dev->kick_fd[qidx], &one, sizeof(one)) < 0) {
		/* Only fails when the counter would overflow: a notification
		 * is already pending. */
	}
}

void virtio_mmio_needs_reset(struct virtio_mmio_dev *dev, const char *why)
{
	if (dev->status & S_NEEDS_RESET)
		return;
	guest_warn(dev, why ? why : "device needs reset");
	dev->status |= S_NEEDS_RESET;
	raise_irq(dev, VIRTIO_MMIO_INT_CONFIG);
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
static bool limit_blocks(struct virtio_mmio_dev *dev, struct virtq *q,
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

void virtio_mmio_set_rate_limit(struct virtio_mmio_dev *dev,
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

void virtio_mmio_limit_expired(struct virtio_mmio_dev *dev)
{
	uint64_t n;

	if (read(dev->limit_timer_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&dev->lock);
	dev->limit_waiting = false;
	pthread_mutex_unlock(&dev->lock);
	for (unsigned int q = 0; q < dev->ops->nr_queues; q++)
		virtio_mmio_notify(dev, q);
}

void virtio_mmio_serve_queue(struct virtio_mmio_dev *dev, unsigned int qidx,
			     struct virtq_chain *c, virtio_serve_fn serve)
{
	struct virtq *q = virtio_mmio_queue(dev, qidx);
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
		virtio_mmio_signal_used(dev, q);
	/* Budget spent, not queue emptied: come back after the loop served
	 * the others (a limited queue comes back with its timer). */
	if (!limited && (chains == 0 || work >= VIRTIO_BATCH_BYTES) &&
	    virtq_has_avail(q))
		virtio_mmio_notify_later(dev, qidx);
}

void virtio_mmio_config_changed(struct virtio_mmio_dev *dev)
{
	dev->config_generation++;
	/* Only a driver that is up listens; a later probe reads fresh values. */
	if (dev->status & S_DRIVER_OK)
		raise_irq(dev, VIRTIO_MMIO_INT_CONFIG);
}

static void device_reset(struct virtio_mmio_dev *dev)
{
	dev->driver_features = 0;
	dev->device_features_sel = 0;
	dev->driver_features_sel = 0;
	dev->queue_sel = 0;
	dev->status = 0;
	dev->interrupt_status = 0;
	for (int i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++)
		virtq_reset(&dev->queues[i]);
	if (dev->ops->reset)
		dev->ops->reset(dev);
}

static bool features_acceptable(const struct virtio_mmio_dev *dev)
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
static void status_write(struct virtio_mmio_dev *dev, uint32_t v)
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
		return;
	}
	if ((cur == 0 && added == S_ACK) ||
	    (cur == S_ACK && added == S_DRIVER) ||
	    (cur == (S_ACK | S_DRIVER | S_FEATURES_OK) &&
	     added == S_DRIVER_OK)) {
		dev->status |= added;
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

static struct virtq *selected_queue(struct virtio_mmio_dev *dev)
{
	if (dev->queue_sel >= dev->ops->nr_queues)
		return NULL;
	return &dev->queues[dev->queue_sel];
}

/* Queue registers are set up between FEATURES_OK and DRIVER_OK, on a queue
 * that is not live yet. */
static struct virtq *writable_queue(struct virtio_mmio_dev *dev)
{
	struct virtq *q = selected_queue(dev);
	uint32_t s = dev->status;

	if (!q || q->ready || !(s & S_FEATURES_OK) ||
	    (s & (S_DRIVER_OK | S_FAILED | S_NEEDS_RESET)))
		return NULL;
	return q;
}

static void set_low(uint64_t *r, uint32_t v)
{
	*r = (*r & ~0xffffffffULL) | v;
}

static void set_high(uint64_t *r, uint32_t v)
{
	*r = (*r & 0xffffffffULL) | ((uint64_t)v << 32);
}

static void queue_ready_write(struct virtio_mmio_dev *dev, uint32_t v)
{
	struct virtq *q = selected_queue(dev);
	int ret;

	if (!q || (dev->status & (S_DRIVER_OK | S_FAILED)) ||
	    !(dev->status & S_FEATURES_OK)) {
		dev->ignored_accesses++;
		return;
	}
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
		virtio_mmio_needs_reset(
			dev, ret == -EFAULT
				     ? "queue rings outside guest RAM"
				     : "queue size or alignment invalid");
}

static void notify_locked(struct virtio_mmio_dev *dev, unsigned int qidx)
{
	struct virtq *q;

	if (qidx >= dev->ops->nr_queues) {
		dev->ignored_accesses++;
		return;
	}
	q = &dev->queues[qidx];
	if ((dev->status & (S_DRIVER_OK | S_NEEDS_RESET | S_FAILED)) !=
		    S_DRIVER_OK ||
	    !q->ready || q->broken)
		return;
	dev->ops->queue_notify(dev, qidx);
	if (q->broken)
		virtio_mmio_needs_reset(dev, q->why_broken);
}

void virtio_mmio_notify(struct virtio_mmio_dev *dev, unsigned int qidx)
{
	pthread_mutex_lock(&dev->lock);
	notify_locked(dev, qidx);
	pthread_mutex_unlock(&dev->lock);
}

/* Returns false for offsets that read as all-ones. */
static bool reg_read(struct virtio_mmio_dev *dev, uint64_t offset, uint32_t *v)
{
	struct virtq *q = selected_queue(dev);

	switch (offset) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		*v = VIRTIO_MMIO_MAGIC;
		break;
	case VIRTIO_MMIO_VERSION:
		*v = 2;
		break;
	case VIRTIO_MMIO_DEVICE_ID:
		*v = dev->ops->device_id;
		break;
	case VIRTIO_MMIO_VENDOR_ID:
		*v = VIRTIO_MMIO_VENDOR;
		break;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		if (dev->device_features_sel == 0)
			*v = (uint32_t)dev->device_features;
		else if (dev->device_features_sel == 1)
			*v = (uint32_t)(dev->device_features >> 32);
		else
			*v = 0;
		break;
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		*v = q ? q->max_size : 0;
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		*v = q ? q->ready : 0;
		break;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		*v = dev->interrupt_status;
		break;
	case VIRTIO_MMIO_STATUS:
		*v = dev->status;
		break;
	case VIRTIO_MMIO_CONFIG_GENERATION:
		*v = dev->config_generation;
		break;
	case REG_SHM_LEN_LOW:
	case REG_SHM_LEN_HIGH:
	case REG_SHM_BASE_LOW:
	case REG_SHM_BASE_HIGH:
		*v = 0xffffffff; /* no shared memory regions */
		break;
	default:
		/* write-only and reserved registers read as zero */
		*v = 0;
		break;
	}
	return true;
}

static void reg_write(struct virtio_mmio_dev *dev, uint64_t offset, uint32_t v)
{
	struct virtq *q;

	switch (offset) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		dev->device_features_sel = v;
		return;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		/* only while negotiating: after ACK|DRIVER, before FEATURES_OK
		 */
		if ((dev->status & (S_ACK | S_DRIVER | S_FEATURES_OK |
				    S_DRIVER_OK | S_FAILED)) !=
		    (S_ACK | S_DRIVER))
			break;
		if (dev->driver_features_sel == 0)
			set_low(&dev->driver_features, v);
		else if (dev->driver_features_sel == 1)
			set_high(&dev->driver_features, v);
		else
			break;
		return;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		dev->driver_features_sel = v;
		return;
	case VIRTIO_MMIO_QUEUE_SEL:
		dev->queue_sel = v;
		return;
	case VIRTIO_MMIO_QUEUE_NUM:
		q = writable_queue(dev);
		if (!q)
			break;
		/* an impossible size stays impossible (activation refuses 0) */
		q->size = v > VIRTQ_MAX_SIZE ? 0 : (uint16_t)v;
		return;
	case VIRTIO_MMIO_QUEUE_READY:
		queue_ready_write(dev, v);
		return;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		notify_locked(dev, v);
		return;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		dev->interrupt_status &= ~v;
		return;
	case VIRTIO_MMIO_STATUS:
		status_write(dev, v);
		return;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH: {
		uint64_t *r;

		q = writable_queue(dev);
		if (!q)
			break;
		if (offset < VIRTIO_MMIO_QUEUE_AVAIL_LOW)
			r = &q->desc_gpa;
		else if (offset < VIRTIO_MMIO_QUEUE_USED_LOW)
			r = &q->avail_gpa;
		else
			r = &q->used_gpa;
		if (offset & 4)
			set_high(r, v);
		else
			set_low(r, v);
		return;
	}
	default:
		break;
	}
	dev->ignored_accesses++;
}

void virtio_mmio_read(struct virtio_mmio_dev *dev, uint64_t offset,
		      uint8_t *data, uint32_t len)
{
	uint32_t v;

	pthread_mutex_lock(&dev->lock);
	if (offset >= VIRTIO_MMIO_CONFIG_OFFSET) {
		uint64_t off = offset - VIRTIO_MMIO_CONFIG_OFFSET;

		if (len <= 8 && !range_outside(off, len, dev->ops->config_size))
			dev->ops->config_read(dev, off, data, len);
		else
			dev->ignored_accesses++;
	} else if (len == 4 && offset % 4 == 0 && reg_read(dev, offset, &v)) {
		memcpy(data, &v, 4); /* x86 host: already little endian */
	} else {
		dev->ignored_accesses++;
	}
	pthread_mutex_unlock(&dev->lock);
}

void virtio_mmio_write(struct virtio_mmio_dev *dev, uint64_t offset,
		       const uint8_t *data, uint32_t len)
{
	uint32_t v;

	pthread_mutex_lock(&dev->lock);
	if (offset >= VIRTIO_MMIO_CONFIG_OFFSET) {
		uint64_t off = offset - VIRTIO_MMIO_CONFIG_OFFSET;

		if (dev->ops->config_write && len <= 8 &&
		    !range_outside(off, len, dev->ops->config_size))
			dev->ops->config_write(dev, off, data, len);
		else
			dev->ignored_accesses++;
	} else if (len == 4 && offset % 4 == 0) {
		memcpy(&v, data, 4);
		reg_write(dev, offset, v);
	} else {
		dev->ignored_accesses++;
	}
	pthread_mutex_unlock(&dev->lock);
}

static void bus_read_cb(void *dev, uint64_t offset, uint8_t *data, uint32_t len)
{
	virtio_mmio_read(dev, offset, data, len);
}

static void bus_write_cb(void *dev, uint64_t offset, const uint8_t *data,
			 uint32_t len)
{
	virtio_mmio_write(dev, offset, data, len);
}

const struct bus_ops virtio_mmio_bus_ops = {
	.read = bus_read_cb,
	.write = bus_write_cb,
};

/*
 * The device's DSDT node: how a kernel whose virtio_mmio takes no
 * command-line devices (Debian's cloud kernel) finds it. The interrupt is
 * declared edge-triggered, active high: the VMM injects it through an
 * irqfd, which KVM turns into a pulse (assert then deassert) on the IOAPIC
 * pin, and it never holds the line for the device's ISR status. A
 * level-triggered pin would work only by accident of that pulse (there is
 * no resample eventfd to re-assert an un-acked interrupt). Exclusive: each
 * device has its own GSI.
 */
void virtio_mmio_acpi_describe(const void *opaque, struct aml_buf *b)
{
	const struct virtio_mmio_dev *dev = opaque;
	uint8_t res_data[32];
	struct aml_buf res;
	char name[8];

	if (range_outside(dev->mmio_base, VIRTIO_MMIO_WINDOW, 1ULL << 32) ||
	    dev->gsi >= ACPI_IOAPIC_PINS) {
		b->invalid = true;
		return;
	}
	aml_init(&res, res_data, sizeof(res_data));
	aml_res_memory32_fixed(&res, true, (uint32_t)dev->mmio_base,
			       VIRTIO_MMIO_WINDOW);
	aml_res_interrupt(&res, AML_IRQ_CONSUMER | AML_IRQ_EDGE, dev->gsi);
	aml_res_end(&res);
	/* "V000".."VFFF": acpi_build() refuses more devices than that. */
	snprintf(name, sizeof(name), "V%03X", dev->index & 0xfff);
	aml_device_with_crs(b, name, "LNRO0005", false, dev->index, &res);
}
