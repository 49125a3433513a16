/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-balloon (device id 5, virtio 1.2 section 5.5), as Firecracker has
 * it: the host sets a target (config num_pages), the guest's driver gives
 * pages back through the inflate queue and takes them back through the
 * deflate queue.
 *
 * Queues, in this order, each only when its feature was negotiated:
 * inflate, deflate, statistics (STATS_VQ), free page hinting
 * (FREE_PAGE_HINT), free page reporting (REPORTING). Config space: le32
 * num_pages, actual, free_page_hint_cmd_id, poison_val.
 *
 * Everything from the guest is checked: an inflated PFN outside guest RAM,
 * or one the balloon already holds, is ignored and counted; a deflated PFN
 * the balloon does not hold likewise. Held pages are a bitmap over guest
 * RAM (in memory-file order: see memory.h) and are discarded on inflate
 * (balloon_pages.c: MADV_DONTNEED, MADV_REMOVE for shared RAM, anonymous
 * pages mapped over RAM mapped from a snapshot file), so a deflated page
 * comes back zeroed on its next touch. Reported free ranges (REPORTING)
 * and hinted ones (FREE_PAGE_HINT, Firecracker's cmd_id protocol) are
 * discarded and their buffers returned; with PAGE_POISON negotiated and a
 * non-zero poison value nothing is discarded (the guest expects its
 * pattern back, not zeroes). Statistics (balloon_stats.c): the device
 * keeps the guest's one stats buffer and gives it back every interval
 * (a timerfd on the VMM's loop) to ask for fresh values; extra buffers
 * are returned at once and counted, so a flood costs a bounded amount.
 */
#ifndef FIGMENT_DEVICES_VIRTIO_BALLOON_BALLOON_H
#define FIGMENT_DEVICES_VIRTIO_BALLOON_BALLOON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/vm_config.h"
#include "devices/device.h"
#include "devices/virtio/virtio_dev.h"
#include "vstate/memory.h"

#define BALLOON_QUEUE_SIZE	 256
#define BALLOON_MAX_PFNS_PER_CHAIN 4096 /* 16 MiB of pages; the rest ignored */
#define BALLOON_NR_STATS	 16 /* the tags Firecracker reports (0-15) */
#define BALLOON_MAX_STATS_LEN	 (256 * 10) /* larger buffers are not read */

/* Firecracker's hinting command ids: 0 and 1 are fixed, runs count from 2 */
#define BALLOON_HINT_CMD_STOP 0u
#define BALLOON_HINT_CMD_DONE 1u

/* What the API reports (GET /balloon, /balloon/statistics,
 * /balloon/hinting/status). */
struct virtio_balloon_info {
	struct balloon_config cfg; /* amount_mib: the target now */
	uint32_t target_pages, actual_pages; /* config space */
	uint64_t held_pages;		     /* in the bitmap */
	uint64_t stats[BALLOON_NR_STATS];
	uint32_t stats_seen; /* bit per tag the guest has reported */
	uint64_t stats_updates;
	uint32_t hint_host_cmd, hint_guest_cmd;
	bool hint_guest_cmd_valid;
	bool driver_up; /* DRIVER_OK, not reset */
};

/* Device counters (also in the metrics, group "balloon"). */
struct virtio_balloon_counters {
	uint64_t inflated, deflated;	/* pages */
	uint64_t bad_pfns;		/* outside RAM, ignored */
	uint64_t double_inflates;	/* already held, ignored */
	uint64_t bad_deflates;		/* not held, ignored */
	uint64_t reported, hinted;	/* pages discarded */
	uint64_t poison_kept;		/* pages not discarded: poisoned */
	uint64_t stats_updates, stats_extra; /* buffers read; returned early */
	uint64_t discard_fails;
};

/*
 * Creates the balloon of @cfg over @mem (which must outlive it), with its
 * statistics timer (a timerfd: made here, before the VMM's seccomp filter
 * goes on). *@out (free with virtio_dev_destroy()). 0, or a negative errno
 * with a reason in @err.
 */
int virtio_balloon_create(const struct balloon_config *cfg,
			  const struct guest_memory *mem,
			  struct virtio_dev **out, char *err, size_t errlen);

bool virtio_balloon_is(const struct virtio_dev *dev);

/* The balloon in @l, or NULL. */
struct virtio_dev *virtio_balloon_find(const struct device_list *l);

/* Pages the balloon holds now (takes the lock). */
uint64_t virtio_balloon_held_pages(struct virtio_dev *dev);

/* The held-page bitmap, one bit per 4 KiB page of guest RAM in
 * memory-file order, and its size in pages; for the snapshot writer,
 * with the VM paused (no lock: nothing changes it then). */
const uint64_t *virtio_balloon_held_bitmap(struct virtio_dev *dev,
					   uint64_t *nr_pages);

/* A new target (PATCH /balloon): at most guest RAM. Tells a driver that
 * is up (config interrupt); one that comes up later reads it. 0 or
 * -EINVAL with the reason in @err. */
int virtio_balloon_set_target(struct virtio_dev *dev, uint32_t amount_mib,
			      char *err, size_t errlen);

/* A new statistics interval (PATCH /balloon/statistics): statistics
 * cannot be turned on or off after boot (Firecracker's rule); the next
 * statistics are asked for at once. 0 or -EINVAL. */
int virtio_balloon_set_stats_interval(struct virtio_dev *dev,
				      uint32_t interval_s, char *err,
				      size_t errlen);

/* Free page hinting (Firecracker's protocol): start a run with a new
 * command id (@ack_on_stop: send DONE when the guest says it finished),
 * or stop it (DONE: the guest may use the hinted pages again). 0 or
 * -EINVAL (hinting not enabled, driver not up). */
int virtio_balloon_hint_start(struct virtio_dev *dev, bool ack_on_stop,
			      char *err, size_t errlen);
int virtio_balloon_hint_stop(struct virtio_dev *dev, char *err,
			     size_t errlen);

void virtio_balloon_get_info(struct virtio_dev *dev,
			     struct virtio_balloon_info *info);
void virtio_balloon_get_counters(struct virtio_dev *dev,
				 struct virtio_balloon_counters *c);

/* The statistics timer's fd (tests fire it by hand). */
int virtio_balloon_stats_timer_fd(struct virtio_dev *dev);

#endif
