// SPDX-License-Identifier: Apache-2.0
/* virtio-rng: fills device-writable buffers, bounded per chain. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <string.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "devices/virtio/mmio.h"
#include "devices/virtio/rng/rng.h"
#include "support/virtio_test_host.h"

#define RAM (1u << 21)
#define DESC 0x1000
#define AVAIL 0x3000
#define USED 0x4000
#define DATA 0x10000
#define QSIZE 8

static uint8_t *ram;
static struct guest_memory mem;
static struct virtio_dev *dev;
static struct virtio_mmio mt;
static struct virtio_test_host th;
static uint16_t avail_idx;

static uint32_t rd(uint64_t off)
{
	uint32_t v = 0xffffffff;

	virtio_mmio_read(&mt, off, (uint8_t *)&v, 4);
	return v;
}

static void wr(uint64_t off, uint32_t v)
{
	virtio_mmio_write(&mt, off, (const uint8_t *)&v, 4);
}

static void setup(void)
{
	ram = calloc(1, RAM);
	cr_assert(ram);
	guest_memory_init_from(&mem, 0, ram, RAM);
	avail_idx = 0;
	cr_assert_eq(virtio_rng_create(&mem, &dev), 0);
	virtio_mmio_init(&mt, dev);
	virtio_test_host_attach(&th, dev);
	wr(VIRTIO_MMIO_STATUS, 1);
	wr(VIRTIO_MMIO_STATUS, 3);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 1); /* VERSION_1 */
	wr(VIRTIO_MMIO_STATUS, 0xb);
	wr(VIRTIO_MMIO_QUEUE_NUM, QSIZE);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, DESC);
	wr(VIRTIO_MMIO_QUEUE_AVAIL_LOW, AVAIL);
	wr(VIRTIO_MMIO_QUEUE_USED_LOW, USED);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	wr(VIRTIO_MMIO_STATUS, 0xf);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), 0xf);
}

static void teardown(void)
{
	virtio_dev_destroy(dev);
	free(ram);
}

TestSuite(rng, .init = setup, .fini = teardown, .timeout = 20);

static void desc(uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		 uint16_t next)
{
	struct vring_desc d = { addr, len, flags, next };

	memcpy(ram + DESC + 16 * i, &d, sizeof(d));
}

static uint32_t kick(uint16_t head)
{
	struct vring_used_elem e;
	uint16_t used;

	memcpy(ram + AVAIL + 4 + 2 * (avail_idx % QSIZE), &head, 2);
	avail_idx++;
	memcpy(ram + AVAIL + 2, &avail_idx, 2);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	memcpy(&used, ram + USED + 2, 2);
	cr_assert_eq(used, avail_idx);
	memcpy(&e, ram + USED + 4 + 8 * ((used - 1) % QSIZE), sizeof(e));
	cr_assert_eq(e.id, head);
	return e.len;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

Test(rng, identity)
{
	cr_assert_eq(rd(VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_RNG);
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), VIRTIO_RNG_QUEUE_SIZE);
}

Test(rng, fills_buffer)
{
	desc(0, DATA, 64, VRING_DESC_F_WRITE, 0);
	cr_assert_eq(kick(0), 64);
	cr_assert_not(all_zero(ram + DATA, 64));
	cr_assert(all_zero(ram + DATA + 64, 64));
	cr_assert(rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING);
}

Test(rng, bounded_per_chain)
{
	/* 4 x 32 KiB writable: only the first 64 KiB is filled */
	for (int i = 0; i < 4; i++)
		desc(i, DATA + 0x8000 * i, 0x8000,
		     VRING_DESC_F_WRITE | (i < 3 ? VRING_DESC_F_NEXT : 0), i + 1);
	cr_assert_eq(kick(0), VIRTIO_RNG_MAX_PER_CHAIN);
	cr_assert_not(all_zero(ram + DATA + 0xf000, 0x1000));
	cr_assert(all_zero(ram + DATA + 0x10000, 0x10000));
}

Test(rng, readable_buffers_ignored)
{
	desc(0, DATA, 32, VRING_DESC_F_NEXT, 1);
	desc(1, DATA + 32, 32, VRING_DESC_F_WRITE, 0);
	cr_assert_eq(kick(0), 32);
	cr_assert(all_zero(ram + DATA, 32));
	desc(2, DATA + 0x100, 32, 0, 0);
	cr_assert_eq(kick(2), 0);
	cr_assert(all_zero(ram + DATA + 0x100, 32));
}

Test(rng, malformed_chain_needs_reset)
{
	desc(0, DATA, 32, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 0);
	memcpy(ram + AVAIL + 4, &(uint16_t){ 0 }, 2);
	avail_idx = 1;
	memcpy(ram + AVAIL + 2, &avail_idx, 2);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	cr_assert(rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	cr_assert(rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
}

/*
 * A guest vCPU that keeps the queue full while the VMM serves it: every
 * chain it gets back is offered again at once. One notification must
 * still cost the VMM a bounded amount of work (at most a queue's worth of
 * chains), and the device must come back for the rest through the
 * queue's kick eventfd, or the VMM thread never returns to its loop.
 */
static volatile bool feeder_stop, feeder_running;
static uint64_t feeder_seen; /* chains the feeder saw come back */

static void *feeder(void *arg)
{
	uint16_t last = 0;

	(void)arg;
	__atomic_store_n(&feeder_running, true, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&feeder_stop, __ATOMIC_ACQUIRE)) {
		uint16_t used = __atomic_load_n((uint16_t *)(ram + USED + 2),
						__ATOMIC_ACQUIRE);

		feeder_seen += (uint16_t)(used - last);
		last = used;
		/* enough to show the loop does not end by itself */
		if (feeder_seen >= 64 * QSIZE)
			break;
		__atomic_store_n((uint16_t *)(ram + AVAIL + 2),
				 (uint16_t)(used + QSIZE), __ATOMIC_RELEASE);
	}
	return NULL;
}

Test(rng, notification_work_is_bounded)
{
	int kick_fd = eventfd(0, EFD_NONBLOCK);
	uint16_t start, end;
	pthread_t t;

	cr_assert_geq(kick_fd, 0);
	th.kick_fd[0] = kick_fd;
	for (int i = 0; i < QSIZE; i++) {
		desc(i, DATA + 64 * i, 64, VRING_DESC_F_WRITE, 0);
		memcpy(ram + AVAIL + 4 + 2 * i, &(uint16_t){ i }, 2);
	}
	memcpy(&start, ram + USED + 2, 2);
	memcpy(ram + AVAIL + 2, &(uint16_t){ QSIZE }, 2);
	feeder_stop = false;
	feeder_seen = 0;
	feeder_running = false;
	cr_assert_eq(pthread_create(&t, NULL, feeder, NULL), 0);
	while (!__atomic_load_n(&feeder_running, __ATOMIC_ACQUIRE))
		;
	virtio_dev_notify(dev, 0);
	__atomic_store_n(&feeder_stop, true, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	memcpy(&end, ram + USED + 2, 2);
	cr_assert_leq(feeder_seen, QSIZE, "one notification served %llu chains",
		      (unsigned long long)feeder_seen);
	cr_assert_eq((uint16_t)(end - start), QSIZE);
	/* (whether it asked to be called again depends on what the feeder
	 * had offered by then: test_virtio_blk.c checks that part) */
	th.kick_fd[0] = -1;
	close(kick_fd);
}
