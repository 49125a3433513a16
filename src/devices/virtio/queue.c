// SPDX-License-Identifier: Apache-2.0
#include "devices/virtio/queue.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

#include <linux/virtio_ring.h>

#include "util/checked.h"

/* Ring layouts (virtio 1.2, 2.7): sizes include the event-index fields,
 * which a 1.x driver always allocates. */
#define DESC_SIZE      16
#define AVAIL_BYTES(n) (6 + 2 * (uint64_t)(n))
#define USED_BYTES(n)  (6 + 8 * (uint64_t)(n))
#define AVAIL_FLAGS    0
#define AVAIL_IDX      2
#define AVAIL_RING     4
#define USED_IDX       2
#define USED_RING      4

/* One descriptor, copied out of guest memory: decoded fields only. */
struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

void virtq_init(struct virtq *q, uint16_t max_size)
{
	memset(q, 0, sizeof(*q));
	q->max_size = max_size > VIRTQ_MAX_SIZE ? VIRTQ_MAX_SIZE : max_size;
}

void virtq_reset(struct virtq *q)
{
	virtq_init(q, q->max_size);
}

/* The rings are 2- and 4-byte aligned in guest memory and host mappings are
 * page aligned, so these loads and stores are naturally aligned. The guest
 * writes the rings concurrently: each field is loaded exactly once. */
static uint16_t load16(const uint8_t *p)
{
	return le16toh(__atomic_load_n((const uint16_t *)p, __ATOMIC_ACQUIRE));
}

static void store16(uint8_t *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)p, htole16(v), __ATOMIC_RELEASE);
}

int virtq_activate(struct virtq *q, const struct guest_memory *mem,
		   uint64_t features)
{
	uint64_t n = q->size;

	q->ready = false;
	if (n == 0 || n > q->max_size || (n & (n - 1)))
		return -EINVAL;
	if (q->desc_gpa % VRING_DESC_ALIGN_SIZE ||
	    q->avail_gpa % VRING_AVAIL_ALIGN_SIZE ||
	    q->used_gpa % VRING_USED_ALIGN_SIZE)
		return -EINVAL;
	q->desc = guest_memory_ptr(mem, q->desc_gpa, DESC_SIZE * n);
	q->avail = guest_memory_ptr(mem, q->avail_gpa, AVAIL_BYTES(n));
	q->used = guest_memory_ptr(mem, q->used_gpa, USED_BYTES(n));
	if (!q->desc || !q->avail || !q->used) {
		q->desc = q->avail = q->used = NULL;
		return -EFAULT;
	}
	q->mem = mem;
	q->event_idx = features & (1ULL << VIRTIO_RING_F_EVENT_IDX);
	q->indirect = features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC);
	q->last_avail = 0;
	q->used_idx = 0;
	q->signalled_used = 0;
	q->signalled_valid = false;
	q->inflight = 0;
	q->broken = false;
	q->why_broken = NULL;
	q->ready = true;
	return 0;
}

int virtq_set_broken(struct virtq *q, const char *why)
{
	if (!q->broken) {
		q->broken = true;
		q->why_broken = why;
	}
	return -EIO;
}

static void desc_copy(struct desc *d, const uint8_t *p)
{
	struct vring_desc raw;

	/* One copy: everything below uses the host copy only. */
	memcpy(&raw, p, sizeof(raw));
	d->addr = le64toh(raw.addr);
	d->len = le32toh(raw.len);
	d->flags = le16toh(raw.flags);
	d->next = le16toh(raw.next);
}

static int chain_add(const struct virtq *q, struct virtq_chain *c,
		     const struct desc *d)
{
	bool write = d->flags & VRING_DESC_F_WRITE;
	struct virtq_seg *s;
	uint8_t *host;

	/* A zero-length buffer carries nothing and no driver we serve sends
	 * one; refusing it keeps every segment a real, checked range. */
	if (d->len == 0)
		return -EINVAL;
	if (c->nr_segs == VIRTQ_MAX_SIZE)
		return -E2BIG;
	if (!write && c->nr_segs > c->nr_read)
		return -EINVAL; /* readable after writable */
	host = guest_memory_ptr(q->mem, d->addr, d->len);
	if (!host)
		return -EFAULT;
	s = &c->segs[c->nr_segs++];
	s->gpa = d->addr;
	s->len = d->len;
	s->write = write;
	s->host = host;
	if (write) {
		/* The device may write it: a Diff snapshot must see that,
		 * which KVM's dirty log (guest writes only) does not. */
		guest_memory_mark_dirty(q->mem, d->addr, d->len);
		c->write_len += d->len;
	} else {
		c->nr_read++;
		c->read_len += d->len;
	}
	return 0;
}

/* An indirect table is the end of its chain (it cannot carry NEXT), so
 * walking it finishes the chain. */
static int walk_indirect(const struct virtq *q, struct virtq_chain *c,
			 const struct desc *ind)
{
	uint32_t n = ind->len / DESC_SIZE;
	const uint8_t *table;
	uint32_t budget = n;
	uint16_t idx = 0;
	struct desc d;
	int ret;

	if (!q->indirect)
		return -EINVAL;
	if (ind->flags & VRING_DESC_F_NEXT)
		return -EINVAL;
	if (ind->len == 0 || ind->len % DESC_SIZE || n > VIRTQ_MAX_SIZE)
		return -EINVAL;
	table = guest_memory_ptr(q->mem, ind->addr, ind->len);
	if (!table)
		return -EFAULT;
	for (;;) {
		/* n entries can be visited at most n times without a loop */
		if (budget-- == 0)
			return -ELOOP;
		desc_copy(&d, table + (uint64_t)idx * DESC_SIZE);
		if (d.flags & VRING_DESC_F_INDIRECT)
			return -EINVAL;
		ret = chain_add(q, c, &d);
		if (ret)
			return ret;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		if (d.next >= n)
			return -EINVAL;
		idx = d.next;
	}
}

static int walk_chain(const struct virtq *q, struct virtq_chain *c,
		      uint16_t head)
{
	uint32_t budget = q->size;
	uint16_t idx = head;
	struct desc d;
	int ret;

	c->head = head;
	c->nr_segs = 0;
	c->nr_read = 0;
	c->read_len = 0;
	c->write_len = 0;
	if (head >= q->size)
		return -EINVAL;
	for (;;) {
		/* A chain cannot be longer than the queue: more visits than
		 * descriptors means the guest built a loop. */
		if (budget-- == 0)
			return -ELOOP;
		desc_copy(&d, q->desc + (uint64_t)idx * DESC_SIZE);
		if (d.flags & VRING_DESC_F_INDIRECT)
			return walk_indirect(q, c, &d);
		ret = chain_add(q, c, &d);
		if (ret)
			return ret;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		if (d.next >= q->size)
			return -EINVAL;
		idx = d.next;
	}
}

/* Loads the driver's avail index into *@avail_idx; false when it offers
 * nothing new (with EVENT_IDX, after publishing avail_event). */
static bool avail_pending(struct virtq *q, uint16_t *avail_idx)
{
	*avail_idx = load16(q->avail + AVAIL_IDX);
	if (*avail_idx != q->last_avail)
		return true;
	if (!q->event_idx)
		return false;
	/* Ask for a kick at the next buffer, then look again: the driver may
	 * have added one before it saw avail_event. */
	store16(q->used + USED_RING + 8 * (uint64_t)q->size, q->last_avail);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	*avail_idx = load16(q->avail + AVAIL_IDX);
	return *avail_idx != q->last_avail;
}

bool virtq_has_avail(struct virtq *q)
{
	uint16_t avail_idx;

	if (!q->ready || q->broken)
		return false;
	return avail_pending(q, &avail_idx);
}

int virtq_pop(struct virtq *q, struct virtq_chain *c)
{
	uint16_t avail_idx, head;
	int ret;

	if (!q->ready)
		return 0;
	if (q->broken)
		return -EIO;
	if (!avail_pending(q, &avail_idx))
		return 0;
	if ((uint16_t)(avail_idx - q->last_avail) > q->size)
		return virtq_set_broken(q,
					"avail index ran ahead of the queue");
	head = load16(q->avail + AVAIL_RING +
		      2 * (uint64_t)(q->last_avail & (q->size - 1)));
	ret = walk_chain(q, c, head);
	if (ret) {
		switch (ret) {
		case -ELOOP:
			return virtq_set_broken(q, "descriptor loop");
		case -EFAULT:
			return virtq_set_broken(q, "buffer outside guest RAM");
		case -E2BIG:
			return virtq_set_broken(q, "descriptor chain too long");
		default:
			return virtq_set_broken(q,
						"malformed descriptor chain");
		}
	}
	q->last_avail++;
	q->inflight++;
	return 1;
}

void virtq_unpop(struct virtq *q)
{
	if (q->inflight == 0)
		return;
	q->last_avail--;
	q->inflight--;
}

int virtq_push(struct virtq *q, uint16_t head, uint32_t len)
{
	struct vring_used_elem e = {.id = htole32(head), .len = htole32(len)};
	uint8_t *slot;

	if (!q->ready || q->broken)
		return -EIO;
	if (q->inflight == 0)
		return -EINVAL;
	slot = q->used + USED_RING +
	       8 * (uint64_t)(q->used_idx & (q->size - 1));
	memcpy(slot, &e, sizeof(e));
	guest_memory_mark_dirty(q->mem, q->used_gpa, USED_BYTES(q->size));
	q->used_idx++;
	q->inflight--;
	/* Release: the element is visible before the index that covers it. */
	store16(q->used + USED_IDX, q->used_idx);
	return 0;
}

int virtq_push_n(struct virtq *q, const uint16_t *heads, const uint32_t *lens,
		 unsigned int n)
{
	if (!q->ready || q->broken)
		return -EIO;
	if (n > q->inflight)
		return -EINVAL;
	for (unsigned int i = 0; i < n; i++) {
		struct vring_used_elem e = { .id = htole32(heads[i]),
					     .len = htole32(lens[i]) };

		memcpy(q->used + USED_RING +
			       8 * (uint64_t)((uint16_t)(q->used_idx + i) &
					      (q->size - 1)),
		       &e, sizeof(e));
	}
	guest_memory_mark_dirty(q->mem, q->used_gpa, USED_BYTES(q->size));
	q->used_idx = (uint16_t)(q->used_idx + n);
	q->inflight -= n;
	/* Release: the elements are visible before the index that covers
	 * them. */
	store16(q->used + USED_IDX, q->used_idx);
	return 0;
}

bool virtq_should_notify(struct virtq *q)
{
	uint16_t old, used_event;
	bool valid;

	if (!q->ready)
		return false;
	/* Order our used index store before reading the driver's flags. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!q->event_idx)
		return !(load16(q->avail + AVAIL_FLAGS) &
			 VRING_AVAIL_F_NO_INTERRUPT);
	used_event = load16(q->avail + AVAIL_RING + 2 * (uint64_t)q->size);
	old = q->signalled_used;
	valid = q->signalled_valid;
	q->signalled_used = q->used_idx;
	q->signalled_valid = true;
	if (!valid)
		return true;
	return vring_need_event(used_event, q->used_idx, old);
}

/* Finds the segment holding byte @off of the readable (or writable) bytes;
 * returns its index in c->segs and the offset inside it, or -1. */
static int seg_find(const struct virtq_chain *c, bool write, uint64_t off,
		    uint64_t *inner)
{
	int first = write ? c->nr_read : 0;
	int end = write ? c->nr_segs : c->nr_read;

	for (int i = first; i < end; i++) {
		if (off < c->segs[i].len) {
			*inner = off;
			return i;
		}
		off -= c->segs[i].len;
	}
	return -1;
}

static uint64_t chain_copy(const struct virtq_chain *c, bool write,
			   uint64_t off, uint8_t *buf, uint64_t len)
{
	int end = write ? c->nr_segs : c->nr_read;
	uint64_t inner, done = 0;
	int i = seg_find(c, write, off, &inner);

	if (i < 0)
		return 0;
	for (; i < end && done < len; i++, inner = 0) {
		uint64_t n = c->segs[i].len - inner;

		if (n > len - done)
			n = len - done;
		if (write)
			memcpy(c->segs[i].host + inner, buf + done, n);
		else
			memcpy(buf + done, c->segs[i].host + inner, n);
		done += n;
	}
	return done;
}

uint64_t virtq_chain_read(const struct virtq_chain *c, uint64_t off, void *dst,
			  uint64_t len)
{
	return chain_copy(c, false, off, dst, len);
}

uint64_t virtq_chain_write(const struct virtq_chain *c, uint64_t off,
			   const void *src, uint64_t len)
{
	return chain_copy(c, true, off, (uint8_t *)src, len);
}

int virtq_chain_iov(const struct virtq_chain *c, bool write, uint64_t off,
		    uint64_t len, struct iovec *iov, int max)
{
	uint64_t total = write ? c->write_len : c->read_len;
	int end = write ? c->nr_segs : c->nr_read;
	uint64_t inner, done = 0;
	int i, n = 0;

	if (range_outside(off, len, total))
		return -EINVAL;
	if (len == 0)
		return 0;
	i = seg_find(c, write, off, &inner);
	if (i < 0)
		return -EINVAL;
	for (; i < end && done < len; i++, inner = 0) {
		uint64_t part = c->segs[i].len - inner;

		if (part > len - done)
			part = len - done;
		if (n == max)
			return -EINVAL;
		iov[n].iov_base = c->segs[i].host + inner;
		iov[n].iov_len = part;
		n++;
		done += part;
	}
	return n;
}
