// SPDX-License-Identifier: Apache-2.0
#include "devices/legacy/serial.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "arch/x86/aml.h"
#include "arch/x86/layout.h"

/* Register offsets (DLAB=0 unless noted). */
#define UART_RBR_THR 0
#define UART_IER 1
#define UART_IIR_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define IER_RDI 0x01  /* received data available */
#define IER_THRI 0x02 /* transmitter holding register empty */
#define IIR_NO_INT 0x01
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_FIFO_ENABLED 0xc0
#define LCR_DLAB 0x80
#define MCR_LOOP 0x10
#define MCR_OUT2 0x08
#define LSR_DR 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define MSR_DCD 0x80
#define MSR_DSR 0x20
#define MSR_CTS 0x10

int serial_init(struct serial *s, int out_fd, serial_irq_fn irq, void *opaque)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->out_fd = out_fd;
	s->irq = irq;
	s->irq_opaque = opaque;
	s->msr = MSR_DCD | MSR_DSR | MSR_CTS;
	s->mcr = MCR_OUT2;
	s->dll = 12; /* 9600 baud, as after a reset */
	s->notify_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return s->notify_fd < 0 ? -errno : 0;
}

void serial_destroy(struct serial *s)
{
	if (s->notify_fd >= 0)
		close(s->notify_fd);
	s->notify_fd = -1;
	pthread_mutex_destroy(&s->lock);
}

static bool out_full(const struct serial *s)
{
	return s->out_len == SERIAL_OUT_RING;
}

/* Computes IIR and the interrupt line from the current state; lock held. */
static uint8_t serial_iir(const struct serial *s)
{
	if ((s->ier & IER_RDI) && s->in_len)
		return IIR_RDI;
	if ((s->ier & IER_THRI) && s->thr_interrupt && !out_full(s))
		return IIR_THRI;
	return IIR_NO_INT;
}

static void serial_update_irq(struct serial *s)
{
	int level = serial_iir(s) != IIR_NO_INT;

	if (level != s->irq_level) {
		s->irq_level = level;
		if (s->irq)
			s->irq(s->irq_opaque, level);
	}
}

static void serial_transmit(struct serial *s, uint8_t byte)
{
	bool was_empty = s->out_len == 0;

	if (s->mcr & MCR_LOOP) {
		if (s->in_len < SERIAL_IN_FIFO) {
			s->in[(s->in_head + s->in_len) % SERIAL_IN_FIFO] = byte;
			s->in_len++;
		}
		return;
	}
	if (out_full(s)) {
		/* The guest ignored THRE; the byte has nowhere to go. */
		s->out_dropped++;
		return;
	}
	s->out[(s->out_head + s->out_len) % SERIAL_OUT_RING] = byte;
	s->out_len++;
	if (was_empty && s->notify_fd >= 0) {
		uint64_t one = 1;

		if (write(s->notify_fd, &one, sizeof(one)) < 0) {
			/* counter overflow only: the VMM is already woken */
		}
	}
}

static uint8_t serial_read_reg(struct serial *s, uint64_t off, bool *room_freed)
{
	uint8_t v;

	switch (off) {
	case UART_RBR_THR:
		if (s->lcr & LCR_DLAB)
			return s->dll;
		if (!s->in_len)
			return 0;
		v = s->in[s->in_head];
		s->in_head = (s->in_head + 1) % SERIAL_IN_FIFO;
		s->in_len--;
		*room_freed = s->in_len == SERIAL_IN_FIFO / 2;
		return v;
	case UART_IER:
		return (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
	case UART_IIR_FCR:
		v = serial_iir(s) | ((s->fcr & 1) ? IIR_FIFO_ENABLED : 0);
		/* Reading IIR acknowledges a THR-empty interrupt. */
		if ((v & 0x0f) == IIR_THRI)
			s->thr_interrupt = false;
		return v;
	case UART_LCR:
		return s->lcr;
	case UART_MCR:
		return s->mcr;
	case UART_LSR:
		v = s->lsr_extra;
		s->lsr_extra = 0;
		if (s->in_len)
			v |= LSR_DR;
		if (!out_full(s))
			v |= LSR_THRE | LSR_TEMT;
		return v;
	case UART_MSR:
		/* loopback: OUT2->DCD, OUT1->RI, DTR->DSR, RTS->CTS */
		if (s->mcr & MCR_LOOP)
			return (uint8_t)(((s->mcr & 0x0c) << 4) |
					 ((s->mcr & 0x01) << 5) |
					 ((s->mcr & 0x02) << 3));
		return s->msr;
	case UART_SCR:
		return s->scr;
	}
	return 0xff;
}

static void serial_write_reg(struct serial *s, uint64_t off, uint8_t v)
{
	switch (off) {
	case UART_RBR_THR:
		if (s->lcr & LCR_DLAB) {
			s->dll = v;
			return;
		}
		serial_transmit(s, v);
		s->thr_interrupt = true;
		return;
	case UART_IER:
		if (s->lcr & LCR_DLAB) {
			s->dlm = v;
			return;
		}
		/* Enabling THRI with an empty THR raises the interrupt at
		 * once, as on real 16550s; Linux relies on it. */
		if ((v & IER_THRI) && !(s->ier & IER_THRI))
			s->thr_interrupt = true;
		s->ier = v & 0x0f;
		return;
	case UART_IIR_FCR:
		s->fcr = v;
		if (v & 0x02) { /* clear receive FIFO */
			s->in_len = 0;
			s->in_head = 0;
		}
		return;
	case UART_LCR:
		s->lcr = v;
		return;
	case UART_MCR:
		s->mcr = v & 0x1f;
		return;
	case UART_SCR:
		s->scr = v;
		return;
	}
	/* LSR and MSR are read-only. */
}

static void serial_bus_read(void *dev, uint64_t off, uint8_t *data, uint32_t len)
{
	struct serial *s = dev;
	bool room_freed = false;

	if (len != 1)
		return; /* the UART has byte registers only: all-ones */
	pthread_mutex_lock(&s->lock);
	data[0] = serial_read_reg(s, off, &room_freed);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	if (room_freed && s->input_room)
		s->input_room(s->irq_opaque);
}

static void serial_bus_write(void *dev, uint64_t off, const uint8_t *data,
			     uint32_t len)
{
	struct serial *s = dev;

	if (len != 1)
		return;
	pthread_mutex_lock(&s->lock);
	serial_write_reg(s, off, data[0]);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

const struct bus_ops serial_ops = {
	.read = serial_bus_read,
	.write = serial_bus_write,
};

int serial_flush_output(struct serial *s)
{
	uint8_t chunk[4096];
	size_t n, done = 0;
	ssize_t w;
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	n = s->out_len < sizeof(chunk) ? s->out_len : sizeof(chunk);
	for (size_t i = 0; i < n; i++)
		chunk[i] = s->out[(s->out_head + i) % SERIAL_OUT_RING];
	pthread_mutex_unlock(&s->lock);

	while (done < n) {
		if (s->out_fd < 0) {
			done = n;
			break;
		}
		w = write(s->out_fd, chunk + done, n - done);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				ret = -EAGAIN;
			else
				done = n; /* console gone: discard, don't spin */
			break;
		}
		done += (size_t)w;
	}

	pthread_mutex_lock(&s->lock);
	bool was_full = out_full(s);

	s->out_head = (s->out_head + done) % SERIAL_OUT_RING;
	s->out_len -= done;
	if (was_full && done) /* transmitter free again */
		s->thr_interrupt = true;
	serial_update_irq(s);
	if (s->out_len && !ret)
		ret = -EINPROGRESS; /* more to write */
	pthread_mutex_unlock(&s->lock);
	return ret;
}

size_t serial_output_queued(struct serial *s)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = s->out_len;
	pthread_mutex_unlock(&s->lock);
	return n;
}

size_t serial_input_room(struct serial *s)
{
	size_t room;

	pthread_mutex_lock(&s->lock);
	room = SERIAL_IN_FIFO - s->in_len;
	pthread_mutex_unlock(&s->lock);
	return room;
}

size_t serial_push_input(struct serial *s, const uint8_t *buf, size_t len)
{
	size_t n = 0;

	pthread_mutex_lock(&s->lock);
	while (n < len && s->in_len < SERIAL_IN_FIFO) {
		s->in[(s->in_head + s->in_len) % SERIAL_IN_FIFO] = buf[n++];
		s->in_len++;
	}
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* Its DSDT node, at COM1. Describing it lets the guest's PNP layer claim
 * the port and IRQ like on a PC; the 8250 driver finds it at the legacy
 * address either way, then with IRQ 4 by number (which exists because the
 * FADT is not hardware-reduced: see arch/x86/acpi.c). */
void serial_acpi_describe(const void *dev, struct aml_buf *b)
{
	uint8_t res_data[32];
	struct aml_buf res;

	(void)dev;
	aml_init(&res, res_data, sizeof(res_data));
	aml_res_io(&res, LAYOUT_PORT_COM1, LAYOUT_PORT_COM1, 0, 8);
	aml_res_irq_noflags(&res, LAYOUT_COM1_IRQ);
	aml_res_end(&res);
	aml_device_with_crs(b, "COM1", "PNP0501", true, 1, &res);
}
