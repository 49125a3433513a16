// SPDX-License-Identifier: Apache-2.0
#include "devices/virtio/blk/blk.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>

#include "util/checked.h"
#include "util/log.h"
#include "util/metrics.h"

#define SECTOR	 512ULL
#define HDR_SIZE 16 /* struct virtio_blk_outhdr */
#define SEG_SIZE 16 /* struct virtio_blk_discard_write_zeroes */

_Static_assert((uint64_t)(VIRTQ_MAX_SIZE - 2) * VIRTIO_BLK_SIZE_MAX <=
		       VIRTIO_BLK_MAX_REQUEST,
	       "a request the driver builds within seg_max and size_max fits");

struct virtio_blk {
	struct virtio_dev vdev; /* first: the transport's view */
	int fd;
	uint64_t capacity; /* sectors */
	bool read_only;
	bool can_discard; /* DISCARD and WRITE_ZEROES offered */
	enum drive_cache cache;
	char drive_id[CONFIG_ID_MAX + 1];
	char id[VIRTIO_BLK_ID_BYTES]; /* not NUL-terminated when full */
	struct virtio_blk_config config;
	/* metrics group "block_<id>" (NULL counters when the name is too
	 * long: metrics_inc ignores them) */
	struct {
		uint64_t *read_count, *read_bytes, *write_count, *write_bytes;
		uint64_t *flush_count, *io_errors, *unsupported, *throttled;
	} m;
	/* scratch for one request, used under vdev.lock */
	struct virtq_chain chain;
	struct iovec iov[VIRTQ_MAX_SIZE];
};

static struct virtio_blk *to_blk(struct virtio_dev *dev)
{
	return (struct virtio_blk *)dev;
}

/* Reads or writes all of @iov at @off; a short transfer that makes no
 * progress (EOF, full disk) is an error. */
static int blk_rw_full(int fd, struct iovec *iov, int n, uint64_t off,
		       bool write)
{
	while (n > 0) {
		ssize_t r = write ? pwritev(fd, iov, n, (off_t)off)
				  : preadv(fd, iov, n, (off_t)off);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -EIO;
		off += (uint64_t)r;
		while (n > 0 && (size_t)r >= iov->iov_len) {
			r -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + r;
			iov->iov_len -= (size_t)r;
		}
	}
	return 0;
}

static bool blk_out_of_range(const struct virtio_blk *b, uint64_t sector,
			     uint64_t nr)
{
	return range_outside(sector, nr, b->capacity);
}

/* IN and OUT: the data is the writable bytes before the status (IN) or the
 * readable bytes after the header (OUT), and nothing else. */
static uint8_t blk_rw(struct virtio_blk *b, const struct virtq_chain *c,
		      uint64_t sector, bool write, uint64_t *written,
		      uint64_t *work)
{
	uint64_t rdata = c->read_len - HDR_SIZE;
	uint64_t wdata = c->write_len - 1;
	uint64_t len = write ? rdata : wdata;
	int n, ret;

	if (write && b->read_only)
		return VIRTIO_BLK_S_IOERR;
	if ((write ? wdata : rdata) != 0 || len % SECTOR ||
	    len > VIRTIO_BLK_MAX_REQUEST)
		return VIRTIO_BLK_S_IOERR;
	if (blk_out_of_range(b, sector, len / SECTOR))
		return VIRTIO_BLK_S_IOERR;
	if (len == 0)
		return VIRTIO_BLK_S_OK;
	n = virtq_chain_iov(c, !write, write ? HDR_SIZE : 0, len, b->iov,
			    VIRTQ_MAX_SIZE);
	if (n < 0)
		return VIRTIO_BLK_S_IOERR;
	*work += len; /* attempted: a failed transfer took its time too */
	ret = blk_rw_full(b->fd, b->iov, n, sector * SECTOR, write);
	if (ret)
		return VIRTIO_BLK_S_IOERR;
	metrics_inc(write ? b->m.write_count : b->m.read_count);
	metrics_add(write ? b->m.write_bytes : b->m.read_bytes, len);
	if (!write)
		*written = len;
	return VIRTIO_BLK_S_OK;
}

static int blk_punch(int fd, uint64_t off, uint64_t len)
{
	return fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			 (off_t)off, (off_t)len)
		       ? -errno
		       : 0;
}

/* Zeroes that read back as zeroes: ZERO_RANGE keeps the blocks allocated;
 * where it is missing (tmpfs), a punched hole reads as zeroes too, which
 * config.write_zeroes_may_unmap allows. */
static int blk_zero(int fd, uint64_t off, uint64_t len, bool unmap)
{
	if (!unmap && !fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
				 (off_t)off, (off_t)len))
		return 0;
	if (!unmap && errno != EOPNOTSUPP)
		return -errno;
	return blk_punch(fd, off, len);
}

static uint8_t blk_discard_zero(struct virtio_blk *b,
				const struct virtq_chain *c, bool zero)
{
	struct virtio_blk_discard_write_zeroes segs[VIRTIO_BLK_MAX_DISCARD_SEG];
	uint64_t rdata = c->read_len - HDR_SIZE;
	uint32_t n;

	if (!b->can_discard)
		return VIRTIO_BLK_S_UNSUPP;
	if (c->write_len != 1 || rdata == 0 || rdata % SEG_SIZE ||
	    rdata / SEG_SIZE > VIRTIO_BLK_MAX_DISCARD_SEG)
		return VIRTIO_BLK_S_IOERR;
	n = (uint32_t)(rdata / SEG_SIZE);
	/* one copy of all segments, validated before any is acted on */
	if (virtq_chain_read(c, HDR_SIZE, segs, rdata) != rdata)
		return VIRTIO_BLK_S_IOERR;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t sector = le64toh(segs[i].sector);
		uint32_t nr = le32toh(segs[i].num_sectors);
		uint32_t flags = le32toh(segs[i].flags);

		if (flags & ~(zero ? VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP : 0))
			return VIRTIO_BLK_S_UNSUPP;
		if (nr > VIRTIO_BLK_MAX_DISCARD_SECTORS ||
		    blk_out_of_range(b, sector, nr))
			return VIRTIO_BLK_S_IOERR;
	}
	for (uint32_t i = 0; i < n; i++) {
		uint64_t off = le64toh(segs[i].sector) * SECTOR;
		uint64_t len = le32toh(segs[i].num_sectors) * SECTOR;
		bool unmap = le32toh(segs[i].flags) &
			     VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;
		int ret;

		if (len == 0)
			continue;
		ret = zero ? blk_zero(b->fd, off, len, unmap)
			   : blk_punch(b->fd, off, len);
		if (ret)
			return VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
}

/* Serves one request; returns the status byte, and in *@written the bytes
 * of data put into the writable buffers (status not included); adds the
 * bytes of data it moved to *@work. */
static uint8_t blk_request(struct virtio_blk *b, const struct virtq_chain *c,
			   uint64_t *written, uint64_t *work)
{
	struct virtio_blk_outhdr hdr;
	uint64_t wdata = c->write_len - 1;
	uint32_t type;

	/* header: copied once, then only the copy is looked at */
	if (virtq_chain_read(c, 0, &hdr, sizeof(hdr)) != sizeof(hdr))
		return VIRTIO_BLK_S_IOERR;
	type = le32toh(hdr.type);
	switch (type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		return blk_rw(b, c, le64toh(hdr.sector),
			      type == VIRTIO_BLK_T_OUT, written, work);
	case VIRTIO_BLK_T_FLUSH:
		if (c->read_len != HDR_SIZE || wdata != 0)
			return VIRTIO_BLK_S_IOERR;
		if (b->cache == DRIVE_CACHE_WRITEBACK && !b->read_only &&
		    fdatasync(b->fd))
			return VIRTIO_BLK_S_IOERR;
		metrics_inc(b->m.flush_count);
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_GET_ID: {
		uint64_t n = wdata < sizeof(b->id) ? wdata : sizeof(b->id);

		if (c->read_len != HDR_SIZE || n == 0)
			return VIRTIO_BLK_S_IOERR;
		*written = virtq_chain_write(c, 0, b->id, n);
		return VIRTIO_BLK_S_OK;
	}
	case VIRTIO_BLK_T_DISCARD:
		if (b->read_only)
			return VIRTIO_BLK_S_IOERR;
		return blk_discard_zero(b, c, false);
	case VIRTIO_BLK_T_WRITE_ZEROES:
		if (b->read_only)
			return VIRTIO_BLK_S_IOERR;
		return blk_discard_zero(b, c, true);
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

static uint32_t blk_serve_chain(struct virtio_dev *dev,
				const struct virtq_chain *c, uint64_t *work)
{
	struct virtio_blk *b = to_blk(dev);
	uint64_t written = 0;
	uint8_t status;

	/* Without a writable byte there is nowhere to put a status: the
	 * request is returned untouched. */
	if (c->write_len == 0)
		return 0;
	status = blk_request(b, c, &written, work);
	if (status == VIRTIO_BLK_S_IOERR)
		metrics_inc(b->m.io_errors);
	else if (status == VIRTIO_BLK_S_UNSUPP)
		metrics_inc(b->m.unsupported);
	virtq_chain_write(c, c->write_len - 1, &status, 1);
	return (uint32_t)written + 1;
}

static void blk_queue_notify(struct virtio_dev *dev, unsigned int qidx)
{
	virtio_serve_queue(dev, qidx, &to_blk(dev)->chain,
				blk_serve_chain);
}

static void blk_config_read(struct virtio_dev *dev, uint32_t offset,
			    uint8_t *data, uint32_t len)
{
	memcpy(data, (const uint8_t *)&to_blk(dev)->config + offset, len);
}

static void blk_destroy(struct virtio_dev *dev)
{
	struct virtio_blk *b = to_blk(dev);

	close(b->fd);
	virtio_dev_uninit(dev);
	free(b);
}

static const struct virtio_dev_ops blk_ops = {
	.name = "blk",
	.device_id = VIRTIO_ID_BLOCK,
	.nr_queues = 1,
	.queue_max_size = VIRTIO_BLK_QUEUE_SIZE,
	.config_size = sizeof(struct virtio_blk_config),
	.config_read = blk_config_read,
	.queue_notify = blk_queue_notify,
	.destroy = blk_destroy,
};

static int blk_size(int fd, const struct stat *st, uint64_t *size)
{
	if (S_ISREG(st->st_mode)) {
		*size = (uint64_t)st->st_size;
		return 0;
	}
	if (S_ISBLK(st->st_mode))
		return ioctl(fd, BLKGETSIZE64, size) ? -errno : 0;
	return -EINVAL;
}

/* Punching a hole past the end of the file changes nothing, but fails with
 * EOPNOTSUPP where the file system cannot punch at all. */
static bool blk_probe_discard(int fd, const struct stat *st, uint64_t size)
{
	if (!S_ISREG(st->st_mode))
		return false;
	return blk_punch(fd, align_up_u64(size, 4096), 4096) == 0;
}

static void blk_fill_config(struct virtio_blk *b)
{
	struct virtio_blk_config *cfg = &b->config;

	memset(cfg, 0, sizeof(*cfg));
	cfg->capacity = htole64(b->capacity);
	/* the header and the status take two descriptors of a chain */
	cfg->seg_max = htole32(VIRTQ_MAX_SIZE - 2);
	cfg->size_max = htole32(VIRTIO_BLK_SIZE_MAX);
	cfg->blk_size = htole32(SECTOR);
	if (b->can_discard) {
		cfg->max_discard_sectors =
			htole32(VIRTIO_BLK_MAX_DISCARD_SECTORS);
		cfg->max_discard_seg = htole32(VIRTIO_BLK_MAX_DISCARD_SEG);
		cfg->discard_sector_alignment = htole32(1);
		cfg->max_write_zeroes_sectors =
			htole32(VIRTIO_BLK_MAX_DISCARD_SECTORS);
		cfg->max_write_zeroes_seg = htole32(VIRTIO_BLK_MAX_DISCARD_SEG);
		cfg->write_zeroes_may_unmap = 1;
	}
}

static void blk_register_metrics(struct virtio_blk *b)
{
	char group[METRICS_NAME_MAX];

	if (snprintf(group, sizeof(group), "block_%s", b->drive_id) >=
	    (int)sizeof(group))
		return;
	b->m.read_count = metrics_counter(group, "read_count");
	b->m.read_bytes = metrics_counter(group, "read_bytes");
	b->m.write_count = metrics_counter(group, "write_count");
	b->m.write_bytes = metrics_counter(group, "write_bytes");
	b->m.flush_count = metrics_counter(group, "flush_count");
	b->m.io_errors = metrics_counter(group, "io_errors");
	b->m.unsupported = metrics_counter(group, "unsupported_requests");
	b->m.throttled = metrics_counter(group, "rate_limiter_throttled");
}

/* Opens @path for a drive and sizes it; 0 with *fd, *size and *st set, or
 * a negative errno with the reason in @err. */
static int blk_open(const char *id, const char *path, bool read_only, int *fd,
		    uint64_t *size, struct stat *st, char *err, size_t errlen)
{
	int ret;

	*fd = drive_open_backing(id, path, read_only, st, err, errlen);
	if (*fd < 0)
		return *fd;
	ret = blk_size(*fd, st, size);
	if (ret) {
		snprintf(err, errlen,
			 "drive '%s': %s is not a regular file or block device",
			 id, path);
		goto fail;
	}
	if (*size < SECTOR) {
		ret = -EINVAL;
		snprintf(err, errlen, "drive '%s': %s is smaller than 512 bytes",
			 id, path);
		goto fail;
	}
	if (*size % SECTOR)
		log_warn("drive '%s': size of %s is not a multiple of 512; "
			 "the last %llu bytes are not visible to the guest",
			 id, path, (unsigned long long)(*size % SECTOR));
	return 0;
fail:
	close(*fd);
	*fd = -1;
	return ret;
}

int virtio_blk_create(const struct drive_config *d,
		      const struct guest_memory *mem,
		      struct virtio_dev **out, char *err, size_t errlen)
{
	const char *serial = d->serial ? d->serial : d->id;
	uint64_t features, size;
	struct virtio_blk *b;
	struct stat st;
	int ret;

	if (!d->path_on_host) {
		snprintf(err, errlen, "drive '%s' has no path", d->id);
		return -EINVAL;
	}
	b = calloc(1, sizeof(*b));
	if (!b) {
		snprintf(err, errlen, "drive '%s': out of memory", d->id);
		return -ENOMEM;
	}
	b->read_only = d->is_read_only;
	b->cache = d->cache_type;
	snprintf(b->drive_id, sizeof(b->drive_id), "%s", d->id);
	blk_register_metrics(b);
	ret = blk_open(d->id, d->path_on_host, b->read_only, &b->fd, &size, &st,
		       err, errlen);
	if (ret)
		goto fail_free;
	b->capacity = size / SECTOR;
	b->can_discard = !b->read_only && blk_probe_discard(b->fd, &st, size);
	/* strncpy semantics on purpose: a 20-byte serial has no NUL */
	memset(b->id, 0, sizeof(b->id));
	memcpy(b->id, serial, strnlen(serial, sizeof(b->id)));
	blk_fill_config(b);

	features = (1ULL << VIRTIO_BLK_F_SEG_MAX) |
		   (1ULL << VIRTIO_BLK_F_SIZE_MAX) |
		   (1ULL << VIRTIO_BLK_F_BLK_SIZE) |
		   (1ULL << VIRTIO_BLK_F_FLUSH);
	if (b->read_only)
		features |= 1ULL << VIRTIO_BLK_F_RO;
	if (b->can_discard)
		features |= (1ULL << VIRTIO_BLK_F_DISCARD) |
			    (1ULL << VIRTIO_BLK_F_WRITE_ZEROES);
	ret = virtio_dev_init(&b->vdev, &blk_ops, mem, features);
	if (ret) {
		snprintf(err, errlen, "drive '%s': %s", d->id, strerror(-ret));
		goto fail_close;
	}
	b->vdev.m_throttled = b->m.throttled;
	*out = &b->vdev;
	return 0;

fail_close:
	close(b->fd);
fail_free:
	free(b);
	return ret;
}

const char *virtio_blk_drive_id(struct virtio_dev *dev)
{
	return dev->ops == &blk_ops ? to_blk(dev)->drive_id : NULL;
}

int virtio_blk_set_backing(struct virtio_dev *dev, const char *path,
			   char *err, size_t errlen)
{
	struct virtio_blk *b = to_blk(dev);
	uint64_t size;
	struct stat st;
	int fd, ret;

	if (dev->ops != &blk_ops) {
		snprintf(err, errlen, "not a block device");
		return -EINVAL;
	}
	ret = blk_open(b->drive_id, path, b->read_only, &fd, &size, &st, err,
		       errlen);
	if (ret)
		return ret;
	pthread_mutex_lock(&dev->lock);
	close(b->fd);
	b->fd = fd;
	b->capacity = size / SECTOR;
	b->can_discard = b->can_discard && blk_probe_discard(fd, &st, size);
	blk_fill_config(b);
	virtio_dev_config_changed(dev);
	pthread_mutex_unlock(&dev->lock);
	return 0;
}
