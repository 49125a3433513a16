// SPDX-License-Identifier: Apache-2.0
/* The split virtqueue against hand-built rings in a fake guest RAM: every
 * malformed queue must be refused (queue broken), in bounded time. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_ring.h>

#include "devices/virtio/queue.h"

#define RAM (1u << 20)
#define DESC 0x1000
#define AVAIL 0x3000
#define USED 0x4000
#define DATA 0x10000
#define TABLE 0x8000 /* indirect tables */
#define QSIZE 16

static uint8_t *ram;
static struct guest_memory mem;
static struct virtq q;
static struct virtq_chain chain;
static uint16_t avail_idx;

static void setup(void)
{
	ram = calloc(1, RAM);
	cr_assert(ram);
	guest_memory_init_from(&mem, 0, ram, RAM);
	virtq_init(&q, VIRTQ_MAX_SIZE);
	q.size = QSIZE;
	q.desc_gpa = DESC;
	q.avail_gpa = AVAIL;
	q.used_gpa = USED;
	avail_idx = 0;
}

static void teardown(void)
{
	free(ram);
}

TestSuite(virtq, .init = setup, .fini = teardown, .timeout = 10);

static uint64_t features(bool indirect, bool event_idx)
{
	return (indirect ? 1ULL << VIRTIO_RING_F_INDIRECT_DESC : 0) |
	       (event_idx ? 1ULL << VIRTIO_RING_F_EVENT_IDX : 0);
}

static void activate(bool indirect, bool event_idx)
{
	cr_assert_eq(virtq_activate(&q, &mem, features(indirect, event_idx)), 0);
}

static void put_desc(uint64_t table, uint16_t i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	struct vring_desc d = { .addr = addr, .len = len, .flags = flags,
				.next = next };

	memcpy(ram + table + 16ULL * i, &d, sizeof(d));
}

static void desc(uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		 uint16_t next)
{
	put_desc(DESC, i, addr, len, flags, next);
}

static uint16_t rd16(uint64_t gpa)
{
	uint16_t v;

	memcpy(&v, ram + gpa, 2);
	return v;
}

static void wr16(uint64_t gpa, uint16_t v)
{
	memcpy(ram + gpa, &v, 2);
}

static void offer(uint16_t head)
{
	wr16(AVAIL + 4 + 2 * (avail_idx % q.size), head);
	avail_idx++;
	wr16(AVAIL + 2, avail_idx);
}

static void expect_broken(void)
{
	int ret = virtq_pop(&q, &chain);

	cr_assert_lt(ret, 0, "pop returned %d", ret);
	cr_assert(q.broken);
	cr_assert_eq(virtq_pop(&q, &chain), -EIO);
	cr_assert_eq(virtq_push(&q, 0, 0), -EIO);
}

Test(virtq, simple_chain)
{
	activate(false, false);
	desc(0, DATA, 16, VRING_DESC_F_NEXT, 1);
	desc(1, DATA + 0x100, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
	desc(2, DATA + 0x400, 1, VRING_DESC_F_WRITE, 0);
	offer(0);
	cr_assert_eq(virtq_pop(&q, &chain), 1);
	cr_assert_eq(chain.head, 0);
	cr_assert_eq(chain.nr_segs, 3);
	cr_assert_eq(chain.nr_read, 1);
	cr_assert_eq(chain.read_len, 16);
	cr_assert_eq(chain.write_len, 513);
	cr_assert(chain.segs[1].write);
	cr_assert_eq(chain.segs[1].host, ram + DATA + 0x100);
	cr_assert_eq(virtq_pop(&q, &chain), 0);
	cr_assert_eq(virtq_push(&q, 0, 513), 0);
	cr_assert_eq(rd16(USED + 2), 1);
	cr_assert_eq(rd16(USED + 4), 0);         /* id */
	cr_assert_eq(*(uint32_t *)(ram + USED + 8), 513); /* len */
	/* nothing in flight any more: a second push is a device bug */
	cr_assert_eq(virtq_push(&q, 0, 0), -EINVAL);
	cr_assert_not(q.broken);
}

Test(virtq, not_ready_pops_nothing)
{
	offer(0);
	cr_assert_eq(virtq_pop(&q, &chain), 0);
}

Test(virtq, many_chains_wrap_the_ring)
{
	activate(false, false);
	desc(3, DATA, 8, VRING_DESC_F_WRITE, 0);
	for (int i = 0; i < 3 * QSIZE + 5; i++) {
		offer(3);
		cr_assert_eq(virtq_pop(&q, &chain), 1);
		cr_assert_eq(chain.head, 3);
		cr_assert_eq(virtq_push(&q, chain.head, 8), 0);
	}
	cr_assert_eq(rd16(USED + 2), 3 * QSIZE + 5);
}

Test(virtq, full_length_chain_ok)
{
	activate(false, false);
	for (int i = 0; i < QSIZE; i++)
		desc(i, DATA + 64 * i, 64,
		     i < QSIZE - 1 ? VRING_DESC_F_NEXT : 0, i + 1);
	offer(0);
	cr_assert_eq(virtq_pop(&q, &chain), 1);
	cr_assert_eq(chain.nr_segs, QSIZE);
}

Test(virtq, descriptor_loop)
{
	activate(false, false);
	desc(0, DATA, 64, VRING_DESC_F_NEXT, 1);
	desc(1, DATA, 64, VRING_DESC_F_NEXT, 0);
	offer(0);
	expect_broken();
}

Test(virtq, self_loop)
{
	activate(false, false);
	desc(5, DATA, 64, VRING_DESC_F_NEXT, 5);
	offer(5);
	expect_broken();
}

Test(virtq, loop_back_after_full_length)
{
	activate(false, false);
	for (int i = 0; i < QSIZE; i++)
		desc(i, DATA, 64, VRING_DESC_F_NEXT, (i + 1) % QSIZE);
	offer(0);
	expect_broken();
}

Test(virtq, next_out_of_range)
{
	activate(false, false);
	desc(0, DATA, 64, VRING_DESC_F_NEXT, QSIZE);
	offer(0);
	expect_broken();
}

Test(virtq, head_out_of_range)
{
	activate(false, false);
	offer(QSIZE);
	expect_broken();
}

Test(virtq, avail_index_runs_ahead)
{
	activate(false, false);
	desc(0, DATA, 64, 0, 0);
	wr16(AVAIL + 2, QSIZE + 1);
	expect_broken();
}

Test(virtq, avail_index_exactly_full_ok)
{
	activate(false, false);
	desc(0, DATA, 64, 0, 0);
	wr16(AVAIL + 2, QSIZE);
	for (int i = 0; i < QSIZE; i++)
		cr_assert_eq(virtq_pop(&q, &chain), 1);
	cr_assert_eq(virtq_pop(&q, &chain), 0);
}

Test(virtq, buffer_past_ram)
{
	activate(false, false);
	desc(0, RAM - 8, 16, 0, 0);
	offer(0);
	expect_broken();
}

Test(virtq, buffer_wraps_address_space)
{
	activate(false, false);
	desc(0, UINT64_MAX - 7, 64, 0, 0);
	offer(0);
	expect_broken();
}

Test(virtq, buffer_ends_exactly_at_ram_end_ok)
{
	activate(false, false);
	desc(0, RAM - 16, 16, 0, 0);
	offer(0);
	cr_assert_eq(virtq_pop(&q, &chain), 1);
}

Test(virtq, zero_length_buffer)
{
	activate(false, false);
	desc(0, DATA, 0, 0, 0);
	offer(0);
	expect_broken();
}

Test(virtq, readable_after_writable)
{
	activate(false, false);
	desc(0, DATA, 64, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	desc(1, DATA, 64, 0, 0);
	offer(0);
	expect_broken();
}

Test(virtq, indirect_ok)
{
	activate(true, false);
	desc(0, TABLE, 3 * 16, VRING_DESC_F_INDIRECT, 0);
	put_desc(TABLE, 0, DATA, 16, VRING_DESC_F_NEXT, 2);
	put_desc(TABLE, 2, DATA + 64, 100, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	put_desc(TABLE, 1, DATA + 512, 1, VRING_DESC_F_WRITE, 0);
	offer(0);
	cr_assert_eq(virtq_pop(&q, &chain), 1);
	cr_assert_eq(chain.nr_segs, 3);
	cr_assert_eq(chain.read_len, 16);
	cr_assert_eq(chain.write_len, 101);
}

Test(virtq, indirect_after_direct_ok)
{
	activate(true, false);
	desc(0, DATA, 16, VRING_DESC_F_NEXT, 1);
	desc(1, TABLE, 16, VRING_DESC_F_INDIRECT, 0);
	put_desc(TABLE, 0, DATA + 64, 1, VRING_DESC_F_WRITE, 0);
	offer(0);
	cr_assert_eq(virtq_pop(&q, &chain), 1);
	cr_assert_eq(chain.nr_segs, 2);
}

Test(virtq, indirect_not_negotiated)
{
	activate(false, false);
	desc(0, TABLE, 16, VRING_DESC_F_INDIRECT, 0);
	put_desc(TABLE, 0, DATA, 16, 0, 0);
	offer(0);
	expect_broken();
}

Test(virtq, indirect_inside_indirect)
{
	activate(true, false);
	desc(0, TABLE, 32, VRING_DESC_F_INDIRECT, 0);
	put_desc(TABLE, 0, DATA, 16, VRING_DESC_F_NEXT, 1);
	put_desc(TABLE, 1, TABLE, 32, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	expect_broken();
}

Test(virtq, indirect_with_next)
{
	activate(true, false);
	desc(0, TABLE, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	desc(1, DATA, 16, 0, 0);
	put_desc(TABLE, 0, DATA, 16, 0, 0);
	offer(0);
	expect_broken();
}

Test(virtq, indirect_len_zero)
{
	activate(true, false);
	desc(0, TABLE, 0, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	expect_broken();
}

Test(virtq, indirect_len_not_multiple_of_16)
{
	activate(true, false);
	desc(0, TABLE, 17, VRING_DESC_F_INDIRECT, 0);
	put_desc(TABLE, 0, DATA, 16, 0, 0);
	offer(0);
	expect_broken();
}

Test(virtq, indirect_table_past_ram)
{
	activate(true, false);
	desc(0, RAM - 16, 32, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	expect_broken();
}

Test(virtq, indirect_table_too_big)
{
	activate(true, false);
	desc(0, TABLE, 16 * (VIRTQ_MAX_SIZE + 1), VRING_DESC_F_INDIRECT, 0);
	offer(0);
	expect_broken();
}

Test(virtq, indirect_loop)
{
	activate(true, false);
	desc(0, TABLE, 64, VRING_DESC_F_INDIRECT, 0);
	put_desc(TABLE, 0, DATA, 16, VRING_DESC_F_NEXT, 1);
	put_desc(TABLE, 1, DATA, 16, VRING_DESC_F_NEXT, 0);
	offer(0);
	expect_broken();
}

Test(virtq, indirect_next_out_of_table)
{
	activate(true, false);
	desc(0, TABLE, 32, VRING_DESC_F_INDIRECT, 0);
	put_desc(TABLE, 0, DATA, 16, VRING_DESC_F_NEXT, 2);
	offer(0);
	expect_broken();
}

Test(virtq, indirect_full_table_ok)
{
	activate(true, false);
	desc(0, TABLE, 16 * VIRTQ_MAX_SIZE, VRING_DESC_F_INDIRECT, 0);
	for (int i = 0; i < VIRTQ_MAX_SIZE; i++)
		put_desc(TABLE, i, DATA, 8,
			 i < VIRTQ_MAX_SIZE - 1 ? VRING_DESC_F_NEXT : 0, i + 1);
	offer(0);
	cr_assert_eq(virtq_pop(&q, &chain), 1);
	cr_assert_eq(chain.nr_segs, VIRTQ_MAX_SIZE);
}

Test(virtq, direct_plus_indirect_too_many_segments)
{
	q.size = VIRTQ_MAX_SIZE;
	activate(true, false);
	for (int i = 0; i < 10; i++)
		desc(i, DATA, 8, VRING_DESC_F_NEXT, i + 1);
	desc(10, TABLE, 16 * VIRTQ_MAX_SIZE, VRING_DESC_F_INDIRECT, 0);
	for (int i = 0; i < VIRTQ_MAX_SIZE; i++)
		put_desc(TABLE, i, DATA, 8,
			 i < VIRTQ_MAX_SIZE - 1 ? VRING_DESC_F_NEXT : 0, i + 1);
	offer(0);
	expect_broken();
}

Test(virtq, activate_checks)
{
	uint16_t bad_sizes[] = { 0, 3, 100, 512 };

	for (size_t i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
		q.size = bad_sizes[i];
		cr_assert_eq(virtq_activate(&q, &mem, 0), -EINVAL);
		cr_assert_not(q.ready);
	}
	q.size = QSIZE;
	q.desc_gpa = DESC + 8;
	cr_assert_eq(virtq_activate(&q, &mem, 0), -EINVAL);
	q.desc_gpa = DESC;
	q.avail_gpa = AVAIL + 1;
	cr_assert_eq(virtq_activate(&q, &mem, 0), -EINVAL);
	q.avail_gpa = AVAIL;
	q.used_gpa = USED + 2;
	cr_assert_eq(virtq_activate(&q, &mem, 0), -EINVAL);
	q.used_gpa = RAM - 64; /* 6 + 8 * 16 bytes do not fit */
	cr_assert_eq(virtq_activate(&q, &mem, 0), -EFAULT);
	q.used_gpa = USED;
	q.desc_gpa = UINT64_MAX - 15; /* wraps */
	cr_assert_eq(virtq_activate(&q, &mem, 0), -EFAULT);
	q.desc_gpa = DESC;
	q.avail_gpa = RAM - 2 * QSIZE - 4; /* used_event falls outside */
	cr_assert_eq(virtq_activate(&q, &mem, 0), -EFAULT);
	q.avail_gpa = AVAIL;
	cr_assert_eq(virtq_activate(&q, &mem, 0), 0);
	cr_assert(q.ready);
}

Test(virtq, no_interrupt_flag)
{
	activate(false, false);
	desc(0, DATA, 8, 0, 0);
	offer(0);
	cr_assert_eq(virtq_pop(&q, &chain), 1);
	cr_assert_eq(virtq_push(&q, 0, 0), 0);
	cr_assert(virtq_should_notify(&q));
	wr16(AVAIL, VRING_AVAIL_F_NO_INTERRUPT);
	cr_assert_not(virtq_should_notify(&q));
}

static void pop_push_one(void)
{
	offer(0);
	cr_assert_eq(virtq_pop(&q, &chain), 1);
	cr_assert_eq(virtq_push(&q, 0, 0), 0);
}

Test(virtq, event_idx_notification)
{
	const uint64_t used_event = AVAIL + 4 + 2 * QSIZE;

	activate(false, true);
	desc(0, DATA, 8, 0, 0);
	/* first decision after activation always notifies */
	pop_push_one();
	cr_assert(virtq_should_notify(&q));
	/* used_event = 0: the driver wanted an interrupt when used passes 0,
	 * which already happened */
	pop_push_one(); /* used_idx 2 */
	cr_assert_not(virtq_should_notify(&q));
	/* driver asks for an interrupt once entry 2 is used */
	wr16(used_event, 2);
	pop_push_one(); /* used_idx 3: crosses 2 */
	cr_assert(virtq_should_notify(&q));
	wr16(used_event, 10);
	pop_push_one(); /* 4 */
	cr_assert_not(virtq_should_notify(&q));
	for (int i = 0; i < 6; i++)
		pop_push_one(); /* 10 */
	cr_assert_not(virtq_should_notify(&q));
	pop_push_one(); /* 11: crosses 10 */
	cr_assert(virtq_should_notify(&q));
	/* no new used entries: nothing to notify */
	cr_assert_not(virtq_should_notify(&q));
}

Test(virtq, event_idx_publishes_avail_event)
{
	const uint64_t avail_event = USED + 4 + 8 * QSIZE;

	activate(false, true);
	desc(0, DATA, 8, 0, 0);
	offer(0);
	offer(0);
	cr_assert_eq(virtq_pop(&q, &chain), 1);
	cr_assert_eq(virtq_pop(&q, &chain), 1);
	cr_assert_eq(virtq_pop(&q, &chain), 0);
	cr_assert_eq(rd16(avail_event), 2);
}

Test(virtq, chain_copy_helpers)
{
	struct iovec iov[4];
	uint8_t buf[64];

	activate(false, false);
	memset(ram + DATA, 'a', 10);
	memset(ram + DATA + 0x100, 'b', 10);
	desc(0, DATA, 10, VRING_DESC_F_NEXT, 1);
	desc(1, DATA + 0x100, 10, VRING_DESC_F_NEXT, 2);
	desc(2, DATA + 0x200, 5, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 3);
	desc(3, DATA + 0x300, 5, VRING_DESC_F_WRITE, 0);
	offer(0);
	cr_assert_eq(virtq_pop(&q, &chain), 1);
	cr_assert_eq(virtq_chain_read(&chain, 8, buf, 4), 4);
	cr_assert_eq(memcmp(buf, "aabb", 4), 0);
	cr_assert_eq(virtq_chain_read(&chain, 15, buf, 64), 5);
	cr_assert_eq(virtq_chain_read(&chain, 20, buf, 1), 0);
	cr_assert_eq(virtq_chain_write(&chain, 3, "xyzw", 4), 4);
	cr_assert_eq(memcmp(ram + DATA + 0x203, "xy", 2), 0);
	cr_assert_eq(memcmp(ram + DATA + 0x300, "zw", 2), 0);
	cr_assert_eq(virtq_chain_write(&chain, 9, "12", 2), 1);
	cr_assert_eq(virtq_chain_iov(&chain, false, 5, 10, iov, 4), 2);
	cr_assert_eq(iov[0].iov_len, 5);
	cr_assert_eq(iov[1].iov_base, ram + DATA + 0x100);
	cr_assert_eq(virtq_chain_iov(&chain, false, 5, 16, iov, 4), -EINVAL);
	cr_assert_eq(virtq_chain_iov(&chain, true, 0, 10, iov, 1), -EINVAL);
	cr_assert_eq(virtq_chain_iov(&chain, true, UINT64_MAX, 2, iov, 4),
		     -EINVAL);
}

Test(virtq, reset_clears_state)
{
	activate(true, true);
	desc(0, DATA, 8, 0, 0);
	offer(0);
	cr_assert_eq(virtq_pop(&q, &chain), 1);
	virtq_reset(&q);
	cr_assert_not(q.ready);
	cr_assert_eq(q.size, 0);
	cr_assert_eq(q.inflight, 0);
	cr_assert_eq(q.last_avail, 0);
	cr_assert_eq(q.max_size, VIRTQ_MAX_SIZE);
	cr_assert_eq(virtq_pop(&q, &chain), 0);
}
