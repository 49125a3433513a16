// SPDX-License-Identifier: Apache-2.0
/* virtio-blk over a temporary backing file, with requests built by hand in
 * a fake guest RAM and driven through the MMIO transport. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "devices/virtio/blk/blk.h"
#include "devices/virtio/mmio.h"
#include "support/virtio_test_host.h"
#include "persist/snapshot_file.h"

#define RAM (1u << 22)
#define DESC 0x1000
#define AVAIL 0x3000
#define USED 0x4000
#define HDR 0x8000
#define STATUS 0x9000
#define DATA 0x10000
#define QSIZE 16
#define DISK_SECTORS 2048

static uint8_t *ram;
static struct guest_memory mem;
static struct virtio_dev *dev;
static struct virtio_mmio mt;
static struct virtio_test_host th;
static char path[64];
static int disk_fd;
static uint16_t avail_idx;
static uint64_t offered;

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

static void bring_up(void)
{
	uint64_t want;

	wr(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	wr(VIRTIO_MMIO_STATUS, 3);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	offered = rd(VIRTIO_MMIO_DEVICE_FEATURES);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	offered |= (uint64_t)rd(VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	want = offered & ~(1ULL << VIRTIO_RING_F_EVENT_IDX);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)want);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(want >> 32));
	wr(VIRTIO_MMIO_STATUS, 0xb);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), 0xb);
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), VIRTIO_BLK_QUEUE_SIZE);
	wr(VIRTIO_MMIO_QUEUE_NUM, QSIZE);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, DESC);
	wr(VIRTIO_MMIO_QUEUE_AVAIL_LOW, AVAIL);
	wr(VIRTIO_MMIO_QUEUE_USED_LOW, USED);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	wr(VIRTIO_MMIO_STATUS, 0xf);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), 0xf);
}

static void make_disk(uint64_t bytes)
{
	uint8_t sector[512];

	strcpy(path, "/tmp/figment-blk-XXXXXX");
	disk_fd = mkstemp(path);
	cr_assert_geq(disk_fd, 0);
	cr_assert_eq(ftruncate(disk_fd, (off_t)bytes), 0);
	/* sector s is filled with the byte s & 0xff */
	for (uint64_t s = 0; s < bytes / 512; s++) {
		memset(sector, (int)(s & 0xff), sizeof(sector));
		cr_assert_eq(pwrite(disk_fd, sector, 512, (off_t)(s * 512)), 512);
	}
}

/* The device the register helpers and the kick fds talk to. */
static void use_dev(struct virtio_dev *d)
{
	virtio_mmio_init(&mt, d);
	virtio_test_host_attach(&th, d);
}

static int open_dev(bool ro, const char *serial, enum drive_cache cache)
{
	struct drive_config d;
	char err[256];

	memset(&d, 0, sizeof(d));
	strcpy(d.id, "rootdisk");
	d.path_on_host = path;
	d.is_read_only = ro;
	d.serial = (char *)serial;
	d.cache_type = cache;
	if (virtio_blk_create(&d, &mem, &dev, err, sizeof(err)))
		return -1;
	use_dev(dev);
	return 0;
}

static void setup(void)
{
	ram = calloc(1, RAM);
	cr_assert(ram);
	guest_memory_init_from(&mem, 0, ram, RAM);
	avail_idx = 0;
	dev = NULL;
	make_disk(DISK_SECTORS * 512);
}

static void teardown(void)
{
	virtio_dev_destroy(dev);
	close(disk_fd);
	unlink(path);
	free(ram);
}

TestSuite(blk, .init = setup, .fini = teardown, .timeout = 20);

static void start(bool ro)
{
	cr_assert_eq(open_dev(ro, NULL, DRIVE_CACHE_UNSAFE), 0);
	bring_up();
}

struct seg {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

/* Offers a chain of @n segments at descriptors 0..n-1, kicks the queue,
 * returns the used length (or -1 when nothing came back). */
static int64_t submit(const struct seg *s, int n)
{
	uint16_t used_before, used_after;

	memcpy(&used_before, ram + USED + 2, 2);
	for (int i = 0; i < n; i++) {
		struct vring_desc d = {
			.addr = s[i].gpa,
			.len = s[i].len,
			.flags = (s[i].write ? VRING_DESC_F_WRITE : 0) |
				 (i < n - 1 ? VRING_DESC_F_NEXT : 0),
			.next = (uint16_t)(i + 1),
		};

		memcpy(ram + DESC + 16 * i, &d, sizeof(d));
	}
	{
		uint16_t head = 0;

		memcpy(ram + AVAIL + 4 + 2 * (avail_idx % QSIZE), &head, 2);
	}
	avail_idx++;
	memcpy(ram + AVAIL + 2, &avail_idx, 2);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	memcpy(&used_after, ram + USED + 2, 2);
	if (used_after == used_before)
		return -1;
	{
		struct vring_used_elem e;

		memcpy(&e, ram + USED + 4 + 8 * (used_before % QSIZE), sizeof(e));
		return e.len;
	}
}

static void header(uint32_t type, uint64_t sector)
{
	struct virtio_blk_outhdr h = { .type = type, .sector = sector };

	memcpy(ram + HDR, &h, sizeof(h));
	ram[STATUS] = 0xee;
}

/* header, @len bytes of data at DATA (device-writable for reads), status */
static int64_t simple(uint32_t type, uint64_t sector, uint32_t len,
		      bool data_write)
{
	struct seg s[3] = {
		{ HDR, 16, false },
		{ DATA, len, data_write },
		{ STATUS, 1, true },
	};

	header(type, sector);
	if (len == 0) {
		s[1] = s[2];
		return submit(s, 2);
	}
	return submit(s, 3);
}

Test(blk, config_and_features)
{
	struct virtio_blk_config cfg;

	start(false);
	for (uint32_t i = 0; i < sizeof(cfg); i++)
		virtio_mmio_read(&mt, 0x100 + i, (uint8_t *)&cfg + i, 1);
	cr_assert_eq(cfg.capacity, DISK_SECTORS);
	cr_assert_eq(cfg.seg_max, VIRTQ_MAX_SIZE - 2);
	cr_assert_eq(cfg.size_max, VIRTIO_BLK_SIZE_MAX);
	cr_assert(offered & (1ULL << VIRTIO_BLK_F_SIZE_MAX));
	cr_assert_eq(cfg.blk_size, 512);
	cr_assert_eq(rd(VIRTIO_MMIO_DEVICE_ID), 2);
	cr_assert(offered & (1ULL << VIRTIO_BLK_F_FLUSH));
	cr_assert_not(offered & (1ULL << VIRTIO_BLK_F_RO));
}

Test(blk, read)
{
	start(false);
	cr_assert_eq(simple(VIRTIO_BLK_T_IN, 3, 1024, true), 1025);
	cr_assert_eq(ram[STATUS], VIRTIO_BLK_S_OK);
	cr_assert_eq(ram[DATA], 3);
	cr_assert_eq(ram[DATA + 511], 3);
	cr_assert_eq(ram[DATA + 512], 4);
	cr_assert_eq(ram[DATA + 1023], 4);
	cr_assert_eq(ram[DATA + 1024], 0);
}

Test(blk, read_scattered_and_split_header)
{
	struct seg s[] = {
		{ HDR, 7, false }, { HDR + 7, 9, false },
		{ DATA, 100, true }, { DATA + 0x1000, 412, true },
		{ STATUS, 1, true },
	};

	start(false);
	header(VIRTIO_BLK_T_IN, 5);
	cr_assert_eq(submit(s, 5), 513);
	cr_assert_eq(ram[STATUS], VIRTIO_BLK_S_OK);
	cr_assert_eq(ram[DATA + 99], 5);
	cr_assert_eq(ram[DATA + 0x1000 + 411], 5);
}

Test(blk, write)
{
	uint8_t back[1024];

	start(false);
	memset(ram + DATA, 0x5a, 1024);
	cr_assert_eq(simple(VIRTIO_BLK_T_OUT, 10, 1024, false), 1);
	cr_assert_eq(ram[STATUS], VIRTIO_BLK_S_OK);
	cr_assert_eq(pread(disk_fd, back, 1024, 10 * 512), 1024);
	for (int i = 0; i < 1024; i++)
		cr_assert_eq(back[i], 0x5a);
	cr_assert_eq(pread(disk_fd, back, 1, 12 * 512), 1);
	cr_assert_eq(back[0], 12);
}

Test(blk, flush)
{
	start(false);
	cr_assert_eq(simple(VIRTIO_BLK_T_FLUSH, 0, 0, false), 1);
	cr_assert_eq(ram[STATUS], VIRTIO_BLK_S_OK);
}

Test(blk, flush_writeback)
{
	cr_assert_eq(open_dev(false, NULL, DRIVE_CACHE_WRITEBACK), 0);
	bring_up();
	cr_assert_eq(simple(VIRTIO_BLK_T_FLUSH, 0, 0, false), 1);
	cr_assert_eq(ram[STATUS], VIRTIO_BLK_S_OK);
}

Test(blk, get_id_default_and_serial)
{
	start(false);
	memset(ram + DATA, 0x77, 32);
	cr_assert_eq(simple(VIRTIO_BLK_T_GET_ID, 0, VIRTIO_BLK_ID_BYTES, true),
		     21);
	cr_assert_eq(ram[STATUS], VIRTIO_BLK_S_OK);
	cr_assert_eq(memcmp(ram + DATA, "rootdisk\0\0\0\0", 12), 0);
	virtio_dev_destroy(dev);
	cr_assert_eq(open_dev(false, "ABCDEFGHIJKLMNOPQRST", DRIVE_CACHE_UNSAFE), 0);
	avail_idx = 0;
	memset(ram, 0, RAM);
	bring_up();
	cr_assert_eq(simple(VIRTIO_BLK_T_GET_ID, 0, 32, true), 21);
	cr_assert_eq(memcmp(ram + DATA, "ABCDEFGHIJKLMNOPQRST", 20), 0);
	cr_assert_eq(ram[DATA + 20], 0);
}

static void discard_seg(uint64_t sector, uint32_t n, uint32_t flags)
{
	struct virtio_blk_discard_write_zeroes d = {
		.sector = sector, .num_sectors = n, .flags = flags,
	};

	memcpy(ram + DATA, &d, sizeof(d));
}

static void expect_zero_sectors(uint64_t first, uint64_t n)
{
	uint8_t b[512];

	for (uint64_t s = first; s < first + n; s++) {
		cr_assert_eq(pread(disk_fd, b, 512, (off_t)(s * 512)), 512);
		for (int i = 0; i < 512; i++)
			cr_assert_eq(b[i], 0, "sector %llu", (unsigned long long)s);
	}
}

Test(blk, discard_and_write_zeroes)
{
	uint8_t b;

	start(false);
	if (!(offered & (1ULL << VIRTIO_BLK_F_DISCARD))) {
		cr_log_warn("file system cannot punch holes; skipped");
		return;
	}
	cr_assert(offered & (1ULL << VIRTIO_BLK_F_WRITE_ZEROES));
	discard_seg(8, 16, 0);
	cr_assert_eq(simple(VIRTIO_BLK_T_DISCARD, 0, 16, false), 1);
	cr_assert_eq(ram[STATUS], VIRTIO_BLK_S_OK);
	expect_zero_sectors(8, 16);
	cr_assert_eq(pread(disk_fd, &b, 1, 24 * 512), 1);
	cr_assert_eq(b, 24);
	discard_seg(100, 3, 0);
	cr_assert_eq(simple(VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false), 1);
	cr_assert_eq(ram[STATUS], VIRTIO_BLK_S_OK);
	expect_zero_sectors(100, 3);
	discard_seg(200, 3, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	cr_assert_eq(simple(VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false), 1);
	cr_assert_eq(ram[STATUS], VIRTIO_BLK_S_OK);
	expect_zero_sectors(200, 3);
	/* unmap is not a discard flag */
	discard_seg(300, 1, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	simple(VIRTIO_BLK_T_DISCARD, 0, 16, false);
	cr_assert_eq(ram[STATUS], VIRTIO_BLK_S_UNSUPP);
	/* out of range, overflowing, bad segment sizes */
	discard_seg(DISK_SECTORS - 1, 2, 0);
	simple(VIRTIO_BLK_T_DISCARD, 0, 16, false);
	cr_assert_eq(ram[STATUS], VIRTIO_BLK_S_IOERR);
	discard_seg(UINT64_MAX, 2, 0);
	simple(VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false);
	cr_assert_eq(ram[STATUS], VIRTIO_BLK_S_IOERR);
	simple(VIRTIO_BLK_T_DISCARD, 0, 15, false);
	cr_assert_eq(ram[STATUS], VIRTIO_BLK_S_IOERR);
	simple(VIRTIO_BLK_T_DISCARD, 0, 16 * (VIRTIO_BLK_MAX_DISCARD_SEG + 1),
	       false);
	cr_assert_eq(ram[STATUS], VIRTIO_BLK_S_IOERR);
}

Test(blk, out_of_range)
{
	start(false);
	simple(VIRTIO_BLK_T_IN, DISK_SECTORS, 512, true);
	cr_assert_eq(ram[STATUS], VIRTIO_BLK_S_IOERR);
	simple(VIRTIO_BLK_T_IN, DISK_SECTORS - 1, 1024, true);
	cr_assert_eq(ram[STATUS], VIRTIO_BLK_S_IOERR);
	simple(VIRTIO_BLK_T_IN, DISK_SECTORS - 1, 512, true);
	cr_assert_eq(ram[STATUS], VIRTIO_BLK_S_OK);
	simple(VIRTIO_BLK_T_OUT, UINT64_MAX, 512, false);
	cr_assert_eq(ram[STATUS], VIRTIO_BLK_S_IOERR);
	simple(VIRTIO_BLK_T_IN, UINT64_MAX / 512 + 1, 512, true);
	cr_assert_eq(ram[STATUS], VIRTIO_BLK_S_IOERR);
	simple(VIRTIO_BLK_T_IN, 0, 100, true); /* not whole sectors */
	cr_assert_eq(ram[STATUS], VIRTIO_BLK_S_IOERR);
}

Test(blk, wrong_data_direction)
{
	start(false);
	/* a read whose data buffer is device-readable */
	simple(VIRTIO_BLK_T_IN, 0, 512, false);
	cr_assert_eq(ram[STATUS], VIRTIO_BLK_S_IOERR);
	/* a write whose data buffer is device-writable */
	memset(ram + DATA, 0x11, 512);
	simple(VIRTIO_BLK_T_OUT, 0, 512, true);
	cr_assert_eq(ram[STATUS], VIRTIO_BLK_S_IOERR);
}

Test(blk, read_only_drive)
{
	uint8_t b;

	start(true);
	cr_assert(offered & (1ULL << VIRTIO_BLK_F_RO));
	cr_assert_not(offered & (1ULL << VIRTIO_BLK_F_DISCARD));
	memset(ram + DATA, 0x99, 512);
	cr_assert_eq(simple(VIRTIO_BLK_T_OUT, 1, 512, false), 1);
	cr_assert_eq(ram[STATUS], VIRTIO_BLK_S_IOERR);
	cr_assert_eq(pread(disk_fd, &b, 1, 512), 1);
	cr_assert_eq(b, 1);
	discard_seg(1, 1, 0);
	simple(VIRTIO_BLK_T_DISCARD, 0, 16, false);
	cr_assert_eq(ram[STATUS], VIRTIO_BLK_S_IOERR);
	simple(VIRTIO_BLK_T_IN, 1, 512, true);
	cr_assert_eq(ram[STATUS], VIRTIO_BLK_S_OK);
	simple(VIRTIO_BLK_T_FLUSH, 0, 0, false);
	cr_assert_eq(ram[STATUS], VIRTIO_BLK_S_OK);
}

Test(blk, bad_header_size)
{
	struct seg s[] = { { HDR, 8, false }, { STATUS, 1, true } };

	start(false);
	header(VIRTIO_BLK_T_IN, 0);
	cr_assert_eq(submit(s, 2), 1);
	cr_assert_eq(ram[STATUS], VIRTIO_BLK_S_IOERR);
}

Test(blk, status_missing)
{
	struct seg s[] = { { HDR, 16, false }, { DATA, 512, false } };

	start(false);
	header(VIRTIO_BLK_T_OUT, 0);
	cr_assert_eq(submit(s, 2), 0);
	cr_assert_eq(ram[STATUS], 0xee);
	cr_assert_eq(submit(s, 1), 0);
	cr_assert_not(rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

Test(blk, status_read_only_after_data)
{
	struct seg s[] = {
		{ HDR, 16, false }, { DATA, 512, true }, { STATUS, 1, false },
	};

	start(false);
	header(VIRTIO_BLK_T_IN, 0);
	cr_assert_eq(submit(s, 3), -1);
	cr_assert(rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	cr_assert_eq(ram[STATUS], 0xee);
}

Test(blk, unsupported_types)
{
	start(false);
	simple(VIRTIO_BLK_T_SCSI_CMD, 0, 0, false);
	cr_assert_eq(ram[STATUS], VIRTIO_BLK_S_UNSUPP);
	simple(0x12345678, 0, 0, false);
	cr_assert_eq(ram[STATUS], VIRTIO_BLK_S_UNSUPP);
	simple(VIRTIO_BLK_T_SECURE_ERASE, 0, 16, false);
	cr_assert_eq(ram[STATUS], VIRTIO_BLK_S_UNSUPP);
}

Test(blk, odd_size_rounds_down)
{
	struct virtio_blk_config cfg;

	cr_assert_eq(ftruncate(disk_fd, 512 * 10 + 100), 0);
	start(false);
	virtio_mmio_read(&mt, 0x100, (uint8_t *)&cfg.capacity, 8);
	cr_assert_eq(cfg.capacity, 10);
	simple(VIRTIO_BLK_T_IN, 10, 512, true);
	cr_assert_eq(ram[STATUS], VIRTIO_BLK_S_IOERR);
}

Test(blk, refused_backing)
{
	struct drive_config d;
	char err[256];

	memset(&d, 0, sizeof(d));
	strcpy(d.id, "x");
	d.path_on_host = "/dev/null";
	cr_assert_lt(virtio_blk_create(&d, &mem, &dev, err, sizeof(err)), 0);
	cr_assert(strstr(err, "not a regular file"));
	d.path_on_host = "/nonexistent/disk.img";
	cr_assert_lt(virtio_blk_create(&d, &mem, &dev, err, sizeof(err)), 0);
	cr_assert(strstr(err, "cannot open"));
	d.path_on_host = "/tmp";
	d.is_read_only = true;
	cr_assert_lt(virtio_blk_create(&d, &mem, &dev, err, sizeof(err)), 0);
	cr_assert_eq(ftruncate(disk_fd, 100), 0);
	d.path_on_host = path;
	cr_assert_lt(virtio_blk_create(&d, &mem, &dev, err, sizeof(err)), 0);
	cr_assert(strstr(err, "smaller"));
	dev = NULL;
}

Test(blk, many_requests_and_event_idx_free_interrupts)
{
	start(false);
	for (int i = 0; i < 100; i++) {
		cr_assert_eq(simple(VIRTIO_BLK_T_IN, (uint64_t)i, 512, true), 513);
		cr_assert_eq(ram[DATA], i & 0xff);
	}
	cr_assert(rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING);
}

/*
 * A guest can keep a queue full from inside the device's own work: each
 * request reads a sector over its own avail ring and header, which offers
 * the same chain again with the next sector. Served in one call, 256
 * sectors mean 256 requests for a single notification (and a second vCPU
 * refilling the ring means a VMM thread that never returns to its loop).
 * One notification serves at most a queue's worth of chains, then asks to
 * be called again through the queue's kick eventfd.
 */
#define SELF_FEEDING 256

Test(blk, notification_work_is_bounded)
{
	const uint64_t ring = AVAIL, hdr = AVAIL + 0x40;
	int kick_fd = eventfd(0, EFD_NONBLOCK);
	struct seg s[3] = {
		{ hdr, 16, false },
		{ ring, 512, true },
		{ STATUS, 1, true },
	};
	uint16_t used, avail;
	uint64_t count = 0;
	uint8_t sector[512];

	cr_assert_geq(kick_fd, 0);
	for (uint64_t i = 0; i < SELF_FEEDING; i++) {
		/* read into [AVAIL, AVAIL + 512): avail flags 0, avail idx
		 * one past the chain just popped (the last one offers
		 * nothing more), every ring slot head 0, and a header IN of
		 * the next sector */
		uint16_t next_idx = (uint16_t)(i + 1 < SELF_FEEDING ? i + 2 : i + 1);
		struct virtio_blk_outhdr h = { .type = VIRTIO_BLK_T_IN,
					       .sector = i + 1 };

		memset(sector, 0, sizeof(sector));
		memcpy(sector + 2, &next_idx, 2);
		memcpy(sector + (hdr - ring), &h, sizeof(h));
		cr_assert_eq(pwrite(disk_fd, sector, 512, (off_t)(i * 512)), 512);
	}
	start(false);
	th.kick_fd[0] = kick_fd;
	header(VIRTIO_BLK_T_IN, 0);
	memcpy(ram + hdr, ram + HDR, 16);
	cr_assert_eq(submit(s, 3), 513);
	memcpy(&used, ram + USED + 2, 2);
	memcpy(&avail, ram + AVAIL + 2, 2);
	cr_assert_eq(used, QSIZE, "one notification served %u requests", used);
	cr_assert_eq(avail, QSIZE + 1);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), 0xf);
	/* chains left: the device asked to be called again */
	cr_assert_eq(read(kick_fd, &count, sizeof(count)), sizeof(count));
	cr_assert_eq(count, 1);
	/* each later notification serves the next queue's worth */
	virtio_dev_notify(dev, 0);
	memcpy(&used, ram + USED + 2, 2);
	cr_assert_eq(used, 2 * QSIZE);
	cr_assert_eq(read(kick_fd, &count, sizeof(count)), sizeof(count));
	th.kick_fd[0] = -1;
	close(kick_fd);
}

/*
 * The budget counts bytes too. A guest with a few MiB of RAM can offer a
 * queue of requests that each move many MiB (segments overlapping in its
 * RAM, holes in a sparse image): counted in requests only, one notification
 * moved all of them before the VMM thread saw a signal or an API request.
 */
#define BIG_SEG (2u << 20)

static void offer_big_reads(unsigned int segs_per_request, unsigned int n)
{
	for (unsigned int i = 0; i < segs_per_request + 2; i++) {
		bool first = i == 0, last = i == segs_per_request + 1;
		struct vring_desc d = {
			.addr = first ? HDR : last ? STATUS : DATA,
			.len = first ? 16 : last ? 1 : BIG_SEG,
			.flags = (first ? 0 : VRING_DESC_F_WRITE) |
				 (last ? 0 : VRING_DESC_F_NEXT),
			.next = (uint16_t)(i + 1),
		};

		memcpy(ram + DESC + 16 * i, &d, sizeof(d));
	}
	header(VIRTIO_BLK_T_IN, 0);
	for (unsigned int i = 0; i < n; i++) {
		uint16_t head = 0;

		memcpy(ram + AVAIL + 4 + 2 * ((avail_idx + i) % QSIZE), &head, 2);
	}
	avail_idx = (uint16_t)(avail_idx + n);
	memcpy(ram + AVAIL + 2, &avail_idx, 2);
}

Test(blk, notification_bytes_are_bounded)
{
	int kick_fd = eventfd(0, EFD_NONBLOCK);
	uint64_t count = 0;
	uint16_t used;

	cr_assert_geq(kick_fd, 0);
	cr_assert_eq(ftruncate(disk_fd, 1LL << 30), 0); /* sparse */
	start(false);
	th.kick_fd[0] = kick_fd;
	/* 16 requests of 4 MiB each: 64 MiB for one notification */
	offer_big_reads(2, QSIZE);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	memcpy(&used, ram + USED + 2, 2);
	cr_assert_eq((uint64_t)used * 2 * BIG_SEG, VIRTIO_BATCH_BYTES,
		     "one notification served %u requests of 4 MiB", used);
	cr_assert_eq(ram[STATUS], VIRTIO_BLK_S_OK);
	cr_assert_eq(read(kick_fd, &count, sizeof(count)), sizeof(count),
		     "the device did not ask to be called again");
	/* the rest comes in later notifications, none lost */
	for (int i = 0; i < 2 * QSIZE && used < QSIZE; i++) {
		virtio_dev_notify(dev, 0);
		memcpy(&used, ram + USED + 2, 2);
	}
	cr_assert_eq(used, QSIZE);
	th.kick_fd[0] = -1;
	close(kick_fd);
}

Test(blk, request_larger_than_the_device_allows_is_an_io_error)
{
	uint16_t used;

	cr_assert_eq(ftruncate(disk_fd, 1LL << 30), 0);
	start(false);
	/* 8 x 2 MiB = 16 MiB: the largest request allowed */
	offer_big_reads(8, 1);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	cr_assert_eq(ram[STATUS], VIRTIO_BLK_S_OK);
	/* 9 x 2 MiB: refused without touching the disk */
	offer_big_reads(9, 1);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	memcpy(&used, ram + USED + 2, 2);
	cr_assert_eq(used, 2);
	cr_assert_eq(ram[STATUS], VIRTIO_BLK_S_IOERR);
}

/* The transport and queue state goes into a snapshot and back into a
 * fresh device, which then serves the next request where the first left
 * off; a state whose rings lie outside guest RAM is refused, and the
 * device is left reset, not half-restored. */
Test(blk, snapshot_state_round_trip)
{
	struct virtio_dev *fresh;
	struct snap_buf b, r;
	char err[256];
	struct drive_config d;
	uint16_t used;

	start(false);
	cr_assert_eq(simple(VIRTIO_BLK_T_IN, 3, 512, true), 513);
	snap_buf_init_write(&b);
	cr_assert_eq(virtio_mmio_device_ops.save(&mt, &b), 0);

	memset(&d, 0, sizeof(d));
	strcpy(d.id, "rootdisk");
	d.path_on_host = path;
	cr_assert_eq(virtio_blk_create(&d, &mem, &fresh, err, sizeof(err)), 0);
	snap_buf_init_read(&r, b.p, b.len);
	virtio_dev_destroy(dev);
	dev = fresh;
	use_dev(dev);
	cr_assert_eq(virtio_mmio_device_ops.restore(&mt, &r), 0);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), 0xf);
	cr_assert_eq(simple(VIRTIO_BLK_T_IN, 7, 512, true), 513);
	cr_assert_eq(ram[DATA], 7);
	memcpy(&used, ram + USED + 2, 2);
	cr_assert_eq(used, 2, "the used index went on from the saved one");

	/* the avail ring moved past the end of guest RAM */
	{
		size_t at = 4 + 8 + 8 + 6 * 4 + 4 + 2 + 8; /* queue 0's avail_gpa */
		uint64_t bad = RAM - 2;

		memcpy(b.p + at, &bad, 8);
	}
	cr_assert_eq(virtio_blk_create(&d, &mem, &fresh, err, sizeof(err)), 0);
	snap_buf_init_read(&r, b.p, b.len);
	{
		struct virtio_mmio ft;

		virtio_mmio_init(&ft, fresh);
		cr_assert_eq(virtio_mmio_device_ops.restore(&ft, &r), -EINVAL);
	}
	cr_assert_eq(fresh->status, 0);
	cr_assert_not(fresh->queues[0].ready);
	virtio_dev_destroy(fresh);
	snap_buf_free(&b);
}

/* A rate-limited drive: a request the buckets cannot pay for is given
 * back untouched, the limit timer is armed, and the VMM thread serves it
 * when the timer fires; the VMM thread itself never waits. */
Test(blk, rate_limited_request_waits_for_its_timer)
{
	struct rate_limiter_config rl = {
		.ops = { .size = 1, .refill_ms = 200 },
	};
	struct itimerspec its;
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	uint16_t used;

	cr_assert_geq(tfd, 0);
	start(false);
	dev->limit_timer_fd = tfd;
	virtio_dev_set_rate_limit(dev, &rl);
	cr_assert_eq(simple(VIRTIO_BLK_T_IN, 1, 512, true), 513, "the first is paid for");
	cr_assert_eq(simple(VIRTIO_BLK_T_IN, 2, 512, true), -1, "the second waits");
	cr_assert_eq(timerfd_gettime(tfd, &its), 0);
	cr_assert(its.it_value.tv_sec || its.it_value.tv_nsec, "timer armed");
	/* more kicks while it waits do nothing */
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	memcpy(&used, ram + USED + 2, 2);
	cr_assert_eq(used, 1);
	usleep(250 * 1000);
	virtio_dev_limit_expired(dev);
	memcpy(&used, ram + USED + 2, 2);
	cr_assert_eq(used, 2, "served once the bucket refilled");
	cr_assert_eq(ram[DATA], 2);
	/* lifting the limit serves at once */
	memset(&rl, 0, sizeof(rl));
	virtio_dev_set_rate_limit(dev, &rl);
	cr_assert_eq(simple(VIRTIO_BLK_T_IN, 3, 512, true), 513);
	dev->limit_timer_fd = -1;
	close(tfd);
}
