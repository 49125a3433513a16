/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The split virtqueue (virtio 1.x, section 2.7): the only code in figment
 * that walks descriptors. Everything in the rings is written by the guest
 * and is untrusted: each descriptor is copied once into host memory and
 * validated there, every walk is bounded, and a malformed queue is marked
 * broken (the transport then asks the driver for a reset) instead of
 * crashing, asserting or spinning.
 *
 * A struct virtq is owned by its transport, which serialises every call
 * (the device mutex in mmio.c); the functions here take no lock.
 */
#ifndef FIGMENT_DEVICES_VIRTIO_QUEUE_H
#define FIGMENT_DEVICES_VIRTIO_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vstate/memory.h"

/* Largest queue any figment device offers, and the most segments one chain
 * may have (direct or through an indirect table). */
#define VIRTQ_MAX_SIZE 256

/* One guest buffer of a chain, checked to lie wholly inside guest RAM. */
struct virtq_seg {
	uint64_t gpa;
	uint32_t len;  /* > 0 */
	bool write;    /* device-writable */
	uint8_t *host; /* host mapping of [gpa, gpa + len) */
};

/*
 * A popped chain. Device-readable segments come first (segs[0, nr_read)),
 * device-writable ones after (segs[nr_read, nr_segs)): the walk refuses
 * any other order (virtio 1.2, 2.7.4.2).
 */
struct virtq_chain {
	uint16_t head;
	uint16_t nr_segs;
	uint16_t nr_read;
	uint64_t read_len;  /* bytes over the readable segments */
	uint64_t write_len; /* bytes over the writable segments */
	struct virtq_seg segs[VIRTQ_MAX_SIZE];
};

struct virtq {
	/* Written by the transport while the queue is not ready. */
	uint16_t max_size; /* QueueNumMax, <= VIRTQ_MAX_SIZE */
	uint16_t size;	   /* QueueNum */
	uint64_t desc_gpa;
	uint64_t avail_gpa;
	uint64_t used_gpa;

	/* Set by virtq_activate(). */
	bool ready;
	bool broken;
	bool event_idx;
	bool indirect;
	const struct guest_memory *mem;
	uint8_t *desc; /* host view of the rings, checked at activation */
	uint8_t *avail;
	uint8_t *used;

	/* Device-side progress. */
	uint16_t last_avail;	 /* next avail ring slot to consume */
	uint16_t used_idx;	 /* next used ring slot to fill */
	uint16_t signalled_used; /* used_idx at the last notify decision */
	bool signalled_valid;
	uint32_t inflight;	/* popped, not yet pushed */
	const char *why_broken; /* static string, for the log */
};

/* Clears @q to the reset state with @max_size (<= VIRTQ_MAX_SIZE). */
void virtq_init(struct virtq *q, uint16_t max_size);

/* Back to the reset state, keeping max_size (device or queue reset). */
void virtq_reset(struct virtq *q);

/*
 * Validates size (power of two, 1..max_size), ring alignment (16/2/4) and
 * that each ring lies wholly inside one RAM region of @mem, then marks the
 * queue ready. @features are the negotiated ones (VIRTIO_RING_F_INDIRECT_DESC,
 * VIRTIO_RING_F_EVENT_IDX are looked at). @mem must outlive the queue.
 * Returns 0, -EINVAL (size, alignment) or -EFAULT (outside RAM); the queue
 * is left not ready on error.
 */
int virtq_activate(struct virtq *q, const struct guest_memory *mem,
		   uint64_t features);

/*
 * Takes the next available chain into @c (host memory, caller-owned).
 * Returns 1 with @c filled, 0 when nothing is available (or the queue is
 * not ready), or a negative errno when the guest broke the queue: the queue
 * is then marked broken and every later pop fails with -EIO until reset.
 * With EVENT_IDX, an empty queue publishes avail_event so the driver kicks
 * on its next buffer.
 */
int virtq_pop(struct virtq *q, struct virtq_chain *c);

/*
 * True when the driver has made a chain available that virtq_pop() would
 * take (or refuse as malformed). When there is none, with EVENT_IDX it
 * publishes avail_event first, exactly like an empty virtq_pop(), so the
 * driver kicks on its next buffer. False when not ready or broken.
 */
bool virtq_has_avail(struct virtq *q);

/* Gives back the chain virtq_pop() just returned, untouched: the next pop
 * returns it again (a rate-limited device waits for tokens). */
void virtq_unpop(struct virtq *q);

/*
 * Returns chain @head to the driver with @len bytes written into it.
 * 0, or -EIO when the queue is not ready/broken, -EINVAL when nothing is in
 * flight (a device bug, not a guest one).
 */
int virtq_push(struct virtq *q, uint16_t head, uint32_t len);

/*
 * Returns @n chains at once (@heads[i] with @lens[i] bytes written), made
 * visible to the driver by one used-index update: a packet spread over
 * several buffers (virtio-net's mergeable RX) appears whole or not at all.
 * 0, or as virtq_push().
 */
int virtq_push_n(struct virtq *q, const uint16_t *heads, const uint32_t *lens,
		 unsigned int n);

/*
 * After one or more pushes: true when the driver wants a used-buffer
 * interrupt (VRING_AVAIL_F_NO_INTERRUPT, or used_event with EVENT_IDX).
 */
bool virtq_should_notify(struct virtq *q);

/* Marks @q broken with @why (a static string); returns -EIO. */
int virtq_set_broken(struct virtq *q, const char *why);

/*
 * Copies up to @len bytes of the chain's readable bytes, starting @off bytes
 * into them, to @dst. Returns the number of bytes copied.
 */
uint64_t virtq_chain_read(const struct virtq_chain *c, uint64_t off, void *dst,
			  uint64_t len);

/* Copies @len bytes from @src into the writable bytes starting at @off.
 * Returns the number of bytes copied (short when the chain is shorter). */
uint64_t virtq_chain_write(const struct virtq_chain *c, uint64_t off,
			   const void *src, uint64_t len);

/*
 * Describes [@off, @off + @len) of the readable (@write false) or writable
 * bytes of @c as at most @max iovecs into guest memory. Returns the number
 * of iovecs, or -EINVAL when the range is not wholly inside those bytes or
 * needs more than @max entries.
 */
int virtq_chain_iov(const struct virtq_chain *c, bool write, uint64_t off,
		    uint64_t len, struct iovec *iov, int max);

#endif
