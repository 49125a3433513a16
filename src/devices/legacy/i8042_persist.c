// SPDX-License-Identifier: Apache-2.0
/* The i8042's state in a snapshot: command bytes and the output buffer. */
#include <errno.h>

#include "devices/legacy/i8042.h"
#include "persist/snapshot_file.h"

static int i8042_save(void *dev, struct snap_buf *b)
{
	struct i8042 *k = dev;
	uint8_t buf[I8042_BUF];

	pthread_mutex_lock(&k->lock);
	snap_put_u8(b, k->ctr);
	snap_put_u8(b, k->pending);
	snap_put_u8(b, k->kbd_pending);
	for (int i = 0; i < k->len; i++)
		buf[i] = k->buf[(k->head + i) % I8042_BUF];
	snap_put_blob(b, buf, (uint32_t)k->len);
	pthread_mutex_unlock(&k->lock);
	return b->err ? -ENOMEM : 0;
}

static int i8042_restore(void *dev, struct snap_buf *b)
{
	struct i8042 *k = dev;
	uint32_t len;

	pthread_mutex_lock(&k->lock);
	snap_get_u8(b, &k->ctr);
	snap_get_u8(b, &k->pending);
	snap_get_u8(b, &k->kbd_pending);
	snap_get_blob(b, k->buf, sizeof(k->buf), &len);
	k->head = 0;
	k->len = snap_get_done(b) ? (int)len : 0;
	pthread_mutex_unlock(&k->lock);
	return snap_get_done(b) ? 0 : -EINVAL;
}

const struct device_ops i8042_device_ops = {
	.kind = "i8042",
	.save = i8042_save,
	.restore = i8042_restore,
	.acpi_describe = i8042_acpi_describe,
};
