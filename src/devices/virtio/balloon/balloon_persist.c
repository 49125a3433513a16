// SPDX-License-Identifier: Apache-2.0
/*
 * The balloon's own state in a snapshot, after the common virtio part:
 * target and actual, the poison value, the held-page bitmap (checked
 * against this guest's RAM and its count), the statistics (interval, the
 * last values, the buffer held), the hinting state. A restored balloon
 * keeps its pages; a hinting run is ended (DONE), as Firecracker does, so
 * the guest takes its hinted pages back.
 */
#include <errno.h>
#include <string.h>

#include "devices/virtio/balloon/balloon_priv.h"
#include "persist/snapshot_file.h"

#define BALLOON_STATE_VERSION 1

int balloon_save(struct virtio_dev *dev, struct snap_buf *buf)
{
	struct virtio_balloon *b = to_balloon(dev);

	snap_put_u32(buf, BALLOON_STATE_VERSION);
	snap_put_u32(buf, b->num_pages);
	snap_put_u32(buf, b->actual);
	snap_put_u32(buf, b->poison_val);
	snap_put_u32(buf, b->cfg.amount_mib);
	snap_put_u32(buf, b->stats.interval_s);
	snap_put_u8(buf, b->stats.have_buf);
	snap_put_u16(buf, b->stats.head);
	snap_put_u32(buf, b->stats.seen);
	for (int i = 0; i < BALLOON_NR_STATS; i++)
		snap_put_u64(buf, b->stats.val[i]);
	snap_put_u32(buf, b->hint.host_cmd);
	snap_put_u32(buf, b->hint.last_cmd_id);
	snap_put_u32(buf, b->hint.guest_cmd);
	snap_put_u8(buf, b->hint.guest_cmd_valid);
	snap_put_u8(buf, b->hint.ack_on_stop);
	snap_put_u64(buf, b->ram_pages);
	snap_put_u64(buf, b->nr_held);
	for (uint64_t i = 0; i < (b->ram_pages + 63) / 64; i++)
		snap_put_u64(buf, b->held[i]);
	return buf->err ? -ENOMEM : 0;
}

int balloon_restore(struct virtio_dev *dev, struct snap_buf *buf)
{
	struct virtio_balloon *b = to_balloon(dev);
	struct balloon_stats st = { 0 };
	struct balloon_hint h = { 0 };
	uint32_t version = 0, num = 0, actual = 0, poison = 0, amount = 0;
	uint64_t ram_pages = 0, nr_held = 0, count = 0, words;
	uint8_t have = 0, valid = 0, ack = 0;
	int qs;

	snap_get_u32(buf, &version);
	snap_get_u32(buf, &num);
	snap_get_u32(buf, &actual);
	snap_get_u32(buf, &poison);
	snap_get_u32(buf, &amount);
	snap_get_u32(buf, &st.interval_s);
	snap_get_u8(buf, &have);
	snap_get_u16(buf, &st.head);
	snap_get_u32(buf, &st.seen);
	for (int i = 0; i < BALLOON_NR_STATS; i++)
		snap_get_u64(buf, &st.val[i]);
	snap_get_u32(buf, &h.host_cmd);
	snap_get_u32(buf, &h.last_cmd_id);
	snap_get_u32(buf, &h.guest_cmd);
	snap_get_u8(buf, &valid);
	snap_get_u8(buf, &ack);
	snap_get_u64(buf, &ram_pages);
	snap_get_u64(buf, &nr_held);
	if (buf->err || version != BALLOON_STATE_VERSION ||
	    ram_pages != b->ram_pages || nr_held > ram_pages ||
	    (uint64_t)num > ram_pages || (uint64_t)amount * 256 != num ||
	    st.interval_s > CONFIG_BALLOON_MAX_INTERVAL_S ||
	    !st.interval_s != !b->cfg.stats_interval_s)
		return -EINVAL;
	words = (ram_pages + 63) / 64;
	for (uint64_t i = 0; i < words; i++) {
		uint64_t w = 0;

		if (!snap_get_u64(buf, &w))
			break;
		if (i == words - 1 && ram_pages % 64)
			w &= (1ULL << (ram_pages % 64)) - 1;
		b->held[i] = w;
		count += (uint64_t)__builtin_popcountll(w);
	}
	if (buf->err || count != nr_held) {
		memset(b->held, 0, words * sizeof(uint64_t));
		return -EINVAL;
	}
	balloon_assign_roles(b, dev->driver_features);
	qs = balloon_queue_of(b, BQ_STATS);
	st.have_buf = have && qs >= 0 && dev->queues[qs].ready &&
		      st.head < dev->queues[qs].size;
	/* the held buffer is in flight on its queue, as before */
	if (st.have_buf)
		dev->queues[qs].inflight = 1;
	st.seen &= (1u << BALLOON_NR_STATS) - 1;
	b->stats = st;
	b->num_pages = num;
	b->cfg.amount_mib = amount;
	b->cfg.stats_interval_s = st.interval_s;
	b->actual = actual;
	b->poison_val = poison;
	b->nr_held = nr_held;
	h.guest_cmd_valid = valid;
	h.ack_on_stop = ack;
	if (h.host_cmd > BALLOON_HINT_CMD_DONE) {
		h.host_cmd = BALLOON_HINT_CMD_DONE;
		b->config_pending = true;
	}
	b->hint = h;
	return 0;
}
