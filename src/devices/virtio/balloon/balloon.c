// SPDX-License-Identifier: Apache-2.0
/* virtio-balloon: config space, inflate, deflate, free page reporting and
 * hinting, and what the API asks of it (see balloon.h). */
#include "devices/virtio/balloon/balloon.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <linux/virtio_balloon.h>
#include <linux/virtio_ids.h>

#include "devices/virtio/balloon/balloon_priv.h"
#include "devices/virtio/mmio.h"
#include "util/log.h"
#include "util/metrics.h"

#define CONFIG_SIZE 16 /* num_pages, actual, free_page_hint_cmd_id, poison_val */
#define MIB_PAGES   256u

static bool has_feature(const struct virtio_balloon *b, unsigned bit)
{
	return b->vdev.driver_features & (1ULL << bit);
}

void balloon_assign_roles(struct virtio_balloon *b, uint64_t features)
{
	int q = 0;

	memset(b->role, 0, sizeof(b->role));
	b->role[q++] = BQ_INFLATE;
	b->role[q++] = BQ_DEFLATE;
	/* Linux numbers only the queues of the features it took */
	if (features & (1ULL << VIRTIO_BALLOON_F_STATS_VQ))
		b->role[q++] = BQ_STATS;
	if (features & (1ULL << VIRTIO_BALLOON_F_FREE_PAGE_HINT))
		b->role[q++] = BQ_HINT;
	if (features & (1ULL << VIRTIO_BALLOON_F_REPORTING))
		b->role[q++] = BQ_REPORT;
}

int balloon_queue_of(const struct virtio_balloon *b, enum balloon_role role)
{
	for (int i = 0; i < b->ops.nr_queues; i++)
		if (b->role[i] == role)
			return i;
	return -1;
}

static void count(uint64_t *local, uint64_t *metric, uint64_t n)
{
	*local += n;
	metrics_add(metric, n);
}

/* --- inflate and deflate --- */

/* One PFN given to the host: [*run_start, +*run_len) collects neighbours
 * so that one call discards them. */
static void flush_run(struct virtio_balloon *b, uint64_t *run_gpa,
		      uint64_t *run_len)
{
	if (*run_len && balloon_discard(b, *run_gpa, *run_len))
		count(&b->n.discard_fails, b->m.discard_fails, 1);
	*run_len = 0;
}

static void inflate_pfn(struct virtio_balloon *b, uint32_t pfn,
			uint64_t *run_gpa, uint64_t *run_len)
{
	uint64_t gpa = (uint64_t)pfn << VIRTIO_BALLOON_PFN_SHIFT, idx;

	if (!balloon_page_index(b->vdev.mem, gpa, &idx)) {
		count(&b->n.bad_pfns, b->m.bad_pfns, 1);
		return;
	}
	if (balloon_held(b, idx)) {
		count(&b->n.double_inflates, b->m.double_inflates, 1);
		return;
	}
	balloon_set_held(b, idx, true);
	b->nr_held++;
	count(&b->n.inflated, b->m.inflated, 1);
	if (*run_len && *run_gpa + *run_len == gpa) {
		*run_len += BALLOON_PAGE;
		return;
	}
	flush_run(b, run_gpa, run_len);
	*run_gpa = gpa;
	*run_len = BALLOON_PAGE;
}

static void deflate_pfn(struct virtio_balloon *b, uint32_t pfn)
{
	uint64_t gpa = (uint64_t)pfn << VIRTIO_BALLOON_PFN_SHIFT, idx;

	if (!balloon_page_index(b->vdev.mem, gpa, &idx) ||
	    !balloon_held(b, idx)) {
		count(&b->n.bad_deflates, b->m.bad_deflates, 1);
		return;
	}
	/* the page was discarded on inflate: it comes back zeroed */
	balloon_set_held(b, idx, false);
	b->nr_held--;
	count(&b->n.deflated, b->m.deflated, 1);
}

/* A chain of le32 PFNs (its readable bytes), at most
 * BALLOON_MAX_PFNS_PER_CHAIN of them. */
static uint32_t pfns_serve(struct virtio_dev *dev, const struct virtq_chain *c,
			   uint64_t *work, bool inflate)
{
	struct virtio_balloon *b = to_balloon(dev);
	uint64_t n = c->read_len / 4, run_gpa = 0, run_len = 0;
	uint32_t pfns[256];

	if (n > BALLOON_MAX_PFNS_PER_CHAIN) {
		count(&b->n.bad_pfns, b->m.bad_pfns,
		      n - BALLOON_MAX_PFNS_PER_CHAIN);
		n = BALLOON_MAX_PFNS_PER_CHAIN;
	}
	for (uint64_t done = 0; done < n;) {
		uint64_t k = n - done < 256 ? n - done : 256;

		k = virtq_chain_read(c, done * 4, pfns, k * 4) / 4;
		if (!k)
			break;
		for (uint64_t i = 0; i < k; i++) {
			uint32_t pfn = le32toh(pfns[i]);

			if (inflate)
				inflate_pfn(b, pfn, &run_gpa, &run_len);
			else
				deflate_pfn(b, pfn);
		}
		done += k;
	}
	flush_run(b, &run_gpa, &run_len);
	/* a page discarded costs about as much as a page copied */
	*work += n * (inflate ? BALLOON_PAGE : 4);
	return 0;
}

static uint32_t inflate_serve(struct virtio_dev *dev,
			      const struct virtq_chain *c, uint64_t *work)
{
	return pfns_serve(dev, c, work, true);
}

static uint32_t deflate_serve(struct virtio_dev *dev,
			      const struct virtq_chain *c, uint64_t *work)
{
	return pfns_serve(dev, c, work, false);
}

/* --- free page reporting and hinting: ranges in writable buffers --- */

static void discard_ranges(struct virtio_balloon *b,
			   const struct virtq_chain *c, uint64_t *local,
			   uint64_t *metric, uint64_t *work)
{
	for (int i = c->nr_read; i < c->nr_segs; i++) {
		const struct virtq_seg *s = &c->segs[i];
		uint64_t pages = s->len / BALLOON_PAGE;

		*work += s->len;
		if (balloon_keep_contents(b)) {
			count(&b->n.poison_kept, b->m.poison_kept, pages);
			continue;
		}
		if (balloon_discard(b, s->gpa, s->len))
			count(&b->n.discard_fails, b->m.discard_fails, 1);
		else
			count(local, metric, pages);
	}
}

static uint32_t report_serve(struct virtio_dev *dev,
			     const struct virtq_chain *c, uint64_t *work)
{
	struct virtio_balloon *b = to_balloon(dev);

	discard_ranges(b, c, &b->n.reported, b->m.reported, work);
	return 0;
}

static void set_hint_cmd(struct virtio_balloon *b, uint32_t cmd)
{
	b->hint.host_cmd = cmd;
	virtio_dev_config_changed(&b->vdev);
}

/* A command id (a readable 4-byte buffer) or hinted ranges (writable
 * buffers, taken only while the guest answers the running command). */
static uint32_t hint_serve(struct virtio_dev *dev, const struct virtq_chain *c,
			   uint64_t *work)
{
	struct virtio_balloon *b = to_balloon(dev);
	uint32_t cmd;

	if (c->read_len == 4 && virtq_chain_read(c, 0, &cmd, 4) == 4) {
		cmd = le32toh(cmd);
		b->hint.guest_cmd = cmd;
		b->hint.guest_cmd_valid = true;
		/* the guest finished (STOP; DONE is not its to send) */
		if ((cmd == BALLOON_HINT_CMD_STOP ||
		     cmd == BALLOON_HINT_CMD_DONE) &&
		    b->hint.ack_on_stop &&
		    b->hint.host_cmd > BALLOON_HINT_CMD_DONE)
			set_hint_cmd(b, BALLOON_HINT_CMD_DONE);
	}
	if (c->nr_segs > c->nr_read && b->hint.host_cmd > BALLOON_HINT_CMD_DONE &&
	    b->hint.guest_cmd_valid && b->hint.guest_cmd == b->hint.host_cmd)
		discard_ranges(b, c, &b->n.hinted, b->m.hinted, work);
	return 0;
}

static void balloon_queue_notify(struct virtio_dev *dev, unsigned int qidx)
{
	struct virtio_balloon *b = to_balloon(dev);

	switch (qidx < VIRTIO_MAX_QUEUES ? b->role[qidx] : BQ_NONE) {
	case BQ_INFLATE:
		virtio_serve_queue(dev, qidx, &b->chain, inflate_serve);
		break;
	case BQ_DEFLATE:
		virtio_serve_queue(dev, qidx, &b->chain, deflate_serve);
		break;
	case BQ_STATS:
		balloon_stats_notify(b, qidx);
		break;
	case BQ_HINT:
		virtio_serve_queue(dev, qidx, &b->chain, hint_serve);
		break;
	case BQ_REPORT:
		virtio_serve_queue(dev, qidx, &b->chain, report_serve);
		break;
	default:
		dev->ignored_accesses++; /* a queue of no feature taken */
		break;
	}
}

/* --- config space --- */

static void config_image(const struct virtio_balloon *b, uint8_t *img)
{
	uint32_t v[4] = { htole32(b->num_pages), htole32(b->actual),
			  htole32(b->hint.host_cmd), htole32(b->poison_val) };

	memcpy(img, v, CONFIG_SIZE);
}

static void balloon_config_read(struct virtio_dev *dev, uint32_t offset,
				uint8_t *data, uint32_t len)
{
	uint8_t img[CONFIG_SIZE];

	config_image(to_balloon(dev), img);
	memcpy(data, img + offset, len);
}

/* The driver writes `actual` and `poison_val`; the rest is the host's. */
static void balloon_config_write(struct virtio_dev *dev, uint32_t offset,
				 const uint8_t *data, uint32_t len)
{
	struct virtio_balloon *b = to_balloon(dev);
	uint8_t img[CONFIG_SIZE];
	uint32_t v;

	config_image(b, img);
	for (uint32_t i = 0; i < len; i++) {
		uint32_t at = offset + i;

		if ((at >= 4 && at < 8) || at >= 12)
			img[at] = data[i];
		else
			dev->ignored_accesses++;
	}
	memcpy(&v, img + 4, 4);
	b->actual = le32toh(v);
	memcpy(&v, img + 12, 4);
	b->poison_val = le32toh(v);
}

/* --- life cycle --- */

static int balloon_activate(struct virtio_dev *dev)
{
	struct virtio_balloon *b = to_balloon(dev);

	balloon_assign_roles(b, dev->driver_features);
	if (b->config_pending) {
		b->config_pending = false;
		virtio_dev_config_changed(dev);
	}
	return balloon_stats_activate(b);
}

static void balloon_deactivate(struct virtio_dev *dev)
{
	balloon_stats_deactivate(to_balloon(dev));
}

/* vCPU thread, memory only. The driver is gone: what it gave back is
 * free guest memory again (already zero), and its buffers are void. */
static void balloon_reset(struct virtio_dev *dev)
{
	struct virtio_balloon *b = to_balloon(dev);

	memset(b->held, 0, (b->ram_pages + 63) / 64 * sizeof(uint64_t));
	b->nr_held = 0;
	b->actual = 0;
	b->poison_val = 0;
	b->stats.have_buf = false;
	b->hint.host_cmd = BALLOON_HINT_CMD_STOP;
	b->hint.guest_cmd_valid = false;
	b->config_pending = false;
	balloon_assign_roles(b, dev->device_features);
}

static void balloon_destroy(struct virtio_dev *dev)
{
	struct virtio_balloon *b = to_balloon(dev);

	if (b->stats_timer_fd >= 0)
		close(b->stats_timer_fd);
	free(b->held);
	virtio_dev_uninit(dev);
	free(b);
}

static const struct virtio_dev_ops balloon_ops_template = {
	.name = "balloon",
	.device_id = VIRTIO_ID_BALLOON,
	.queue_max_size = BALLOON_QUEUE_SIZE,
	.config_size = CONFIG_SIZE,
	.config_read = balloon_config_read,
	.config_write = balloon_config_write,
	.activate = balloon_activate,
	.deactivate = balloon_deactivate,
	.queue_notify = balloon_queue_notify,
	.reset = balloon_reset,
	.save = balloon_save,
	.restore = balloon_restore,
	.destroy = balloon_destroy,
};

bool virtio_balloon_is(const struct virtio_dev *dev)
{
	return dev && dev->ops && dev->ops->destroy == balloon_destroy;
}

int virtio_balloon_create(const struct balloon_config *cfg,
			  const struct guest_memory *mem,
			  struct virtio_dev **out, char *err, size_t errlen)
{
	struct virtio_balloon *b = calloc(1, sizeof(*b));
	uint64_t features = 0;
	int ret;

	if (!b) {
		snprintf(err, errlen, "virtio-balloon: out of memory");
		return -ENOMEM;
	}
	b->cfg = *cfg;
	b->stats_timer_fd = -1;
	b->ops = balloon_ops_template;
	b->ops.nr_queues = 2;
	if (cfg->deflate_on_oom)
		features |= 1ULL << VIRTIO_BALLOON_F_DEFLATE_ON_OOM;
	if (cfg->stats_interval_s) {
		features |= 1ULL << VIRTIO_BALLOON_F_STATS_VQ;
		b->ops.nr_queues++;
	}
	if (cfg->free_page_hinting) {
		features |= 1ULL << VIRTIO_BALLOON_F_FREE_PAGE_HINT;
		b->ops.nr_queues++;
	}
	if (cfg->free_page_reporting) {
		features |= 1ULL << VIRTIO_BALLOON_F_REPORTING;
		b->ops.nr_queues++;
	}
	/* A guest that poisons free pages says so; without this feature
	 * Linux turns reporting off rather than lose its pattern. */
	if (cfg->free_page_reporting || cfg->free_page_hinting)
		features |= 1ULL << VIRTIO_BALLOON_F_PAGE_POISON;
	b->ram_pages = mem->total / BALLOON_PAGE;
	b->held = calloc((b->ram_pages + 63) / 64 + 1, sizeof(uint64_t));
	if (!b->held) {
		free(b);
		snprintf(err, errlen, "virtio-balloon: out of memory");
		return -ENOMEM;
	}
	if ((uint64_t)cfg->amount_mib * MIB_PAGES > b->ram_pages) {
		free(b->held);
		free(b);
		snprintf(err, errlen,
			 "balloon: amount_mib %u is larger than the guest's RAM (%llu MiB)",
			 cfg->amount_mib,
			 (unsigned long long)(mem->total >> 20));
		return -EINVAL;
	}
	b->num_pages = cfg->amount_mib * MIB_PAGES;
	b->stats.interval_s = cfg->stats_interval_s;
	b->stats_timer_fd = timerfd_create(CLOCK_MONOTONIC,
					   TFD_CLOEXEC | TFD_NONBLOCK);
	if (b->stats_timer_fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "virtio-balloon: timerfd: %s",
			 strerror(errno));
		free(b->held);
		free(b);
		return ret;
	}
	ret = virtio_dev_init(&b->vdev, &b->ops, mem, features);
	if (ret) {
		snprintf(err, errlen, "virtio-balloon: %s", strerror(-ret));
		close(b->stats_timer_fd);
		free(b->held);
		free(b);
		return ret;
	}
	balloon_assign_roles(b, b->vdev.device_features);
#define M(f) b->m.f = metrics_counter("balloon", #f)
	M(inflated);
	M(deflated);
	M(bad_pfns);
	M(double_inflates);
	M(bad_deflates);
	M(reported);
	M(hinted);
	M(poison_kept);
	M(stats_updates);
	M(stats_extra);
	M(discard_fails);
#undef M
	*out = &b->vdev;
	return 0;
}

struct virtio_dev *virtio_balloon_find(const struct device_list *l)
{
	for (int i = 0; i < l->nr; i++) {
		struct virtio_dev *dev = virtio_mmio_device_of(&l->items[i]);

		if (virtio_balloon_is(dev))
			return dev;
	}
	return NULL;
}

uint64_t virtio_balloon_held_pages(struct virtio_dev *dev)
{
	uint64_t n;

	if (!virtio_balloon_is(dev))
		return 0;
	pthread_mutex_lock(&dev->lock);
	n = to_balloon(dev)->nr_held;
	pthread_mutex_unlock(&dev->lock);
	return n;
}

const uint64_t *virtio_balloon_held_bitmap(struct virtio_dev *dev,
					   uint64_t *nr_pages)
{
	if (!virtio_balloon_is(dev))
		return NULL;
	*nr_pages = to_balloon(dev)->ram_pages;
	return to_balloon(dev)->held;
}

static bool driver_up(const struct virtio_dev *dev)
{
	return virtio_dev_is_live(dev);
}

int virtio_balloon_set_target(struct virtio_dev *dev, uint32_t amount_mib,
			      char *err, size_t errlen)
{
	struct virtio_balloon *b = to_balloon(dev);
	int ret = 0;

	pthread_mutex_lock(&dev->lock);
	if ((uint64_t)amount_mib * MIB_PAGES > b->ram_pages) {
		snprintf(err, errlen,
			 "balloon: amount_mib %u is larger than the guest's RAM (%llu MiB)",
			 amount_mib,
			 (unsigned long long)(b->ram_pages / MIB_PAGES));
		ret = -EINVAL;
	} else {
		b->num_pages = amount_mib * MIB_PAGES;
		b->cfg.amount_mib = amount_mib;
		virtio_dev_config_changed(dev);
	}
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

int virtio_balloon_set_stats_interval(struct virtio_dev *dev,
				      uint32_t interval_s, char *err,
				      size_t errlen)
{
	struct virtio_balloon *b = to_balloon(dev);
	int ret = 0;

	pthread_mutex_lock(&dev->lock);
	if (interval_s == b->stats.interval_s) {
		/* nothing changes */
	} else if (interval_s > CONFIG_BALLOON_MAX_INTERVAL_S) {
		snprintf(err, errlen,
			 "balloon: stats_polling_interval_s %u is out of range (1 to %u seconds)",
			 interval_s, CONFIG_BALLOON_MAX_INTERVAL_S);
		ret = -EINVAL;
	} else if (!b->stats.interval_s || !interval_s) {
		snprintf(err, errlen,
			 "Cannot enable/disable the statistics after boot (they are %s: the interval was %s when the balloon was configured).",
			 b->stats.interval_s ? "on" : "off",
			 b->stats.interval_s ? "not 0" : "0");
		ret = -EINVAL;
	} else {
		b->stats.interval_s = interval_s;
		b->cfg.stats_interval_s = interval_s;
		if (driver_up(dev)) {
			if (balloon_stats_request(b))
				virtio_dev_signal_used(
					dev, virtio_dev_queue(
						     dev, (unsigned)balloon_queue_of(
								  b, BQ_STATS)));
			balloon_stats_arm(b);
		}
	}
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

/* Hinting needs the feature, and a driver that took it. */
static int hint_usable(struct virtio_balloon *b, char *err, size_t errlen)
{
	if (!b->cfg.free_page_hinting) {
		snprintf(err, errlen,
			 "Free page hinting was not enabled when the balloon was configured.");
		return -EINVAL;
	}
	if (!driver_up(&b->vdev) ||
	    !has_feature(b, VIRTIO_BALLOON_F_FREE_PAGE_HINT)) {
		snprintf(err, errlen,
			 "The guest's balloon driver is not up (or did not take free page hinting).");
		return -EINVAL;
	}
	return 0;
}

int virtio_balloon_hint_start(struct virtio_dev *dev, bool ack_on_stop,
			      char *err, size_t errlen)
{
	struct virtio_balloon *b = to_balloon(dev);
	int ret;

	pthread_mutex_lock(&dev->lock);
	ret = hint_usable(b, err, errlen);
	if (!ret) {
		uint32_t id = b->hint.last_cmd_id + 1;

		if (id <= BALLOON_HINT_CMD_DONE)
			id = BALLOON_HINT_CMD_DONE + 1; /* 0 and 1 are fixed */
		b->hint.last_cmd_id = id;
		b->hint.ack_on_stop = ack_on_stop;
		set_hint_cmd(b, id);
	}
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

int virtio_balloon_hint_stop(struct virtio_dev *dev, char *err, size_t errlen)
{
	struct virtio_balloon *b = to_balloon(dev);
	int ret;

	pthread_mutex_lock(&dev->lock);
	ret = hint_usable(b, err, errlen);
	if (!ret)
		set_hint_cmd(b, BALLOON_HINT_CMD_DONE);
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

void virtio_balloon_get_info(struct virtio_dev *dev,
			     struct virtio_balloon_info *info)
{
	struct virtio_balloon *b = to_balloon(dev);

	memset(info, 0, sizeof(*info));
	pthread_mutex_lock(&dev->lock);
	info->cfg = b->cfg;
	info->target_pages = b->num_pages;
	info->actual_pages = b->actual;
	info->held_pages = b->nr_held;
	memcpy(info->stats, b->stats.val, sizeof(info->stats));
	info->stats_seen = b->stats.seen;
	info->stats_updates = b->n.stats_updates;
	info->hint_host_cmd = b->hint.host_cmd;
	info->hint_guest_cmd = b->hint.guest_cmd;
	info->hint_guest_cmd_valid = b->hint.guest_cmd_valid;
	info->driver_up = driver_up(dev);
	pthread_mutex_unlock(&dev->lock);
}

void virtio_balloon_get_counters(struct virtio_dev *dev,
				 struct virtio_balloon_counters *c)
{
	pthread_mutex_lock(&dev->lock);
	*c = to_balloon(dev)->n;
	pthread_mutex_unlock(&dev->lock);
}

int virtio_balloon_stats_timer_fd(struct virtio_dev *dev)
{
	return virtio_balloon_is(dev) ? to_balloon(dev)->stats_timer_fd : -1;
}
