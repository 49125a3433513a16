/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The virtio-mmio transport, version 2 (virtio 1.2, section 4.2.2): the
 * register file a guest sees in one 4 KiB window, the device status and
 * feature negotiation state machine, and the queues.
 *
 * A device embeds a struct virtio_mmio_dev and supplies a small ops table.
 * Register accesses arrive on vCPU threads (through the bus) and queue
 * notifications on the VMM thread (ioeventfd); both take dev->lock, and
 * the ops callbacks are always called with it held. With the synchronous
 * block engine this means a vCPU touching this device's registers waits
 * for the request in progress; other devices are unaffected.
 */
#ifndef FIGMENT_DEVICES_VIRTIO_MMIO_H
#define FIGMENT_DEVICES_VIRTIO_MMIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <linux/virtio_mmio.h>

#include "bus/bus.h"
#include "devices/device.h"
#include "config/vm_config.h"
#include "devices/virtio/queue.h"
#include "util/token_bucket.h"
#include "vstate/memory.h"

#define VIRTIO_MMIO_MAX_QUEUES	  8
#define VIRTIO_MMIO_MAGIC	  0x74726976 /* "virt" */
#define VIRTIO_MMIO_VENDOR	  0x544d4746 /* "FGMT" */
#define VIRTIO_MMIO_CONFIG_OFFSET 0x100
#define VIRTIO_MMIO_WINDOW	  0x1000

/* InterruptStatus bits: VIRTIO_MMIO_INT_VRING (used buffer) and
 * VIRTIO_MMIO_INT_CONFIG (configuration change, or NEEDS_RESET). */

struct virtio_mmio_dev;

struct virtio_mmio_ops {
	const char *name;	 /* for the log */
	uint32_t device_id;	 /* VIRTIO_ID_* */
	uint16_t nr_queues;	 /* <= VIRTIO_MMIO_MAX_QUEUES */
	uint16_t queue_max_size; /* power of two, <= VIRTQ_MAX_SIZE */
	uint32_t config_size;	 /* bytes of config space, <= 0xf00 */
	/* Copies config bytes [@offset, @offset + @len), already
	 * bounds-checked. */
	void (*config_read)(struct virtio_mmio_dev *dev, uint32_t offset,
			    uint8_t *data, uint32_t len);
	/* Optional; NULL: config space is read-only. */
	void (*config_write)(struct virtio_mmio_dev *dev, uint32_t offset,
			     const uint8_t *data, uint32_t len);
	/* The driver kicked queue @qidx (ready, DRIVER_OK). Pops, serves and
	 * pushes chains, then calls virtio_mmio_signal_used(). */
	void (*queue_notify)(struct virtio_mmio_dev *dev, unsigned int qidx);
	/* Optional: device-specific state back to power-on (status 0). */
	void (*reset)(struct virtio_mmio_dev *dev);
	/* Frees the containing device (virtio_mmio_destroy()). */
	void (*destroy)(struct virtio_mmio_dev *dev);
};

/* A virtio-mmio device's entry in the device list (virtio_persist.c): the
 * transport's and the queues' state; the device's own kind is checked
 * through its device id, saved with it. */
extern const struct device_ops virtio_mmio_device_ops;

/* The device list's acpi_describe: an LNRO0005 node for the window at
 * dev->mmio_base with interrupt dev->gsi (a window that is empty, does not
 * end below 4 GiB, or a GSI past the IOAPIC's pins marks @b invalid). */
void virtio_mmio_acpi_describe(const void *dev, struct aml_buf *b);

struct virtio_mmio_dev {
	pthread_mutex_t lock;
	const struct virtio_mmio_ops *ops;
	const struct guest_memory *mem;
	int irq_fd; /* eventfd wired to the guest IRQ (vm_irqfd), or -1 */
	/* Where virtio_devices.c placed the transport, for its DSDT node:
	 * the MMIO window's guest-physical base, its GSI, and its index
	 * among the virtio devices (the node's name and _UID). */
	uint64_t mmio_base;
	uint32_t gsi;
	uint32_t index;
	/* Each queue's notification eventfd (the ioeventfd the event loop
	 * watches), or -1: virtio_mmio_notify_later() writes to it. */
	int kick_fd[VIRTIO_MMIO_MAX_QUEUES];

	uint64_t device_features; /* device bits plus transport bits */
	uint64_t driver_features;
	uint32_t device_features_sel;
	uint32_t driver_features_sel;
	uint32_t queue_sel;
	uint32_t status;
	uint32_t interrupt_status;
	uint32_t config_generation;
	struct virtq queues[VIRTIO_MMIO_MAX_QUEUES];

	/* I/O rate limit (bytes and requests, Firecracker's token buckets);
	 * while a request waits for tokens, the timerfd (on the event loop,
	 * set up by virtio_devices.c) brings the queue back */
	struct rate_limit limit;
	int limit_timer_fd; /* -1: none */
	bool limit_waiting;
	uint64_t *m_throttled; /* metric: requests that had to wait */

	/* counters, for debugging a misbehaving guest */
	uint64_t ignored_accesses;
	uint64_t interrupts;
};

/*
 * Sets @dev up for @ops over @mem (which must outlive it). @features are
 * the device-specific bits; the transport adds VIRTIO_F_VERSION_1,
 * VIRTIO_RING_F_INDIRECT_DESC and VIRTIO_RING_F_EVENT_IDX. irq_fd and
 * kick_fd[] start at -1 (no interrupt, no notifier wired). Returns 0 or a
 * negative errno.
 */
int virtio_mmio_init(struct virtio_mmio_dev *dev,
		     const struct virtio_mmio_ops *ops,
		     const struct guest_memory *mem, uint64_t features);

/* Releases what virtio_mmio_init() took (not the irq fd). */
void virtio_mmio_uninit(struct virtio_mmio_dev *dev);

/* Destroys the device through ops->destroy (frees the container). */
void virtio_mmio_destroy(struct virtio_mmio_dev *dev);

/* Bus callbacks: register the device with
 * bus_register(bus, base, VIRTIO_MMIO_WINDOW, &virtio_mmio_bus_ops, dev, ..).
 */
extern const struct bus_ops virtio_mmio_bus_ops;

/* The same accesses, callable directly (tests, fuzzers). @offset within
 * the window; @len 1, 2, 4 or 8; reads leave @data untouched (all-ones from
 * the bus) for anything they do not answer. */
void virtio_mmio_read(struct virtio_mmio_dev *dev, uint64_t offset,
		      uint8_t *data, uint32_t len);
void virtio_mmio_write(struct virtio_mmio_dev *dev, uint64_t offset,
		       const uint8_t *data, uint32_t len);

/*
 * The guest notified queue @qidx: from the VMM thread's ioeventfd handler
 * (or a QueueNotify write that reached the bus). Ignored unless the device
 * is DRIVER_OK and the queue ready. Takes dev->lock.
 */
void virtio_mmio_notify(struct virtio_mmio_dev *dev, unsigned int qidx);

/* For device code (dev->lock held): queue @qidx. */
static inline struct virtq *virtio_mmio_queue(struct virtio_mmio_dev *dev,
					      unsigned int qidx)
{
	return &dev->queues[qidx];
}

/* For device code (dev->lock held), after pushing on @q: raises the
 * used-buffer interrupt if the driver wants one. */
void virtio_mmio_signal_used(struct virtio_mmio_dev *dev, struct virtq *q);

/*
 * For device code (dev->lock held): asks to be notified again on queue
 * @qidx once the event loop has served everything else (a write to
 * kick_fd[@qidx]; nothing when there is none). virtio_mmio_serve_queue()
 * uses it when a batch's budget runs out with chains still waiting.
 */
void virtio_mmio_notify_later(struct virtio_mmio_dev *dev, unsigned int qidx);

/*
 * What one notification may do, so that a guest cannot keep the VMM thread
 * from its signals, its API requests and the other devices: at most a
 * queue's worth of chains, and at most VIRTIO_BATCH_BYTES of data moved
 * (one request may still be as large as its device allows: the budget is
 * checked between requests).
 */
#define VIRTIO_BATCH_BYTES (8ULL << 20)

/*
 * Serves one chain popped from a queue: does the work, returns the number
 * of bytes written into the chain's device-writable buffers (the used
 * length) and adds the bytes of data it moved (read or written, on the host
 * side too) to *@work.
 */
typedef uint32_t (*virtio_serve_fn)(struct virtio_mmio_dev *dev,
				    const struct virtq_chain *c,
				    uint64_t *work);

/*
 * For device code, from queue_notify (dev->lock held): the one loop that
 * serves a queue. Pops chains into @c (the device's scratch chain) and hands
 * each to @serve, pushes it back with the used length, and stops when the
 * queue is empty or broken, or when the batch budget (above) is spent; then
 * raises the used interrupt if anything was pushed and the driver wants one,
 * and when chains are still waiting asks to be called again
 * (virtio_mmio_notify_later()).
 */
void virtio_mmio_serve_queue(struct virtio_mmio_dev *dev, unsigned int qidx,
			     struct virtq_chain *c, virtio_serve_fn serve);

/* Sets (or, all zero, lifts) @dev's rate limit; buckets start full. Any
 * thread (takes the device lock). */
void virtio_mmio_set_rate_limit(struct virtio_mmio_dev *dev,
				const struct rate_limiter_config *rl);

/* VMM thread: the limit timer fired; serves the queues again. */
void virtio_mmio_limit_expired(struct virtio_mmio_dev *dev);

/* For device code (dev->lock held): the config space changed; bumps
 * ConfigGeneration and raises a configuration interrupt. */
void virtio_mmio_config_changed(struct virtio_mmio_dev *dev);

/* For device code (dev->lock held): sets DEVICE_NEEDS_RESET and raises a
 * configuration interrupt (once). */
void virtio_mmio_needs_reset(struct virtio_mmio_dev *dev, const char *why);

#endif
