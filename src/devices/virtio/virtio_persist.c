// SPDX-License-Identifier: Apache-2.0
/*
 * A virtio-mmio device's state in a snapshot: the transport's registers, the
 * device's status and features, every queue's sizes, ring addresses and
 * progress indices, then what the device itself saves (ops->save; blk and
 * rng have nothing of their own). The host views
 * of the rings are not saved: restoring re-validates the addresses against
 * guest RAM (virtq_activate()) exactly as when the driver set them, since a
 * snapshot file is as untrusted as a guest.
 */
#include <errno.h>

#include "devices/virtio/mmio.h"
#include "persist/snapshot_file.h"
#include "util/log.h"

static int virtio_save(void *opaque, struct snap_buf *b)
{
	struct virtio_mmio *t = opaque;
	struct virtio_dev *dev = t->dev;
	int ret = 0;

	pthread_mutex_lock(&dev->lock);
	snap_put_u32(b, dev->ops->device_id);
	snap_put_u64(b, dev->device_features);
	snap_put_u64(b, dev->driver_features);
	snap_put_u32(b, t->device_features_sel);
	snap_put_u32(b, t->driver_features_sel);
	snap_put_u32(b, t->queue_sel);
	snap_put_u32(b, dev->status);
	snap_put_u32(b, dev->interrupt_status);
	snap_put_u32(b, dev->config_generation);
	snap_put_u32(b, dev->ops->nr_queues);
	for (unsigned int i = 0; i < dev->ops->nr_queues; i++) {
		const struct virtq *q = &dev->queues[i];

		snap_put_u16(b, q->size);
		snap_put_u64(b, q->desc_gpa);
		snap_put_u64(b, q->avail_gpa);
		snap_put_u64(b, q->used_gpa);
		snap_put_u8(b, q->ready);
		snap_put_u8(b, q->broken);
		snap_put_u16(b, q->last_avail);
		snap_put_u16(b, q->used_idx);
		snap_put_u16(b, q->signalled_used);
		snap_put_u8(b, q->signalled_valid);
	}
	if (dev->ops->save)
		ret = dev->ops->save(dev, b);
	pthread_mutex_unlock(&dev->lock);
	if (ret)
		return ret;
	return b->err ? -ENOMEM : 0;
}

static int virtio_restore(void *opaque, struct snap_buf *b)
{
	struct virtio_mmio *t = opaque;
	struct virtio_dev *dev = t->dev;
	uint64_t offered = 0, now = dev->device_features;
	uint64_t narrow = dev->ops->narrowable_features;
	uint32_t nr = 0, device_id = 0;
	int ret = 0;

	pthread_mutex_lock(&dev->lock);
	snap_get_u32(b, &device_id);
	snap_get_u64(b, &offered);
	snap_get_u64(b, &dev->driver_features);
	snap_get_u32(b, &t->device_features_sel);
	snap_get_u32(b, &t->driver_features_sel);
	snap_get_u32(b, &t->queue_sel);
	snap_get_u32(b, &dev->status);
	snap_get_u32(b, &dev->interrupt_status);
	snap_get_u32(b, &dev->config_generation);
	snap_get_u32(b, &nr);
	/* The same device: it offers what it offered then, but for the
	 * features it may narrow, of which it offers those it offered then
	 * and can offer now; and the driver accepted no more than that. */
	if (b->err || device_id != dev->ops->device_id ||
	    (offered & ~narrow) != (now & ~narrow) ||
	    (dev->driver_features & ~offered) || nr != dev->ops->nr_queues ||
	    t->queue_sel >= VIRTIO_MAX_QUEUES) {
		ret = -EINVAL;
	} else if (dev->driver_features & ~now) {
		log_err("%s: the guest's driver took features (%#llx) this device cannot offer on its backend now",
			dev->ops->name,
			(unsigned long long)(dev->driver_features & ~now));
		ret = -EINVAL;
	} else {
		dev->device_features = offered & now;
	}
	for (unsigned int i = 0; i < nr && !ret; i++) {
		struct virtq *q = &dev->queues[i];
		uint8_t ready = 0, broken = 0, sig_valid = 0;
		uint16_t size = 0, last_avail = 0, used_idx = 0, sig_used = 0;

		virtq_reset(q);
		snap_get_u16(b, &size);
		snap_get_u64(b, &q->desc_gpa);
		snap_get_u64(b, &q->avail_gpa);
		snap_get_u64(b, &q->used_gpa);
		snap_get_u8(b, &ready);
		snap_get_u8(b, &broken);
		snap_get_u16(b, &last_avail);
		snap_get_u16(b, &used_idx);
		snap_get_u16(b, &sig_used);
		snap_get_u8(b, &sig_valid);
		q->size = size;
		if (b->err) {
			ret = -EINVAL;
			break;
		}
		if (!ready)
			continue;
		if (virtq_activate(q, dev->mem, dev->driver_features)) {
			ret = -EINVAL;
			break;
		}
		q->last_avail = last_avail;
		q->used_idx = used_idx;
		q->signalled_used = sig_used;
		q->signalled_valid = sig_valid;
		if (broken)
			virtq_set_broken(q, "broken before the snapshot");
	}
	if (!ret && dev->ops->restore)
		ret = dev->ops->restore(dev, b);
	if (!ret && !snap_get_done(b))
		ret = -EINVAL;
	if (ret) {
		/* Nothing half-restored: the device stays as after a reset. */
		dev->device_features = now;
		dev->driver_features = 0;
		dev->status = 0;
		dev->interrupt_status = 0;
		for (unsigned int i = 0; i < dev->ops->nr_queues; i++)
			virtq_reset(&dev->queues[i]);
	}
	virtio_dev_restored(dev);
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

static void virtio_destroy(void *opaque)
{
	struct virtio_mmio *t = opaque;

	if (t->release)
		t->release(t);
	else
		virtio_dev_destroy(t->dev);
}

const struct device_ops virtio_mmio_device_ops = {
	.kind = "virtio-mmio",
	.save = virtio_save,
	.restore = virtio_restore,
	.acpi_describe = virtio_mmio_acpi_describe,
	.destroy = virtio_destroy,
};

struct virtio_dev *virtio_mmio_device_of(const struct device *d)
{
	if (d->ops != &virtio_mmio_device_ops)
		return NULL;
	return ((struct virtio_mmio *)d->dev)->dev;
}
