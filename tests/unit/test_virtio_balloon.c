// SPDX-License-Identifier: Apache-2.0
/* virtio-balloon with the test playing the guest's driver (rings in RAM
 * mapped like guest RAM, so discarded pages really leave): inflate and
 * deflate, hostile PFNs, statistics and their flood, free page reporting,
 * hinting, poisoning, reset, snapshot save/restore, the memory file
 * skipping held pages, and the --balloon / JSON configuration checks. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/virtio_balloon.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "config/balloon_config.h"
#include "config/config_json.h"
#include "devices/virtio/balloon/balloon.h"
#include "devices/virtio/mmio.h"
#include "persist/snapshot_file.h"
#include "support/virtio_test_host.h"

#define RAM   (16u << 20)
#define PAGES (RAM / 4096)
#define QSIZE 64
#define DATA  0x100000 /* PFN arrays and stats buffers */
#define FREE  0x400000 /* pages the tests inflate */

#define DESC(q)	 (0x4000u * (q) + 0x10000)
#define AVAIL(q) (DESC(q) + 0x1000)
#define USED(q)	 (DESC(q) + 0x2000)

static uint8_t *ram;
static struct guest_memory mem;
static struct virtio_dev *dev;
static struct virtio_mmio mt;
static struct virtio_test_host th;
static uint16_t avail_idx[5], used_seen[5], next_desc[5];
static int nq;

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

static uint32_t cfg_rd(uint32_t off)
{
	return rd(VIRTIO_MMIO_CONFIG + off);
}

static void make(const struct balloon_config *c)
{
	char err[256];

	cr_assert_eq(virtio_balloon_create(c, &mem, &dev, err, sizeof(err)), 0,
		     "%s", err);
	virtio_mmio_init(&mt, dev);
	virtio_test_host_attach(&th, dev);
}

/* The driver comes up taking every feature offered, with @n queues. */
static void bring_up(int n)
{
	memset(avail_idx, 0, sizeof(avail_idx));
	memset(used_seen, 0, sizeof(used_seen));
	memset(next_desc, 0, sizeof(next_desc));
	memset(ram, 0, 0x40000);
	nq = n;
	wr(VIRTIO_MMIO_STATUS, 1);
	wr(VIRTIO_MMIO_STATUS, 3);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	uint32_t f = rd(VIRTIO_MMIO_DEVICE_FEATURES);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, f);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 1); /* VERSION_1 */
	wr(VIRTIO_MMIO_STATUS, 0xb);
	for (int q = 0; q < n; q++) {
		wr(VIRTIO_MMIO_QUEUE_SEL, q);
		wr(VIRTIO_MMIO_QUEUE_NUM, QSIZE);
		wr(VIRTIO_MMIO_QUEUE_DESC_LOW, DESC(q));
		wr(VIRTIO_MMIO_QUEUE_AVAIL_LOW, AVAIL(q));
		wr(VIRTIO_MMIO_QUEUE_USED_LOW, USED(q));
		wr(VIRTIO_MMIO_QUEUE_READY, 1);
	}
	wr(VIRTIO_MMIO_STATUS, 0xf);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), 0xf);
}

static void setup(void)
{
	struct balloon_config c = { .present = true, .amount_mib = 4,
				    .deflate_on_oom = true,
				    .stats_interval_s = 1,
				    .free_page_reporting = true };

	ram = mmap(NULL, RAM, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	cr_assert_neq(ram, MAP_FAILED);
	guest_memory_init_from(&mem, 0, ram, RAM);
	make(&c);
	bring_up(4); /* inflate, deflate, stats, reporting */
}

static void teardown(void)
{
	virtio_dev_destroy(dev);
	munmap(ram, RAM);
}

TestSuite(balloon, .init = setup, .fini = teardown, .timeout = 30);

/* A one-descriptor chain on queue @q; returns its head. */
static uint16_t offer(int q, uint64_t addr, uint32_t len, bool write)
{
	uint16_t head = next_desc[q]++ % QSIZE;
	struct vring_desc d = { addr, len, write ? VRING_DESC_F_WRITE : 0, 0 };

	memcpy(ram + DESC(q) + 16 * head, &d, sizeof(d));
	memcpy(ram + AVAIL(q) + 4 + 2 * (avail_idx[q] % QSIZE), &head, 2);
	avail_idx[q]++;
	memcpy(ram + AVAIL(q) + 2, &avail_idx[q], 2);
	return head;
}

static void kick(int q)
{
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

static uint16_t used_idx(int q)
{
	uint16_t u;

	memcpy(&u, ram + USED(q) + 2, 2);
	return u;
}

/* The next used element of queue @q, if any. */
static bool take_used(int q, struct vring_used_elem *e)
{
	if (used_idx(q) == used_seen[q])
		return false;
	memcpy(e, ram + USED(q) + 4 + 8 * (used_seen[q] % QSIZE), sizeof(*e));
	used_seen[q]++;
	return true;
}

/* Sends @n PFNs on queue @q (0 inflate, 1 deflate) and waits for it. */
static void send_pfns(int q, const uint32_t *pfns, int n)
{
	static uint64_t at = DATA;
	struct vring_used_elem e;

	memcpy(ram + at, pfns, 4 * (size_t)n);
	offer(q, at, 4 * (uint32_t)n, false);
	at = at + 0x1000 < DATA + 0x80000 ? at + 0x1000 : DATA;
	kick(q);
	cr_assert(take_used(q, &e), "the PFN buffer came back");
}

static bool resident(uint64_t gpa)
{
	unsigned char v = 0;

	cr_assert_eq(mincore(ram + gpa, 4096, &v), 0);
	return v & 1;
}

static struct virtio_balloon_counters counters(void)
{
	struct virtio_balloon_counters c;

	virtio_balloon_get_counters(dev, &c);
	return c;
}

Test(balloon, identity_and_config)
{
	cr_assert_eq(rd(VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_BALLOON);
	cr_assert_eq(cfg_rd(0), 4 * 256, "num_pages is the target");
	cr_assert_eq(cfg_rd(4), 0);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	uint32_t f = rd(VIRTIO_MMIO_DEVICE_FEATURES);
	cr_assert(f & (1u << VIRTIO_BALLOON_F_STATS_VQ));
	cr_assert(f & (1u << VIRTIO_BALLOON_F_DEFLATE_ON_OOM));
	cr_assert(f & (1u << VIRTIO_BALLOON_F_REPORTING));
	cr_assert(f & (1u << VIRTIO_BALLOON_F_PAGE_POISON));
	cr_assert_not(f & (1u << VIRTIO_BALLOON_F_FREE_PAGE_HINT));
	/* the driver writes actual; num_pages is the host's */
	wr(VIRTIO_MMIO_CONFIG + 4, 77);
	wr(VIRTIO_MMIO_CONFIG + 0, 5);
	cr_assert_eq(cfg_rd(4), 77);
	cr_assert_eq(cfg_rd(0), 4 * 256);
}

Test(balloon, inflate_discards_and_deflate_returns)
{
	uint32_t pfns[8];
	char err[256];

	for (int i = 0; i < 8; i++) {
		memset(ram + FREE + 4096u * i, 0xab, 4096);
		pfns[i] = FREE / 4096 + i;
	}
	cr_assert(resident(FREE));
	send_pfns(0, pfns, 8);
	cr_assert_eq(virtio_balloon_held_pages(dev), 8);
	for (int i = 0; i < 8; i++) {
		cr_assert_not(resident(FREE + 4096u * i), "page %d discarded", i);
		cr_assert_eq(ram[FREE + 4096u * i], 0);
	}
	cr_assert_eq(counters().inflated, 8);
	send_pfns(1, pfns, 3);
	cr_assert_eq(virtio_balloon_held_pages(dev), 5);
	cr_assert_eq(counters().deflated, 3);
	/* a deflated page is the guest's again: zeroed, usable */
	ram[FREE] = 1;
	cr_assert_eq(ram[FREE], 1);
	/* the target moves; the driver is told */
	cr_assert_eq(virtio_balloon_set_target(dev, 8, err, sizeof(err)), 0);
	cr_assert_eq(cfg_rd(0), 8 * 256);
	cr_assert(rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
	cr_assert_neq(virtio_balloon_set_target(dev, 17, err, sizeof(err)), 0);
	cr_assert(strstr(err, "larger than the guest's RAM"), "%s", err);
	cr_assert_eq(cfg_rd(0), 8 * 256, "a refused target changes nothing");
}

Test(balloon, hostile_pfns_are_counted_and_ignored)
{
	uint32_t pfns[] = { PAGES, PAGES + 5, 0xffffffff, FREE / 4096,
			    FREE / 4096 };
	uint32_t deflate[] = { FREE / 4096 + 1, 0xfffffff0 };

	memset(ram + FREE, 0x5a, 8192);
	send_pfns(0, pfns, 5);
	cr_assert_eq(counters().bad_pfns, 3);
	cr_assert_eq(counters().double_inflates, 1);
	cr_assert_eq(virtio_balloon_held_pages(dev), 1);
	/* deflating what the balloon does not hold frees nothing */
	send_pfns(1, deflate, 2);
	cr_assert_eq(counters().bad_deflates, 2);
	cr_assert_eq(virtio_balloon_held_pages(dev), 1);
	cr_assert_eq(ram[FREE + 4096], 0x5a, "the guest's page is untouched");
	/* a PFN buffer of odd length: the whole PFNs count, the rest not */
	memcpy(ram + DATA + 0x90000, &(uint32_t){ FREE / 4096 + 2 }, 4);
	offer(0, DATA + 0x90000, 6, false);
	kick(0);
	cr_assert_eq(virtio_balloon_held_pages(dev), 2);
}

Test(balloon, oversized_pfn_chain_is_bounded)
{
	struct vring_used_elem e;
	uint32_t *p = (uint32_t *)(ram + DATA);

	/* 8192 PFNs in one chain: only BALLOON_MAX_PFNS_PER_CHAIN read */
	for (int i = 0; i < 8192; i++)
		p[i] = 0xffff0000u + (uint32_t)i;
	offer(0, DATA, 8192 * 4, false);
	kick(0);
	cr_assert(take_used(0, &e));
	cr_assert_eq(counters().bad_pfns, 8192);
	cr_assert_eq(virtio_balloon_held_pages(dev), 0);
}

/* One stats buffer: tag/value pairs. */
static void put_stats(uint64_t at, uint16_t tag, uint64_t val)
{
	memcpy(ram + at, &tag, 2);
	memcpy(ram + at + 2, &val, 8);
}

Test(balloon, statistics_are_kept_and_requested)
{
	struct virtio_balloon_info in;
	struct vring_used_elem e;
	uint64_t at = DATA + 0x20000;

	put_stats(at, VIRTIO_BALLOON_S_MEMFREE, 1234);
	put_stats(at + 10, VIRTIO_BALLOON_S_MEMTOT, 16 << 20);
	put_stats(at + 20, 200, 9); /* a tag from the future: skipped */
	uint16_t head = offer(2, at, 30, false);
	kick(2);
	cr_assert_not(take_used(2, &e), "the device keeps the buffer");
	virtio_balloon_get_info(dev, &in);
	cr_assert_eq(in.stats[VIRTIO_BALLOON_S_MEMFREE], 1234);
	cr_assert_eq(in.stats[VIRTIO_BALLOON_S_MEMTOT], 16 << 20);
	cr_assert_eq(in.stats_seen, (1u << 4) | (1u << 5));
	cr_assert_eq(in.stats_updates, 1);
	/* the interval passes: the buffer goes back for fresh values */
	int tfd = virtio_balloon_stats_timer_fd(dev);
	cr_assert(virtio_test_host_fire(&th, dev, tfd), "the timer is watched");
	cr_assert(take_used(2, &e));
	cr_assert_eq(e.id, head);
	cr_assert_not(virtio_test_host_fire(&th, dev, -1));
	/* the driver gives it again with new values */
	put_stats(at, VIRTIO_BALLOON_S_MEMFREE, 999);
	offer(2, at, 10, false);
	kick(2);
	virtio_balloon_get_info(dev, &in);
	cr_assert_eq(in.stats[VIRTIO_BALLOON_S_MEMFREE], 999);
	cr_assert_eq(in.stats[VIRTIO_BALLOON_S_MEMTOT], 16 << 20, "kept");
}

Test(balloon, statistics_flood_is_bounded)
{
	struct vring_used_elem e;
	int back = 0;

	for (int i = 0; i < QSIZE; i++) {
		put_stats(DATA + 0x20000 + 16u * i, 4, (uint64_t)i);
		offer(2, DATA + 0x20000 + 16u * i, 10, false);
	}
	kick(2);
	while (take_used(2, &e))
		back++;
	cr_assert_eq(back, QSIZE - 1, "all but the last come back at once");
	cr_assert_eq(counters().stats_extra, QSIZE - 1);
	/* a buffer larger than every tag there is: held, not read */
	offer(2, DATA + 0x30000, BALLOON_MAX_STATS_LEN + 10, false);
	kick(2);
	cr_assert(take_used(2, &e));
}

Test(balloon, stats_interval_cannot_be_switched_off)
{
	char err[256];

	cr_assert_neq(virtio_balloon_set_stats_interval(dev, 0, err, sizeof(err)), 0);
	cr_assert(strstr(err, "enable/disable"), "%s", err);
	cr_assert_eq(virtio_balloon_set_stats_interval(dev, 7, err, sizeof(err)), 0);
	struct virtio_balloon_info in;
	virtio_balloon_get_info(dev, &in);
	cr_assert_eq(in.cfg.stats_interval_s, 7);
}

Test(balloon, free_page_reporting_discards_ranges)
{
	struct vring_used_elem e;

	memset(ram + FREE, 0x77, 64 * 4096);
	cr_assert(resident(FREE + 4096 * 10));
	offer(3, FREE, 64 * 4096, true);
	kick(3);
	cr_assert(take_used(3, &e));
	cr_assert_eq(e.len, 0);
	cr_assert_not(resident(FREE + 4096 * 10));
	cr_assert_eq(ram[FREE + 4096 * 63], 0);
	cr_assert_eq(counters().reported, 64);
	cr_assert_eq(virtio_balloon_held_pages(dev), 0, "reported pages stay the guest's");
	/* a range that is not whole pages: only its whole pages go */
	memset(ram + FREE, 0x77, 3 * 4096);
	offer(3, FREE + 100, 2 * 4096, true);
	kick(3);
	cr_assert(take_used(3, &e));
	cr_assert_eq(ram[FREE + 100], 0x77);
	cr_assert_eq(ram[FREE + 4096], 0);
	cr_assert_eq(ram[FREE + 2 * 4096 + 200], 0x77);
}

Test(balloon, poisoned_pages_are_not_discarded)
{
	struct vring_used_elem e;

	wr(VIRTIO_MMIO_CONFIG + 12, 0xaa);
	memset(ram + FREE, 0xaa, 4 * 4096);
	offer(3, FREE, 4 * 4096, true);
	kick(3);
	cr_assert(take_used(3, &e));
	cr_assert_eq(ram[FREE + 4096], 0xaa, "the guest's pattern stays");
	cr_assert_eq(counters().poison_kept, 4);
}

Test(balloon, reset_gives_pages_back)
{
	uint32_t pfns[] = { FREE / 4096, FREE / 4096 + 1 };

	send_pfns(0, pfns, 2);
	cr_assert_eq(virtio_balloon_held_pages(dev), 2);
	wr(VIRTIO_MMIO_STATUS, 0);
	cr_assert_eq(virtio_balloon_held_pages(dev), 0);
	cr_assert_eq(cfg_rd(4), 0);
	cr_assert_eq(cfg_rd(0), 4 * 256, "the target stays");
}

/* The whole virtio-mmio entry, as a snapshot saves and restores it. */
Test(balloon, snapshot_keeps_the_balloon)
{
	uint32_t pfns[] = { FREE / 4096, FREE / 4096 + 7, FREE / 4096 + 8 };
	struct virtio_balloon_info in;
	struct balloon_config c = { .present = true, .amount_mib = 4,
				    .deflate_on_oom = true,
				    .stats_interval_s = 1,
				    .free_page_reporting = true };
	struct vring_used_elem e;
	struct snap_buf b, rb;
	char err[256];

	send_pfns(0, pfns, 3);
	cr_assert_eq(virtio_balloon_set_target(dev, 6, err, sizeof(err)), 0);
	put_stats(DATA + 0x20000, 4, 4242);
	uint16_t head = offer(2, DATA + 0x20000, 10, false);
	kick(2);
	snap_buf_init_write(&b);
	cr_assert_eq(virtio_mmio_device_ops.save(&mt, &b), 0);
	virtio_dev_destroy(dev);

	c.amount_mib = 6;
	make(&c);
	snap_buf_init_read(&rb, b.p, b.len);
	cr_assert_eq(virtio_mmio_device_ops.restore(&mt, &rb), 0);
	cr_assert_eq(virtio_balloon_held_pages(dev), 3);
	cr_assert_eq(cfg_rd(0), 6 * 256);
	virtio_balloon_get_info(dev, &in);
	cr_assert_eq(in.stats[4], 4242);
	/* the held stats buffer is still the device's to give back */
	cr_assert(virtio_test_host_fire(&th, dev, virtio_balloon_stats_timer_fd(dev)));
	cr_assert(take_used(2, &e));
	cr_assert_eq(e.id, head);
	/* a held page deflates after the restore */
	send_pfns(1, pfns, 1);
	cr_assert_eq(virtio_balloon_held_pages(dev), 2);

	/* a state whose bitmap count lies is refused */
	virtio_dev_destroy(dev);
	make(&c);
	size_t count_at = b.len - (PAGES / 64) * 8 - 8;
	uint64_t lie = 99;
	memcpy(b.p + count_at, &lie, 8);
	snap_buf_init_read(&rb, b.p, b.len);
	cr_assert_neq(virtio_mmio_device_ops.restore(&mt, &rb), 0);
	cr_assert_eq(virtio_balloon_held_pages(dev), 0);
	snap_buf_free(&b);
}

Test(balloon, memory_file_skips_held_pages)
{
	uint32_t pfns[] = { FREE / 4096 + 1 };
	char path[] = "/tmp/balloon-mem-XXXXXX";
	uint64_t written = 0, pages = 0;
	char err[256];
	uint8_t page[4096];
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	unlink(path);
	memset(ram + FREE, 0x11, 3 * 4096);
	send_pfns(0, pfns, 1);
	/* a hostile guest writes the page it gave away: still not saved */
	memset(ram + FREE + 4096, 0x22, 4096);
	const uint64_t *held = virtio_balloon_held_bitmap(dev, &pages);
	cr_assert_eq(pages, PAGES);
	cr_assert_eq(guest_memory_save_skip(&mem, fd, held, &written, err,
					    sizeof(err)), 0, "%s", err);
	cr_assert_eq(pread(fd, page, 4096, FREE), 4096);
	cr_assert_eq(page[0], 0x11);
	cr_assert_eq(pread(fd, page, 4096, FREE + 4096), 4096);
	cr_assert_eq(page[0], 0, "the held page is a hole");
	cr_assert_eq(pread(fd, page, 4096, FREE + 8192), 4096);
	cr_assert_eq(page[0], 0x11);
	close(fd);
}

Test(balloon, free_page_hinting_protocol)
{
	struct balloon_config c = { .present = true, .free_page_hinting = true };
	struct virtio_balloon_info in;
	struct vring_used_elem e;
	uint32_t cmd;
	char err[256];

	virtio_dev_destroy(dev);
	make(&c);
	cr_assert_neq(virtio_balloon_hint_start(dev, true, err, sizeof(err)), 0,
		      "no driver yet");
	bring_up(3); /* inflate, deflate, hinting */
	cr_assert_eq(virtio_balloon_hint_start(dev, true, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cfg_rd(8), 2, "runs count from 2");
	/* the guest answers with the id, then free pages */
	cmd = 2;
	memcpy(ram + DATA, &cmd, 4);
	offer(2, DATA, 4, false);
	memset(ram + FREE, 0x33, 8 * 4096);
	offer(2, FREE, 8 * 4096, true);
	kick(2);
	cr_assert(take_used(2, &e));
	cr_assert(take_used(2, &e));
	cr_assert_eq(ram[FREE + 4096], 0);
	cr_assert_eq(counters().hinted, 8);
	/* pages for an old id are not taken */
	cmd = 7;
	memcpy(ram + DATA, &cmd, 4);
	offer(2, DATA, 4, false);
	memset(ram + FREE, 0x33, 4096);
	offer(2, FREE, 4096, true);
	kick(2);
	cr_assert_eq(ram[FREE], 0x33);
	/* the guest says STOP: acknowledged with DONE */
	cmd = 0;
	memcpy(ram + DATA, &cmd, 4);
	offer(2, DATA, 4, false);
	kick(2);
	cr_assert_eq(cfg_rd(8), BALLOON_HINT_CMD_DONE);
	virtio_balloon_get_info(dev, &in);
	cr_assert_eq(in.hint_host_cmd, 1);
	cr_assert(in.hint_guest_cmd_valid);
	cr_assert_eq(in.hint_guest_cmd, 0);
	cr_assert_eq(virtio_balloon_hint_start(dev, false, err, sizeof(err)), 0);
	cr_assert_eq(cfg_rd(8), 3);
	cr_assert_eq(virtio_balloon_hint_stop(dev, err, sizeof(err)), 0);
	cr_assert_eq(cfg_rd(8), 1);
}

Test(balloon, hinting_not_configured_is_refused)
{
	char err[256];

	cr_assert_neq(virtio_balloon_hint_start(dev, true, err, sizeof(err)), 0);
	cr_assert(strstr(err, "not enabled"), "%s", err);
}

Test(balloon, driver_without_stats_numbers_its_queues)
{
	/* a driver that does not take STATS_VQ: reporting is queue 2 */
	struct vring_used_elem e;

	wr(VIRTIO_MMIO_STATUS, 0);
	wr(VIRTIO_MMIO_STATUS, 1);
	wr(VIRTIO_MMIO_STATUS, 3);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 1u << VIRTIO_BALLOON_F_REPORTING);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 1);
	wr(VIRTIO_MMIO_STATUS, 0xb);
	memset(avail_idx, 0, sizeof(avail_idx));
	memset(used_seen, 0, sizeof(used_seen));
	memset(ram + 0x10000, 0, 0x20000);
	for (int q = 0; q < 3; q++) {
		wr(VIRTIO_MMIO_QUEUE_SEL, q);
		wr(VIRTIO_MMIO_QUEUE_NUM, QSIZE);
		wr(VIRTIO_MMIO_QUEUE_DESC_LOW, DESC(q));
		wr(VIRTIO_MMIO_QUEUE_AVAIL_LOW, AVAIL(q));
		wr(VIRTIO_MMIO_QUEUE_USED_LOW, USED(q));
		wr(VIRTIO_MMIO_QUEUE_READY, 1);
	}
	wr(VIRTIO_MMIO_STATUS, 0xf);
	memset(ram + FREE, 0x44, 4096);
	offer(2, FREE, 4096, true);
	kick(2);
	cr_assert(take_used(2, &e));
	cr_assert_eq(ram[FREE], 0);
}

Test(balloon_config, cli_and_json)
{
	struct balloon_config b;
	char err[256];

	cr_assert_eq(balloon_config_parse("amount_mib=64,deflate_on_oom=on,stats_interval_s=5,free_page_reporting=on",
					  &b, err, sizeof(err)), 0, "%s", err);
	cr_assert(b.present && b.deflate_on_oom && b.free_page_reporting);
	cr_assert_not(b.free_page_hinting);
	cr_assert_eq(b.amount_mib, 64);
	cr_assert_eq(b.stats_interval_s, 5);
	cr_assert_neq(balloon_config_parse("amount_mib=-1", &b, err, sizeof(err)), 0);
	cr_assert_neq(balloon_config_parse("amount_mib=1,amount_mib=2", &b, err, sizeof(err)), 0);
	cr_assert_neq(balloon_config_parse("deflate_on_oom=yes", &b, err, sizeof(err)), 0);
	cr_assert_neq(balloon_config_parse("size=3", &b, err, sizeof(err)), 0);
	cr_assert_neq(balloon_config_parse("amount_mib=1,", &b, err, sizeof(err)), 0);
	cr_assert_neq(balloon_config_parse("", &b, err, sizeof(err)), 0);
	/* ranges against the machine */
	cr_assert_eq(balloon_config_parse("amount_mib=129", &b, err, sizeof(err)), 0);
	cr_assert_neq(vm_config_validate_balloon(&b, 128, err, sizeof(err)), 0);
	cr_assert(strstr(err, "larger than the guest's RAM"), "%s", err);
	cr_assert_eq(balloon_config_parse("stats_interval_s=65536", &b, err, sizeof(err)), 0);
	cr_assert_neq(vm_config_validate_balloon(&b, 128, err, sizeof(err)), 0);
	cr_assert(strstr(err, "out of range"), "%s", err);

	json_t *j = json_loads("{\"amount_mib\": 10, \"deflate_on_oom\": false, \"stats_polling_interval_s\": 3, \"free_page_hinting\": true}", 0, NULL);
	cr_assert_eq(balloon_from_json(j, &b, err, sizeof(err)), 0, "%s", err);
	json_decref(j);
	cr_assert(b.free_page_hinting && !b.free_page_reporting);
	cr_assert_eq(b.stats_interval_s, 3);
	json_t *o = balloon_to_json(&b);
	char *s = json_dumps(o, JSON_COMPACT);
	cr_assert(strstr(s, "\"amount_mib\":10"), "%s", s);
	free(s);
	json_decref(o);
	j = json_loads("{\"amount_mib\": 10}", 0, NULL);
	cr_assert_neq(balloon_from_json(j, &b, err, sizeof(err)), 0);
	cr_assert(strstr(err, "deflate_on_oom"), "%s", err);
	json_decref(j);
	j = json_loads("{\"amount_mib\": 1, \"deflate_on_oom\": true, \"stats_polling_interval_s\": 70000}", 0, NULL);
	cr_assert_neq(balloon_from_json(j, &b, err, sizeof(err)), 0);
	json_decref(j);
	j = json_loads("{\"amount_mib\": 1, \"bogus\": 1}", 0, NULL);
	cr_assert_neq(balloon_from_json(j, &b, err, sizeof(err)), 0);
	json_decref(j);
}

Test(balloon_config, too_large_a_balloon_is_refused_at_creation)
{
	struct balloon_config c = { .present = true, .amount_mib = 17 };
	struct virtio_dev *d = NULL;
	char err[256];

	cr_assert_neq(virtio_balloon_create(&c, &mem, &d, err, sizeof(err)), 0);
	cr_assert(strstr(err, "larger"), "%s", err);
}
