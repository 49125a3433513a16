// SPDX-License-Identifier: Apache-2.0
/* The UART's state in a snapshot: registers, the input FIFO, and output the
 * host had not written yet (it is written after the restore). */
#include <errno.h>
#include <unistd.h>

#include "devices/legacy/serial.h"
#include "persist/snapshot_file.h"

static int serial_save(void *dev, struct snap_buf *b)
{
	struct serial *s = dev;
	uint8_t regs[] = { s->ier, s->iir_fifo, s->lcr, s->mcr, s->lsr_extra,
			   s->msr, s->scr, s->dll, s->dlm, s->fcr,
			   s->thr_interrupt };
	uint8_t tmp[SERIAL_OUT_RING];

	pthread_mutex_lock(&s->lock);
	snap_put_blob(b, regs, sizeof(regs));
	for (size_t i = 0; i < s->in_len; i++)
		tmp[i] = s->in[(s->in_head + i) % SERIAL_IN_FIFO];
	snap_put_blob(b, tmp, (uint32_t)s->in_len);
	for (size_t i = 0; i < s->out_len; i++)
		tmp[i] = s->out[(s->out_head + i) % SERIAL_OUT_RING];
	snap_put_blob(b, tmp, (uint32_t)s->out_len);
	pthread_mutex_unlock(&s->lock);
	return b->err ? -ENOMEM : 0;
}

static int serial_restore(void *dev, struct snap_buf *b)
{
	struct serial *s = dev;
	uint8_t regs[11];
	uint32_t n_regs, n_in, n_out;

	pthread_mutex_lock(&s->lock);
	snap_get_blob(b, regs, sizeof(regs), &n_regs);
	snap_get_blob(b, s->in, sizeof(s->in), &n_in);
	snap_get_blob(b, s->out, sizeof(s->out), &n_out);
	if (!snap_get_done(b) || n_regs != sizeof(regs)) {
		s->in_len = s->out_len = 0;
		pthread_mutex_unlock(&s->lock);
		return -EINVAL;
	}
	s->ier = regs[0] & 0x0f;
	s->iir_fifo = regs[1];
	s->lcr = regs[2];
	s->mcr = regs[3] & 0x1f;
	s->lsr_extra = regs[4];
	s->msr = regs[5];
	s->scr = regs[6];
	s->dll = regs[7];
	s->dlm = regs[8];
	s->fcr = regs[9];
	s->thr_interrupt = regs[10] != 0;
	s->in_head = 0;
	s->in_len = n_in;
	s->out_head = 0;
	s->out_len = n_out;
	pthread_mutex_unlock(&s->lock);
	/* Output the host had not written when the snapshot was taken goes
	 * out now, not when the guest next prints. */
	if (n_out && s->notify_fd >= 0) {
		uint64_t one = 1;

		if (write(s->notify_fd, &one, sizeof(one)) < 0) {
			/* only fails when already signalled */
		}
	}
	return 0;
}

static void serial_destroy_op(void *s)
{
	serial_destroy(s);
}

const struct device_ops serial_device_ops = {
	.kind = "serial-16550a",
	.save = serial_save,
	.restore = serial_restore,
	.acpi_describe = serial_acpi_describe,
	.destroy = serial_destroy_op,
};
