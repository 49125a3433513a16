/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A 16550A-compatible UART (COM1). vCPU threads access its registers; the
 * VMM thread moves bytes between it and the host: output is queued in a
 * bounded ring that serial_flush_output() drains (the vCPU never blocks on a
 * full terminal: while the ring is full the UART reports its transmitter
 * busy), input arrives through serial_push_input().
 */
#ifndef FIGMENT_DEVICES_LEGACY_SERIAL_H
#define FIGMENT_DEVICES_LEGACY_SERIAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus/bus.h"
#include "devices/device.h"

#define SERIAL_OUT_RING 65536
#define SERIAL_IN_FIFO 1024

/* Called with the UART's interrupt line level whenever it changes. */
typedef void (*serial_irq_fn)(void *opaque, int level);

struct serial {
	pthread_mutex_t lock;
	uint8_t ier, iir_fifo, lcr, mcr, lsr_extra, msr, scr, dll, dlm, fcr;
	bool thr_interrupt; /* THR-empty interrupt pending until IIR read */
	int irq_level;

	uint8_t in[SERIAL_IN_FIFO];
	size_t in_head, in_len;

	uint8_t out[SERIAL_OUT_RING];
	size_t out_head, out_len;
	uint64_t out_dropped;

	int out_fd;    /* host side of the console; -1 discards output */
	int notify_fd; /* eventfd: output is waiting for the VMM thread */
	serial_irq_fn irq;
	void *irq_opaque;
	/* told when the guest frees room in the input FIFO */
	void (*input_room)(void *opaque);
};

extern const struct bus_ops serial_ops;
/* Its entry in the device list (serial_persist.c). */
extern const struct device_ops serial_device_ops;
/* Its DSDT node (PNP0501 at COM1); the device list's acpi_describe. */
void serial_acpi_describe(const void *dev, struct aml_buf *b);

/* Sets up the UART. @out_fd may be -1. Returns 0 or a negative errno. */
int serial_init(struct serial *s, int out_fd, serial_irq_fn irq, void *opaque);
void serial_destroy(struct serial *s);

/* VMM thread: writes queued output to out_fd without blocking for long.
 * Returns 0, -EINPROGRESS when more is queued than one call writes (call
 * again), or -EAGAIN when out_fd is full (try again on EPOLLOUT). */
int serial_flush_output(struct serial *s);

/* VMM thread: queues guest input; returns how many bytes were taken. */
size_t serial_push_input(struct serial *s, const uint8_t *buf, size_t len);

/* Output bytes still queued. */
size_t serial_output_queued(struct serial *s);

/* Free room in the input FIFO. */
size_t serial_input_room(struct serial *s);

#endif
