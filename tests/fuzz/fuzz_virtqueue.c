// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer harness for the split virtqueue. Input: a 12-byte header
 * (queue size exponent, flags, ring addresses, a push length) then the
 * contents of a 64 KiB guest RAM holding the rings. Pops and pushes until
 * the queue is empty or broken, checking that every segment handed out
 * lies inside guest RAM.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio/queue.h"

#define RAM 0x10000

struct hdr {
	uint8_t size_log;
	uint8_t flags;
	uint16_t desc;
	uint16_t avail;
	uint16_t used;
	uint16_t push_len;
	uint16_t guest_adds; /* avail index bumps the "guest" makes meanwhile */
} __attribute__((packed));

#define F_INDIRECT 1
#define F_EVENT_IDX 2
#define F_HOLD 4     /* leave every other chain in flight */
#define F_HIGH_DESC 8 /* put the table at the top of the address space */

static void check_chain(const uint8_t *ram, const struct virtq_chain *c)
{
	uint64_t r = 0, w = 0;

	for (int i = 0; i < c->nr_segs; i++) {
		const struct virtq_seg *s = &c->segs[i];

		if (s->len == 0 || s->host < ram || s->host + s->len > ram + RAM ||
		    s->host != ram + s->gpa)
			abort();
		if (s->write != (i >= c->nr_read))
			abort();
		if (s->write)
			w += s->len;
		else
			r += s->len;
	}
	if (r != c->read_len || w != c->write_len)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *ram;
	static struct virtq_chain chain;
	struct guest_memory mem;
	struct iovec iov[8];
	struct virtq q;
	struct hdr h;
	uint8_t buf[64];
	uint16_t adds;

	if (size < sizeof(h))
		return 0;
	if (!ram)
		ram = aligned_alloc(4096, RAM);
	memcpy(&h, data, sizeof(h));
	memset(ram, 0, RAM);
	memcpy(ram, data + sizeof(h),
	       size - sizeof(h) < RAM ? size - sizeof(h) : RAM);
	guest_memory_init_from(&mem, 0, ram, RAM);

	virtq_init(&q, VIRTQ_MAX_SIZE);
	q.size = (uint16_t)(1u << (h.size_log % 10)); /* up to 512: too big */
	q.desc_gpa = h.desc;
	if (h.flags & F_HIGH_DESC)
		q.desc_gpa |= 0xffffffffffff0000ULL;
	q.avail_gpa = h.avail;
	q.used_gpa = h.used;
	if (virtq_activate(&q, &mem,
			   (h.flags & F_INDIRECT ? 1ULL << 28 : 0) |
				   (h.flags & F_EVENT_IDX ? 1ULL << 29 : 0)))
		return 0;
	adds = h.guest_adds;
	for (int i = 0; i < 4 * VIRTQ_MAX_SIZE; i++) {
		int ret = virtq_pop(&q, &chain);
		int n;

		if (ret < 0 && !q.broken)
			abort();
		if (ret <= 0) {
			uint16_t idx;

			/* the guest adds more buffers after an empty pop */
			if (ret < 0 || adds == 0)
				break;
			memcpy(&idx, ram + q.avail_gpa + 2, 2);
			idx++;
			memcpy(ram + q.avail_gpa + 2, &idx, 2);
			adds--;
			continue;
		}
		check_chain(ram, &chain);
		virtq_chain_read(&chain, h.push_len % 32, buf, sizeof(buf));
		virtq_chain_write(&chain, h.push_len % 16, buf, sizeof(buf));
		n = virtq_chain_iov(&chain, h.push_len & 1, h.push_len % 8,
				    h.push_len % 100, iov, 8);
		for (int k = 0; k < n; k++)
			if ((uint8_t *)iov[k].iov_base < ram ||
			    (uint8_t *)iov[k].iov_base + iov[k].iov_len > ram + RAM)
				abort();
		if ((h.flags & F_HOLD) && (i & 1))
			continue;
		if (virtq_push(&q, chain.head, h.push_len))
			abort();
		virtq_should_notify(&q);
	}
	return 0;
}
