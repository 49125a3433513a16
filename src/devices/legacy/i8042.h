/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Just enough of an i8042 keyboard controller: it answers the guest's
 * probe quickly (self-test, command byte, keyboard reset/identify), treats
 * command 0xfe (pulse reset line) as a reboot request, and can inject
 * Ctrl-Alt-Del as keyboard scancodes on IRQ 1.
 */
#ifndef FIGMENT_DEVICES_LEGACY_I8042_H
#define FIGMENT_DEVICES_LEGACY_I8042_H

#include <pthread.h>
#include <stdint.h>

#include "bus/bus.h"
#include "devices/device.h"

#define I8042_BUF 16

struct i8042 {
	pthread_mutex_t lock;
	uint8_t ctr;        /* controller command byte */
	uint8_t pending;    /* controller command waiting for its data byte */
	uint8_t kbd_pending; /* keyboard command waiting for its data byte */
	uint8_t buf[I8042_BUF];
	int head, len;
	void (*reset)(void *opaque); /* the guest pulsed the reset line */
	void (*irq)(void *opaque, int level); /* IRQ 1 */
	void *opaque;
	int irq_level;
};

/* The device spans ports 0x60..0x64; offsets 0 (data) and 4 (status/cmd). */
extern const struct bus_ops i8042_ops;
/* Its entry in the device list (i8042_persist.c). */
extern const struct device_ops i8042_device_ops;
/* Its DSDT node (PNP0303); the device list's acpi_describe. */
void i8042_acpi_describe(const void *dev, struct aml_buf *b);

void i8042_init(struct i8042 *k, void (*reset)(void *), void (*irq)(void *, int),
		void *opaque);
void i8042_destroy(struct i8042 *k);

/* Queues Ctrl-Alt-Del (make and break codes, scancode set 2) for the guest,
 * all of it or nothing: 0, or -EBUSY when the buffer lacks room (the guest
 * has not read what came before). */
int i8042_ctrl_alt_del(struct i8042 *k);

#endif
