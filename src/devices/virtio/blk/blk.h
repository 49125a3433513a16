/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-blk (device id 2), on any virtio transport, backed by a regular
 * file or a block device with a synchronous preadv/pwritev engine run on
 * the thread that delivers the queue notification (the VMM thread).
 *
 * Offered: SEG_MAX, BLK_SIZE (512), FLUSH, RO for read-only drives, and
 * DISCARD + WRITE_ZEROES for writable regular files whose file system can
 * punch holes (probed at creation). Requests: IN, OUT, FLUSH, GET_ID,
 * DISCARD, WRITE_ZEROES; anything else answers VIRTIO_BLK_S_UNSUPP.
 *
 * Layout rules (virtio 1.x: any framing): the 16-byte header is the first
 * 16 readable bytes (copied once, then validated), the status is the last
 * writable byte, data is what lies between. Requests over
 * VIRTIO_BLK_MAX_REQUEST bytes of data answer IOERR.
 *
 * Size: a backing file whose size is not a multiple of 512 is rounded down
 * (the tail is never read or written) with a warning; one smaller than a
 * sector is refused.
 */
#ifndef FIGMENT_DEVICES_VIRTIO_BLK_BLK_H
#define FIGMENT_DEVICES_VIRTIO_BLK_BLK_H

#include <stddef.h>

#include "config/vm_config.h"
#include "devices/virtio/virtio_dev.h"
#include "vstate/memory.h"

#define VIRTIO_BLK_QUEUE_SIZE	       256
/*
 * The largest data transfer one request may ask for. The driver is told
 * how to stay below it: at most seg_max (VIRTQ_MAX_SIZE - 2) data segments
 * of at most size_max bytes each (VIRTIO_BLK_F_SIZE_MAX), 15.9 MiB; Linux
 * splits its requests accordingly. Anything larger is an I/O error, so one
 * request stays a few milliseconds of work for the VMM thread.
 */
#define VIRTIO_BLK_SIZE_MAX	       (64U << 10)
#define VIRTIO_BLK_MAX_REQUEST	       (16ULL << 20)
#define VIRTIO_BLK_MAX_DISCARD_SEG     16
#define VIRTIO_BLK_MAX_DISCARD_SECTORS (1U << 22) /* 2 GiB per segment */

/*
 * Opens @d->path_on_host (O_CLOEXEC; O_RDONLY for read-only drives) and
 * creates a virtio-blk device over @mem (which must outlive it). Needs a
 * regular file or a block device. On success stores the transport half in
 * *@out (free with virtio_dev_destroy(), which closes the file) and
 * returns 0; otherwise a negative errno with the reason in @err.
 */
int virtio_blk_create(const struct drive_config *d,
		      const struct guest_memory *mem,
		      struct virtio_dev **out, char *err, size_t errlen);

/*
 * Media change: replaces the backing file of a running drive with @path
 * (opened like the original, same read-only mode), updates the capacity
 * and raises a configuration interrupt so the guest rereads it. Requests
 * after the swap go to the new file. Returns 0, or a negative errno with
 * the reason in @err (the old file stays).
 */
int virtio_blk_set_backing(struct virtio_dev *dev, const char *path,
			   char *err, size_t errlen);

/* The drive id a virtio-blk device was created for; NULL for others. */
const char *virtio_blk_drive_id(struct virtio_dev *dev);

#endif
