// SPDX-License-Identifier: Apache-2.0
/* The virtio-mmio transport: register file, status state machine, queue
 * setup rules, interrupts and reset, with a small test device. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "devices/virtio/mmio.h"
#include "support/virtio_test_host.h"

#define RAM (1u << 20)
#define DESC 0x1000
#define AVAIL 0x2000
#define USED 0x3000
#define DATA 0x10000
#define QSIZE 16
#define TEST_DEVICE_ID 42
#define TEST_FEATURE_BIT 3

struct test_dev {
	struct virtio_dev vdev;
	int activations, deactivations;
	int activate_result;
	int notifies[2];
	int served;
	bool hold; /* pop but do not push (I/O "in flight") */
	struct virtq_chain chain;
};

static uint8_t *ram;
static struct guest_memory mem;
static struct test_dev tdev;
static struct virtio_dev *dev = &tdev.vdev;
static struct virtio_mmio mt;
static struct virtio_test_host th;
static int irq_fd;

static void test_notify(struct virtio_dev *d, unsigned int qidx)
{
	struct test_dev *t = (struct test_dev *)d;
	struct virtq *q = virtio_dev_queue(d, qidx);

	bool pushed = false;

	t->notifies[qidx]++;
	while (virtq_pop(q, &t->chain) == 1) {
		t->served++;
		if (!t->hold)
			pushed = !virtq_push(q, t->chain.head, 0) || pushed;
	}
	/* as virtio_serve_queue(): an interrupt only for used buffers */
	if (pushed)
		virtio_dev_signal_used(d, q);
}

static void test_config_read(struct virtio_dev *d, uint32_t off,
			     uint8_t *data, uint32_t len)
{
	(void)d;
	for (uint32_t i = 0; i < len; i++)
		data[i] = (uint8_t)(off + i + 1);
}

static int test_activate(struct virtio_dev *d)
{
	struct test_dev *t = (struct test_dev *)d;

	t->activations++;
	return t->activate_result;
}

static void test_deactivate(struct virtio_dev *d)
{
	((struct test_dev *)d)->deactivations++;
}

static void test_destroy(struct virtio_dev *d)
{
	virtio_dev_uninit(d);
}

static const struct virtio_dev_ops test_ops = {
	.name = "test",
	.device_id = TEST_DEVICE_ID,
	.nr_queues = 2,
	.queue_max_size = QSIZE,
	.config_size = 12,
	.config_read = test_config_read,
	.queue_notify = test_notify,
	.activate = test_activate,
	.deactivate = test_deactivate,
	.destroy = test_destroy,
};

static void setup(void)
{
	ram = calloc(1, RAM);
	cr_assert(ram);
	guest_memory_init_from(&mem, 0, ram, RAM);
	memset(&tdev, 0, sizeof(tdev));
	cr_assert_eq(virtio_dev_init(dev, &test_ops, &mem,
				      1ULL << TEST_FEATURE_BIT), 0);
	virtio_mmio_init(&mt, dev);
	virtio_test_host_attach(&th, dev);
	irq_fd = eventfd(0, EFD_NONBLOCK);
	cr_assert_geq(irq_fd, 0);
	th.irq_fd = irq_fd;
}

static void teardown(void)
{
	virtio_dev_destroy(dev);
	close(irq_fd);
	free(ram);
}

TestSuite(mmio, .init = setup, .fini = teardown, .timeout = 20);

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

static uint64_t irqs(void)
{
	uint64_t n = 0;

	if (read(irq_fd, &n, sizeof(n)) < 0)
		return 0;
	return n;
}

static uint64_t device_features(void)
{
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	uint64_t lo = rd(VIRTIO_MMIO_DEVICE_FEATURES);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	return lo | (uint64_t)rd(VIRTIO_MMIO_DEVICE_FEATURES) << 32;
}

static void driver_features(uint64_t f)
{
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
}

static void to_features_ok(uint64_t f)
{
	wr(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	wr(VIRTIO_MMIO_STATUS,
	   VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	driver_features(f);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE |
				       VIRTIO_CONFIG_S_DRIVER |
				       VIRTIO_CONFIG_S_FEATURES_OK);
}

#define S_ALL_OK                                                   \
	(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |    \
	 VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK)

static void setup_queue(uint32_t qidx, uint32_t num, uint64_t desc)
{
	wr(VIRTIO_MMIO_QUEUE_SEL, qidx);
	wr(VIRTIO_MMIO_QUEUE_NUM, num);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	wr(VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	wr(VIRTIO_MMIO_QUEUE_AVAIL_LOW, AVAIL);
	wr(VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0);
	wr(VIRTIO_MMIO_QUEUE_USED_LOW, USED);
	wr(VIRTIO_MMIO_QUEUE_USED_HIGH, 0);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
}

static void bring_up(void)
{
	int before = tdev.notifies[0];

	to_features_ok(1ULL << VIRTIO_F_VERSION_1 |
		       1ULL << VIRTIO_RING_F_EVENT_IDX);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), S_ALL_OK & ~VIRTIO_CONFIG_S_DRIVER_OK);
	setup_queue(0, QSIZE, DESC);
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_READY), 1);
	wr(VIRTIO_MMIO_STATUS, S_ALL_OK);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), S_ALL_OK);
	/* activation (at once, with this host) served the ready queue once,
	 * in case a kick came first; the tests count from before that */
	cr_assert_eq(tdev.notifies[0], before + 1);
	tdev.notifies[0] = before;
}

/* One readable 8-byte buffer at descriptor 0, offered @n times. */
static void offer(uint16_t n)
{
	struct vring_desc d = { .addr = DATA, .len = 8 };
	uint16_t idx;

	memcpy(ram + DESC, &d, sizeof(d));
	memcpy(&idx, ram + AVAIL + 2, 2);
	for (uint16_t i = 0; i < n; i++) {
		uint16_t head = 0;

		memcpy(ram + AVAIL + 4 + 2 * ((idx + i) % QSIZE), &head, 2);
	}
	idx += n;
	memcpy(ram + AVAIL + 2, &idx, 2);
}

Test(mmio, identity)
{
	cr_assert_eq(rd(VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	cr_assert_eq(rd(VIRTIO_MMIO_VERSION), 2);
	cr_assert_eq(rd(VIRTIO_MMIO_DEVICE_ID), TEST_DEVICE_ID);
	cr_assert_eq(rd(VIRTIO_MMIO_VENDOR_ID), VIRTIO_MMIO_VENDOR);
	cr_assert_eq(device_features(),
		     1ULL << TEST_FEATURE_BIT | 1ULL << VIRTIO_F_VERSION_1 |
			     1ULL << VIRTIO_RING_F_INDIRECT_DESC |
			     1ULL << VIRTIO_RING_F_EVENT_IDX);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 7);
	cr_assert_eq(rd(VIRTIO_MMIO_DEVICE_FEATURES), 0);
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), QSIZE);
	wr(VIRTIO_MMIO_QUEUE_SEL, 2);
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), 0);
	cr_assert_eq(rd(VIRTIO_MMIO_CONFIG_GENERATION), 0);
}

Test(mmio, every_offset_every_width)
{
	static const uint32_t widths[] = { 1, 2, 4, 8 };

	for (size_t w = 0; w < 4; w++) {
		for (uint64_t off = 0; off < 0x200; off++) {
			uint8_t data[8];
			uint32_t len = widths[w];

			memset(data, 0xff, sizeof(data));
			virtio_mmio_read(&mt, off, data, len);
			if (off < VIRTIO_MMIO_CONFIG_OFFSET &&
			    (len != 4 || off % 4)) {
				for (uint32_t i = 0; i < len; i++)
					cr_assert_eq(data[i], 0xff,
						     "off %#llx len %u",
						     (unsigned long long)off, len);
			}
			if (off >= VIRTIO_MMIO_CONFIG_OFFSET) {
				uint64_t c = off - VIRTIO_MMIO_CONFIG_OFFSET;

				if (c + len <= 12)
					cr_assert_eq(data[0], c + 1);
				else
					cr_assert_eq(data[0], 0xff);
			}
			/* writes of garbage everywhere except Status (a reset
			 * would hide later steps, tested elsewhere) */
			memset(data, 0xa5, sizeof(data));
			virtio_mmio_write(&mt, off, data, len);
		}
	}
	/* still a sane device */
	cr_assert_eq(rd(VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	cr_assert_eq(rd(VIRTIO_MMIO_VERSION), 2);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), 0); /* 0xa5a5a5a5 not latched */
	/* and it still comes up normally after a reset */
	wr(VIRTIO_MMIO_STATUS, 0);
	bring_up();
}

Test(mmio, status_out_of_order)
{
	wr(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_DRIVER);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), 0);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_FEATURES_OK);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), 0);
	wr(VIRTIO_MMIO_STATUS, S_ALL_OK);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), 0);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), VIRTIO_CONFIG_S_ACKNOWLEDGE);
	/* two steps at once */
	wr(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE |
				       VIRTIO_CONFIG_S_DRIVER |
				       VIRTIO_CONFIG_S_FEATURES_OK);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), VIRTIO_CONFIG_S_ACKNOWLEDGE);
	/* clearing a bit without reset */
	wr(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_DRIVER);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), VIRTIO_CONFIG_S_ACKNOWLEDGE);
	/* the driver cannot set NEEDS_RESET */
	wr(VIRTIO_MMIO_STATUS,
	   VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_NEEDS_RESET);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), VIRTIO_CONFIG_S_ACKNOWLEDGE);
	/* FAILED latches, and then nothing else does */
	wr(VIRTIO_MMIO_STATUS,
	   VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_FAILED);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS),
		     VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_FAILED);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE |
				       VIRTIO_CONFIG_S_FAILED |
				       VIRTIO_CONFIG_S_DRIVER);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS),
		     VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_FAILED);
	wr(VIRTIO_MMIO_STATUS, 0);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), 0);
}

Test(mmio, driver_ok_without_features_ok)
{
	wr(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	wr(VIRTIO_MMIO_STATUS,
	   VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE |
				       VIRTIO_CONFIG_S_DRIVER |
				       VIRTIO_CONFIG_S_DRIVER_OK);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS),
		     VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
}

Test(mmio, unoffered_features_refused)
{
	to_features_ok(1ULL << VIRTIO_F_VERSION_1 | 1ULL << 5);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS),
		     VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	wr(VIRTIO_MMIO_STATUS, 0);
	to_features_ok(1ULL << VIRTIO_F_VERSION_1 | 1ULL << 63);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS),
		     VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
}

Test(mmio, version_1_required)
{
	to_features_ok(1ULL << TEST_FEATURE_BIT);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS),
		     VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	/* the driver may fix its choice and try again */
	driver_features(1ULL << VIRTIO_F_VERSION_1 | 1ULL << TEST_FEATURE_BIT);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE |
				       VIRTIO_CONFIG_S_DRIVER |
				       VIRTIO_CONFIG_S_FEATURES_OK);
	cr_assert(rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK);
	cr_assert_eq(dev->driver_features,
		     1ULL << VIRTIO_F_VERSION_1 | 1ULL << TEST_FEATURE_BIT);
}

Test(mmio, features_frozen_after_features_ok)
{
	to_features_ok(1ULL << VIRTIO_F_VERSION_1);
	driver_features(1ULL << VIRTIO_F_VERSION_1 | 1ULL << 5);
	cr_assert_eq(dev->driver_features, 1ULL << VIRTIO_F_VERSION_1);
}

Test(mmio, queue_registers_need_features_ok)
{
	wr(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	setup_queue(0, QSIZE, DESC);
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	cr_assert_eq(dev->queues[0].size, 0);
	cr_assert_eq(dev->queues[0].desc_gpa, 0);
}

Test(mmio, queue_changes_after_driver_ok_ignored)
{
	bring_up();
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(VIRTIO_MMIO_QUEUE_NUM, 4);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, 0x5000);
	wr(VIRTIO_MMIO_QUEUE_READY, 0);
	cr_assert_eq(dev->queues[0].size, QSIZE);
	cr_assert_eq(dev->queues[0].desc_gpa, DESC);
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_READY), 1);
	/* queue 1 was never set up; it cannot be now */
	setup_queue(1, QSIZE, DESC);
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	/* nor can features change */
	driver_features(1ULL << VIRTIO_F_VERSION_1);
	cr_assert(dev->driver_features & (1ULL << VIRTIO_RING_F_EVENT_IDX));
}

Test(mmio, ready_queue_registers_frozen)
{
	to_features_ok(1ULL << VIRTIO_F_VERSION_1);
	setup_queue(0, QSIZE, DESC);
	wr(VIRTIO_MMIO_QUEUE_NUM, 2);
	wr(VIRTIO_MMIO_QUEUE_USED_LOW, 0x7000);
	cr_assert_eq(dev->queues[0].size, QSIZE);
	cr_assert_eq(dev->queues[0].used_gpa, USED);
	/* before DRIVER_OK the driver may take it back */
	wr(VIRTIO_MMIO_QUEUE_READY, 0);
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	wr(VIRTIO_MMIO_QUEUE_NUM, 8);
	cr_assert_eq(dev->queues[0].size, 8);
}

Test(mmio, bad_queue_needs_reset)
{
	to_features_ok(1ULL << VIRTIO_F_VERSION_1);
	setup_queue(0, 3, DESC); /* not a power of two */
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	cr_assert(rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	cr_assert(rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
	cr_assert_eq(irqs(), 1);
	wr(VIRTIO_MMIO_STATUS, 0);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), 0);
	cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	to_features_ok(1ULL << VIRTIO_F_VERSION_1);
	setup_queue(0, QSIZE, RAM - 16); /* table runs past RAM */
	cr_assert(rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	wr(VIRTIO_MMIO_STATUS, 0);
	to_features_ok(1ULL << VIRTIO_F_VERSION_1);
	setup_queue(0, 0x10010, DESC); /* truncation must not make it 16 */
	cr_assert(rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

Test(mmio, notify_and_interrupts)
{
	bring_up();
	offer(3);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	cr_assert_eq(tdev.notifies[0], 1);
	cr_assert_eq(tdev.served, 3);
	cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	cr_assert_eq(irqs(), 1);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	/* the VMM-thread path does the same */
	offer(1);
	virtio_dev_notify(dev, 0);
	cr_assert_eq(tdev.served, 4);
	/* a queue that is not ready, or does not exist: nothing */
	virtio_dev_notify(dev, 1);
	virtio_dev_notify(dev, 7);
	virtio_dev_notify(dev, 1000);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0xffffffff);
	cr_assert_eq(tdev.notifies[1], 0);
}

Test(mmio, notify_before_driver_ok_ignored)
{
	to_features_ok(1ULL << VIRTIO_F_VERSION_1);
	setup_queue(0, QSIZE, DESC);
	offer(1);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	cr_assert_eq(tdev.notifies[0], 0);
}

Test(mmio, broken_queue_needs_reset_then_recovers)
{
	struct vring_desc loop = { .addr = DATA, .len = 8,
				   .flags = VRING_DESC_F_NEXT, .next = 0 };

	bring_up();
	offer(1);
	memcpy(ram + DESC, &loop, sizeof(loop)); /* after offer() wrote it */
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	cr_assert(rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	cr_assert(rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
	/* further kicks do nothing */
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	cr_assert_eq(tdev.notifies[0], 1);
	wr(VIRTIO_MMIO_STATUS, 0);
	memset(ram, 0, RAM);
	bring_up();
	offer(1);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	cr_assert_eq(tdev.served, 1);
	cr_assert_not(rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

Test(mmio, reset_in_the_middle_of_io)
{
	bring_up();
	tdev.hold = true;
	offer(2);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	cr_assert_eq(dev->queues[0].inflight, 2);
	wr(VIRTIO_MMIO_STATUS, 0);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), 0);
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	cr_assert_eq(dev->driver_features, 0);
	for (int i = 0; i < 2; i++) {
		struct virtq *q = &dev->queues[i];

		cr_assert_eq(q->inflight, 0);
		cr_assert_eq(q->size, 0);
		cr_assert_eq(q->desc_gpa, 0);
		cr_assert_eq(q->avail_gpa, 0);
		cr_assert_eq(q->used_gpa, 0);
		cr_assert_eq(q->last_avail, 0);
		cr_assert_eq(q->used_idx, 0);
		cr_assert_not(q->ready);
		cr_assert_eq(q->max_size, QSIZE);
	}
	/* a late completion of the old request is refused */
	cr_assert_lt(virtq_push(&dev->queues[0], 0, 0), 0);
	/* notifications after reset do nothing */
	virtio_dev_notify(dev, 0);
	cr_assert_eq(tdev.notifies[0], 1);
}

Test(mmio, config_space)
{
	uint8_t b[8];
	uint64_t v = 0;

	memset(b, 0xff, 8);
	virtio_mmio_read(&mt, 0x100 + 11, b, 1);
	cr_assert_eq(b[0], 12);
	memset(b, 0xff, 8);
	virtio_mmio_read(&mt, 0x100 + 11, b, 2); /* straddles the end */
	cr_assert_eq(b[0], 0xff);
	virtio_mmio_read(&mt, 0x100 + 4, (uint8_t *)&v, 8);
	cr_assert_eq(v, 0x0c0b0a0908070605ULL);
	memset(b, 0xff, 8);
	virtio_mmio_read(&mt, 0xfff, b, 1); /* end of the window */
	cr_assert_eq(b[0], 0xff);
	virtio_mmio_read(&mt, UINT64_MAX - 1, b, 8);
	virtio_mmio_write(&mt, 0x100, b, 4); /* read-only: ignored */
	virtio_mmio_write(&mt, UINT64_MAX - 1, b, 8);
	cr_assert_eq(b[0], 0xff);
}

Test(mmio, bus_dispatch)
{
	struct bus bus;
	uint32_t v = 0;

	memset(&bus, 0, sizeof(bus));
	cr_assert_eq(bus_register(&bus, 0xd0001000, VIRTIO_MMIO_WINDOW,
				  &virtio_mmio_bus_ops, &mt, "test"), 0);
	cr_assert(bus_read(&bus, 0xd0001000, (uint8_t *)&v, 4));
	cr_assert_eq(v, 0x74726976);
}

/* A host whose VMM thread is simulated: DRIVER_OK and reset only ask for a
 * sync, and the device (de)activates when the test runs it. */
static int sync_requests;

static void count_sync(void *host)
{
	(void)host;
	sync_requests++;
}

static const struct virtio_host_ops deferred_host = {
	.request_sync = count_sync,
};

Test(mmio, activation_runs_on_the_vmm_thread)
{
	virtio_dev_set_host(dev, &deferred_host, NULL);
	sync_requests = 0;
	to_features_ok(1ULL << VIRTIO_F_VERSION_1);
	setup_queue(0, QSIZE, DESC);
	wr(VIRTIO_MMIO_STATUS, S_ALL_OK);
	cr_assert_eq(sync_requests, 1);
	cr_assert_eq(tdev.activations, 0);
	/* a kick before the VMM thread activated waits, and is not lost */
	offer(2);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	cr_assert_eq(tdev.served, 0);
	virtio_dev_sync(dev);
	cr_assert_eq(tdev.activations, 1);
	cr_assert_eq(tdev.served, 2);
	virtio_dev_sync(dev); /* nothing changed: nothing happens */
	cr_assert_eq(tdev.activations, 1);
	/* reset: the device stops at once, deactivates on the VMM thread */
	wr(VIRTIO_MMIO_STATUS, 0);
	cr_assert_eq(sync_requests, 2);
	cr_assert_eq(tdev.deactivations, 0);
	virtio_dev_sync(dev);
	cr_assert_eq(tdev.deactivations, 1);
	virtio_dev_sync(dev);
	cr_assert_eq(tdev.deactivations, 1);
}

Test(mmio, reset_and_restart_before_the_vmm_thread_looked)
{
	virtio_dev_set_host(dev, &deferred_host, NULL);
	to_features_ok(1ULL << VIRTIO_F_VERSION_1);
	setup_queue(0, QSIZE, DESC);
	wr(VIRTIO_MMIO_STATUS, S_ALL_OK);
	virtio_dev_sync(dev);
	cr_assert_eq(tdev.activations, 1);
	/* the driver resets and comes back up in one go */
	wr(VIRTIO_MMIO_STATUS, 0);
	to_features_ok(1ULL << VIRTIO_F_VERSION_1);
	setup_queue(0, QSIZE, DESC);
	wr(VIRTIO_MMIO_STATUS, S_ALL_OK);
	/* not live until the old activation is undone and a new one runs */
	cr_assert_not(virtio_dev_is_live(dev));
	virtio_dev_sync(dev);
	cr_assert_eq(tdev.deactivations, 1);
	cr_assert_eq(tdev.activations, 2);
	cr_assert(virtio_dev_is_live(dev));
}

Test(mmio, failed_activation_needs_reset)
{
	tdev.activate_result = -EMFILE;
	to_features_ok(1ULL << VIRTIO_F_VERSION_1);
	setup_queue(0, QSIZE, DESC);
	wr(VIRTIO_MMIO_STATUS, S_ALL_OK);
	cr_assert_eq(tdev.activations, 1);
	cr_assert(rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	cr_assert(rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
	offer(1);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	cr_assert_eq(tdev.served, 0);
	cr_assert_not(virtio_dev_is_live(dev));
	/* after a reset the driver may try again */
	tdev.activate_result = 0;
	wr(VIRTIO_MMIO_STATUS, 0);
	cr_assert_eq(tdev.deactivations, 0, "it never was active");
	bring_up();
	cr_assert(virtio_dev_is_live(dev));
}
