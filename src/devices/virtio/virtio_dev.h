/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A virtio device, independent of the transport that shows it to the guest
 * (virtio 1.2, sections 2 and 3): the device status and its state machine,
 * feature negotiation, the queues, interrupt status, config generation,
 * the rate limit, and activation.
 *
 * A device (blk/, rng/, ...) embeds a struct virtio_dev first and supplies
 * a struct virtio_dev_ops. A transport (mmio.c) decodes the guest's
 * register accesses into the calls below; the device's environment
 * (virtio_devices.c: interrupts, deferred kicks, the VMM thread's event
 * loop) is a struct virtio_host_ops. So a device knows neither its
 * transport nor the event loop.
 *
 * Activation: when the driver sets DRIVER_OK the device is activated, and
 * when the driver resets it (or it needs a reset) it is deactivated, both
 * on the VMM thread (virtio_dev_sync()), since that is where a device may
 * watch its own host file descriptors (a TAP, a socket, a timer) with
 * virtio_dev_watch(). Everything a device watched is unwatched when it
 * deactivates. Until activation has run, notifications wait; it serves
 * every ready queue once, so a kick that came first is not lost.
 *
 * Locking: register accesses arrive on vCPU threads, notifications and
 * watched fds on the VMM thread; all take dev->lock, and every op is called
 * with it held.
 */
#ifndef FIGMENT_DEVICES_VIRTIO_VIRTIO_DEV_H
#define FIGMENT_DEVICES_VIRTIO_VIRTIO_DEV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "config/vm_config.h"
#include "devices/virtio/queue.h"
#include "util/token_bucket.h"
#include "vstate/memory.h"

#define VIRTIO_MAX_QUEUES     8
#define VIRTIO_MAX_CONFIG     0xf00 /* what an MMIO window has room for */
#define VIRTIO_MAX_WATCHED_FDS 4

/* interrupt_status bits (the MMIO transport's InterruptStatus register) */
#define VIRTIO_INT_USED	  1u /* used buffer notification */
#define VIRTIO_INT_CONFIG 2u /* configuration change, or NEEDS_RESET */

struct snap_buf;
struct virtio_dev;

struct virtio_dev_ops {
	const char *name;	 /* for the log */
	uint32_t device_id;	 /* VIRTIO_ID_* */
	uint16_t nr_queues;	 /* <= VIRTIO_MAX_QUEUES */
	uint16_t queue_max_size; /* power of two, <= VIRTQ_MAX_SIZE */
	uint32_t config_size;	 /* bytes of config space, <= VIRTIO_MAX_CONFIG */
	/* Features whose offer may differ between a snapshot and the device
	 * restoring it (its host side changed: a user-mode interface restored
	 * onto a TAP, which takes offloads, or the other way): it restores
	 * offering those of them it offered then and can offer now, and
	 * refuses a state in which the driver took one it cannot. */
	uint64_t narrowable_features;
	/* Copies config bytes [@offset, @offset + @len), already
	 * bounds-checked. */
	void (*config_read)(struct virtio_dev *dev, uint32_t offset,
			    uint8_t *data, uint32_t len);
	/* Optional; NULL: config space is read-only. */
	void (*config_write)(struct virtio_dev *dev, uint32_t offset,
			     const uint8_t *data, uint32_t len);
	/* Optional, VMM thread: the driver is up (DRIVER_OK, features and
	 * queues final); the device starts its host side, e.g. watches its
	 * fds. A negative errno sets NEEDS_RESET. */
	int (*activate)(struct virtio_dev *dev);
	/* Optional, VMM thread: undoes activate (its watched fds are
	 * unwatched after it returns). */
	void (*deactivate)(struct virtio_dev *dev);
	/* The driver kicked queue @qidx (ready, device active). Serves it,
	 * usually with virtio_serve_queue(). */
	void (*queue_notify)(struct virtio_dev *dev, unsigned int qidx);
	/* Optional: device-specific state back to power-on (status 0). Runs
	 * on the thread that wrote the status, a vCPU's, whose seccomp filter
	 * allows no I/O: memory only; what needs a system call (a timer
	 * disarmed) belongs in deactivate. */
	void (*reset)(struct virtio_dev *dev);
	/* Optional: the device's own state in a snapshot, after the common
	 * part (virtio_persist.c); restore checks it as guest-controlled. */
	int (*save)(struct virtio_dev *dev, struct snap_buf *b);
	int (*restore)(struct virtio_dev *dev, struct snap_buf *b);
	/* Frees the containing device (virtio_dev_destroy()). */
	void (*destroy)(struct virtio_dev *dev);
};

/* A watched fd is ready: called on the VMM thread with dev->lock held,
 * only while the device is active. */
typedef void (*virtio_watch_fn)(struct virtio_dev *dev, int fd,
				uint32_t events);

/* What the device's environment provides. Any of them may be NULL (unit
 * tests, fuzzers): interrupts then only set interrupt_status, and
 * activation runs at once, on the thread that set DRIVER_OK. */
struct virtio_host_ops {
	/* Raise the device's interrupt (interrupt_status already set). */
	void (*interrupt)(void *host);
	/* Notify queue @qidx again once the event loop served the rest. */
	void (*kick_later)(void *host, unsigned int qidx);
	/* Call virtio_dev_sync() on the VMM thread soon. */
	void (*request_sync)(void *host);
	/* Watch @fd for @events on the VMM thread's loop; 0 or -errno. */
	int (*watch)(void *host, int fd, uint32_t events, virtio_watch_fn fn);
	/* Stop watching everything watch() added. */
	void (*unwatch_all)(void *host);
};

struct virtio_dev {
	pthread_mutex_t lock;
	const struct virtio_dev_ops *ops;
	const struct guest_memory *mem;
	const struct virtio_host_ops *host_ops;
	void *host;

	uint64_t device_features; /* device bits plus the common ones */
	uint64_t driver_features;
	uint32_t status;
	uint32_t interrupt_status;
	uint32_t config_generation;
	bool active; /* activate ran (and deactivate not since) */
	/* bumped by every reset: an activation from before a reset is
	 * undone even when the driver is back at DRIVER_OK before the VMM
	 * thread looked (virtio_dev_sync()) */
	uint32_t reset_epoch, active_epoch;
	struct virtq queues[VIRTIO_MAX_QUEUES];

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
 * the device-specific bits; VIRTIO_F_VERSION_1, VIRTIO_RING_F_INDIRECT_DESC
 * and VIRTIO_RING_F_EVENT_IDX are added. No host until
 * virtio_dev_set_host(). Returns 0 or a negative errno.
 */
int virtio_dev_init(struct virtio_dev *dev, const struct virtio_dev_ops *ops,
		    const struct guest_memory *mem, uint64_t features);

/* Releases what virtio_dev_init() took. */
void virtio_dev_uninit(struct virtio_dev *dev);

/* Destroys the device through ops->destroy (frees the container). */
void virtio_dev_destroy(struct virtio_dev *dev);

/* Wires the device to its environment, before the guest runs. */
void virtio_dev_set_host(struct virtio_dev *dev,
			 const struct virtio_host_ops *ops, void *host);

/* --- for transports (dev->lock held) --- */

/* A write of the device status: moves the state machine one step, resets
 * on 0, asks for activation on DRIVER_OK. */
void virtio_dev_write_status(struct virtio_dev *dev, uint32_t status);

/* The driver's features, 32 bits at a time (@word 0 or 1); ignored
 * outside negotiation (between DRIVER and FEATURES_OK). */
bool virtio_dev_write_driver_features(struct virtio_dev *dev,
				      uint32_t word, uint32_t v);

/* Queue @qidx, when its registers may be written now (between FEATURES_OK
 * and DRIVER_OK, not ready yet); NULL otherwise. */
struct virtq *virtio_dev_setup_queue(struct virtio_dev *dev,
				     unsigned int qidx);

/* The driver wrote QueueReady = @v for queue @qidx. */
void virtio_dev_queue_ready(struct virtio_dev *dev, unsigned int qidx,
			    uint32_t v);

/* The driver acknowledged interrupt bits @v. */
void virtio_dev_ack_interrupt(struct virtio_dev *dev, uint32_t v);

/* The guest notified queue @qidx (dev->lock held). */
void virtio_dev_notify_locked(struct virtio_dev *dev, unsigned int qidx);

/* --- for the environment --- */

/* VMM thread: the guest notified queue @qidx (ioeventfd). Takes the
 * lock. Ignored unless the device is active and the queue ready. */
void virtio_dev_notify(struct virtio_dev *dev, unsigned int qidx);

/* VMM thread: activates or deactivates the device to match its status
 * (see above). Takes the lock. */
void virtio_dev_sync(struct virtio_dev *dev);

/* After a snapshot restore put status and queues back (lock held): the
 * device is activated to match, as after the driver's DRIVER_OK. */
void virtio_dev_restored(struct virtio_dev *dev);

/* VMM thread: a watched fd is ready; calls @fn under the lock if the
 * device is still active. */
void virtio_dev_watch_ready(struct virtio_dev *dev, virtio_watch_fn fn,
			    int fd, uint32_t events);

/* Sets (or, all zero, lifts) @dev's rate limit; buckets start full. Any
 * thread (takes the device lock). */
void virtio_dev_set_rate_limit(struct virtio_dev *dev,
			       const struct rate_limiter_config *rl);

/* VMM thread: the limit timer fired; serves the queues again. */
void virtio_dev_limit_expired(struct virtio_dev *dev);

/* --- for device code (dev->lock held) --- */

static inline struct virtq *virtio_dev_queue(struct virtio_dev *dev,
					     unsigned int qidx)
{
	return &dev->queues[qidx];
}

/* Live: the driver is up, the device active and not broken. Device code
 * serving host events (a packet arrived) checks this first. */
bool virtio_dev_is_live(const struct virtio_dev *dev);

/* From activate: watch @fd (see virtio_host_ops.watch). */
int virtio_dev_watch(struct virtio_dev *dev, int fd, uint32_t events,
		     virtio_watch_fn fn);

/* After pushing on @q: raises the used-buffer interrupt if the driver
 * wants one. */
void virtio_dev_signal_used(struct virtio_dev *dev, struct virtq *q);

/* Asks to be notified again on queue @qidx once the event loop has served
 * everything else. virtio_serve_queue() uses it when a batch's budget runs
 * out with chains still waiting. */
void virtio_dev_notify_later(struct virtio_dev *dev, unsigned int qidx);

/* The config space changed; bumps the config generation and raises a
 * configuration interrupt. */
void virtio_dev_config_changed(struct virtio_dev *dev);

/* Sets DEVICE_NEEDS_RESET and raises a configuration interrupt (once). */
void virtio_dev_needs_reset(struct virtio_dev *dev, const char *why);

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
typedef uint32_t (*virtio_serve_fn)(struct virtio_dev *dev,
				    const struct virtq_chain *c,
				    uint64_t *work);

/*
 * From queue_notify: the one loop that serves a queue. Pops chains into @c
 * (the device's scratch chain) and hands each to @serve, pushes it back
 * with the used length, and stops when the queue is empty or broken, or
 * when the batch budget (above) is spent; then raises the used interrupt
 * if anything was pushed and the driver wants one, and when chains are
 * still waiting asks to be called again (virtio_dev_notify_later()).
 */
void virtio_serve_queue(struct virtio_dev *dev, unsigned int qidx,
			struct virtq_chain *c, virtio_serve_fn serve);

#endif
