/* SPDX-License-Identifier: Apache-2.0 */
/* The balloon's state, shared by its files (balloon.c the queues and the
 * API, balloon_stats.c statistics, balloon_pages.c held pages and
 * discarding, balloon_persist.c snapshots). Everything under vdev.lock. */
#ifndef FIGMENT_DEVICES_VIRTIO_BALLOON_BALLOON_PRIV_H
#define FIGMENT_DEVICES_VIRTIO_BALLOON_BALLOON_PRIV_H

#include "devices/virtio/balloon/balloon.h"

#define BALLOON_PAGE 4096ULL

/* What a queue index serves, from the negotiated features. */
enum balloon_role {
	BQ_NONE,
	BQ_INFLATE,
	BQ_DEFLATE,
	BQ_STATS,
	BQ_HINT,
	BQ_REPORT,
};

struct balloon_hint {
	uint32_t host_cmd;    /* what config space says */
	uint32_t last_cmd_id; /* the last run's id */
	uint32_t guest_cmd;   /* the last id the guest sent */
	bool guest_cmd_valid;
	bool ack_on_stop;
};

struct balloon_stats {
	uint64_t val[BALLOON_NR_STATS];
	uint32_t seen; /* bit per tag */
	bool have_buf; /* holding the guest's buffer */
	uint16_t head; /* ... this chain */
	uint32_t interval_s;
};

struct virtio_balloon {
	struct virtio_dev vdev; /* first: the transport's view */
	struct virtio_dev_ops ops; /* nr_queues depends on the features */
	struct virtq_chain chain;  /* scratch */
	struct balloon_config cfg;
	enum balloon_role role[VIRTIO_MAX_QUEUES];

	/* config space */
	uint32_t num_pages, actual, poison_val;

	/* held pages: bit per page of RAM in memory-file order */
	uint64_t *held;
	uint64_t ram_pages, nr_held;
	/* per RAM region: MADV_REMOVE works there (shared RAM): 1 yes,
	 * -1 no, 0 not tried */
	int remove_ok[GUEST_MEMORY_MAX_REGIONS];

	struct balloon_stats stats;
	int stats_timer_fd;
	struct balloon_hint hint;
	bool config_pending; /* tell the driver once it is active again */

	struct virtio_balloon_counters n;
	struct {
		uint64_t *inflated, *deflated, *bad_pfns, *double_inflates,
			*bad_deflates, *reported, *hinted, *poison_kept,
			*stats_updates, *stats_extra, *discard_fails;
	} m;
};

static inline struct virtio_balloon *to_balloon(struct virtio_dev *dev)
{
	return (struct virtio_balloon *)dev;
}

/* Queue roles from @features (the negotiated ones). */
void balloon_assign_roles(struct virtio_balloon *b, uint64_t features);
/* The queue index of @role, or -1. */
int balloon_queue_of(const struct virtio_balloon *b, enum balloon_role role);

/* balloon_pages.c */
/* The page index of @gpa in memory-file order; false when [gpa, gpa +
 * 4 KiB) is not wholly inside one RAM region. */
bool balloon_page_index(const struct guest_memory *mem, uint64_t gpa,
			uint64_t *idx);
static inline bool balloon_held(const struct virtio_balloon *b, uint64_t i)
{
	return b->held[i / 64] & (1ULL << (i % 64));
}
static inline void balloon_set_held(struct virtio_balloon *b, uint64_t i,
				    bool on)
{
	if (on)
		b->held[i / 64] |= 1ULL << (i % 64);
	else
		b->held[i / 64] &= ~(1ULL << (i % 64));
}
/* Gives the whole pages of [gpa, gpa + len) back to the host (a range
 * inside one RAM region); they read as zeroes afterwards. 0 or a negative
 * errno (counted by the caller). */
int balloon_discard(struct virtio_balloon *b, uint64_t gpa, uint64_t len);
/* Poisoned pages must keep their contents (see balloon.h). */
bool balloon_keep_contents(const struct virtio_balloon *b);

/* balloon_stats.c */
void balloon_stats_notify(struct virtio_balloon *b, unsigned int qidx);
/* Gives the held buffer back (the driver refills it); true if it did. */
bool balloon_stats_request(struct virtio_balloon *b);
int balloon_stats_activate(struct virtio_balloon *b);
void balloon_stats_deactivate(struct virtio_balloon *b);
/* Arms the timer for the interval (0: disarmed). */
void balloon_stats_arm(struct virtio_balloon *b);

/* balloon_persist.c */
int balloon_save(struct virtio_dev *dev, struct snap_buf *buf);
int balloon_restore(struct virtio_dev *dev, struct snap_buf *buf);

#endif
