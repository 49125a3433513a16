// SPDX-License-Identifier: Apache-2.0
/* The legacy devices' snapshot state: a round trip gives a device that
 * behaves as the saved one, and a short or oversized state is refused. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "devices/legacy/i8042.h"
#include "devices/legacy/serial.h"
#include "persist/snapshot_file.h"

static void nop_irq(void *opaque, int level)
{
	(void)opaque;
	(void)level;
}

static void nop_reset(void *opaque)
{
	(void)opaque;
}

static uint8_t rd(const struct bus_ops *ops, void *dev, uint64_t off)
{
	uint8_t v = 0;

	ops->read(dev, off, &v, 1);
	return v;
}

static void wr(const struct bus_ops *ops, void *dev, uint64_t off, uint8_t v)
{
	ops->write(dev, off, &v, 1);
}

Test(persist, serial_round_trip_keeps_registers_input_and_pending_output)
{
	struct serial a, b;
	struct snap_buf w, r;
	uint64_t cnt = 0;

	cr_assert_eq(serial_init(&a, -1, nop_irq, NULL), 0);
	cr_assert_eq(serial_init(&b, -1, nop_irq, NULL), 0);
	wr(&serial_ops, &a, 3, 0x03);  /* LCR 8n1 */
	wr(&serial_ops, &a, 7, 0x5a);  /* scratch */
	wr(&serial_ops, &a, 1, 0x01);  /* IER: RDI */
	serial_push_input(&a, (const uint8_t *)"in", 2);
	wr(&serial_ops, &a, 0, 'o');   /* queued output */
	snap_buf_init_write(&w);
	cr_assert_eq(serial_device_ops.save(&a, &w), 0);
	snap_buf_init_read(&r, w.p, w.len);
	cr_assert_eq(serial_device_ops.restore(&b, &r), 0);
	cr_assert_eq(rd(&serial_ops, &b, 3), 0x03);
	cr_assert_eq(rd(&serial_ops, &b, 7), 0x5a);
	cr_assert_eq(rd(&serial_ops, &b, 1), 0x01);
	cr_assert_eq(rd(&serial_ops, &b, 0), 'i');
	cr_assert_eq(rd(&serial_ops, &b, 0), 'n');
	cr_assert_eq(serial_output_queued(&b), 1);
	/* the VMM thread is told there is output to write */
	cr_assert_eq(read(b.notify_fd, &cnt, sizeof(cnt)), sizeof(cnt));

	/* cut short: refused, nothing half-restored */
	snap_buf_init_read(&r, w.p, w.len - 1);
	cr_assert_eq(serial_device_ops.restore(&b, &r), -EINVAL);
	cr_assert_eq(serial_output_queued(&b), 0);
	snap_buf_free(&w);
	serial_destroy(&a);
	serial_destroy(&b);
}

Test(persist, i8042_round_trip_and_oversized_buffer)
{
	struct i8042 a, b;
	struct snap_buf w, r;
	uint8_t bad[64];

	i8042_init(&a, nop_reset, nop_irq, NULL);
	i8042_init(&b, nop_reset, nop_irq, NULL);
	cr_assert_eq(i8042_ctrl_alt_del(&a), 0);
	snap_buf_init_write(&w);
	cr_assert_eq(i8042_device_ops.save(&a, &w), 0);
	snap_buf_init_read(&r, w.p, w.len);
	cr_assert_eq(i8042_device_ops.restore(&b, &r), 0);
	cr_assert_eq(rd(&i8042_ops, &b, 0), 0x14, "first key of the sequence");

	/* a buffer longer than the device's: refused */
	memset(bad, 0, sizeof(bad));
	bad[3] = 40; /* blob length, little-endian */
	snap_buf_init_read(&r, bad, sizeof(bad));
	cr_assert_eq(i8042_device_ops.restore(&b, &r), -EINVAL);
	snap_buf_free(&w);
	i8042_destroy(&a);
	i8042_destroy(&b);
}
