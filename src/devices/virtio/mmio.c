// SPDX-License-Identifier: Apache-2.0
#include "devices/virtio/mmio.h"

#include <stdio.h>
#include <string.h>

#include <linux/virtio_mmio.h>

#include "arch/x86/acpi.h"
#include "arch/x86/aml.h"
#include "util/checked.h"

/* Shared-memory region registers (no regions: length reads as ~0). */
#define REG_SHM_SEL	  0x0ac
#define REG_SHM_LEN_LOW	  0x0b0
#define REG_SHM_LEN_HIGH  0x0b4
#define REG_SHM_BASE_LOW  0x0b8
#define REG_SHM_BASE_HIGH 0x0bc

void virtio_mmio_init(struct virtio_mmio *t, struct virtio_dev *dev)
{
	memset(t, 0, sizeof(*t));
	t->dev = dev;
}

static struct virtq *selected_queue(struct virtio_mmio *t)
{
	if (t->queue_sel >= t->dev->ops->nr_queues)
		return NULL;
	return &t->dev->queues[t->queue_sel];
}

static void set_low(uint64_t *r, uint32_t v)
{
	*r = (*r & ~0xffffffffULL) | v;
}

static void set_high(uint64_t *r, uint32_t v)
{
	*r = (*r & 0xffffffffULL) | ((uint64_t)v << 32);
}

/* Returns false for offsets that read as all-ones. */
static bool reg_read(struct virtio_mmio *t, uint64_t offset, uint32_t *v)
{
	struct virtio_dev *dev = t->dev;
	struct virtq *q = selected_queue(t);

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
		if (t->device_features_sel == 0)
			*v = (uint32_t)dev->device_features;
		else if (t->device_features_sel == 1)
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

static void reg_write(struct virtio_mmio *t, uint64_t offset, uint32_t v)
{
	struct virtio_dev *dev = t->dev;
	struct virtq *q;

	switch (offset) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		t->device_features_sel = v;
		return;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if (virtio_dev_write_driver_features(dev, t->driver_features_sel,
						     v))
			return;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		t->driver_features_sel = v;
		return;
	case VIRTIO_MMIO_QUEUE_SEL:
		t->queue_sel = v;
		return;
	case VIRTIO_MMIO_QUEUE_NUM:
		q = virtio_dev_setup_queue(dev, t->queue_sel);
		if (!q)
			break;
		/* an impossible size stays impossible (activation refuses 0) */
		q->size = v > VIRTQ_MAX_SIZE ? 0 : (uint16_t)v;
		return;
	case VIRTIO_MMIO_QUEUE_READY:
		virtio_dev_queue_ready(dev, t->queue_sel, v);
		return;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		virtio_dev_notify_locked(dev, v);
		return;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		virtio_dev_ack_interrupt(dev, v);
		return;
	case VIRTIO_MMIO_STATUS:
		/* a reset puts the transport's selectors back too */
		if (v == 0) {
			t->device_features_sel = 0;
			t->driver_features_sel = 0;
			t->queue_sel = 0;
		}
		virtio_dev_write_status(dev, v);
		return;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH: {
		uint64_t *r;

		q = virtio_dev_setup_queue(dev, t->queue_sel);
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

void virtio_mmio_read(struct virtio_mmio *t, uint64_t offset, uint8_t *data,
		      uint32_t len)
{
	struct virtio_dev *dev = t->dev;
	uint32_t v;

	pthread_mutex_lock(&dev->lock);
	if (offset >= VIRTIO_MMIO_CONFIG_OFFSET) {
		uint64_t off = offset - VIRTIO_MMIO_CONFIG_OFFSET;

		if (len <= 8 && !range_outside(off, len, dev->ops->config_size))
			dev->ops->config_read(dev, off, data, len);
		else
			dev->ignored_accesses++;
	} else if (len == 4 && offset % 4 == 0 && reg_read(t, offset, &v)) {
		memcpy(data, &v, 4); /* x86 host: already little endian */
	} else {
		dev->ignored_accesses++;
	}
	pthread_mutex_unlock(&dev->lock);
}

void virtio_mmio_write(struct virtio_mmio *t, uint64_t offset,
		       const uint8_t *data, uint32_t len)
{
	struct virtio_dev *dev = t->dev;
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
		reg_write(t, offset, v);
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
	const struct virtio_mmio *dev = opaque;
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
