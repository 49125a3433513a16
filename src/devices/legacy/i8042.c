// SPDX-License-Identifier: Apache-2.0
#include "devices/legacy/i8042.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "arch/x86/aml.h"
#include "arch/x86/layout.h"

#define STATUS_OBF 0x01 /* output buffer full: data for the guest */
#define STATUS_SYS 0x04 /* system flag: self-test passed */
#define STATUS_CMD 0x08 /* last write was a command */
#define STATUS_UNLOCKED 0x10 /* keyboard not inhibited (no keylock) */
#define CTR_KBD_INT 0x01
#define CTR_SYS 0x04

#define CMD_READ_CTR 0x20
#define CMD_WRITE_CTR 0x60
#define CMD_DISABLE_AUX 0xa7
#define CMD_ENABLE_AUX 0xa8
#define CMD_TEST_AUX 0xa9
#define CMD_SELF_TEST 0xaa
#define CMD_TEST_KBD 0xab
#define CMD_DISABLE_KBD 0xad
#define CMD_ENABLE_KBD 0xae
#define CMD_READ_OUTPORT 0xd0
#define CMD_WRITE_OUTPORT 0xd1
#define CMD_WRITE_KBD_OBUF 0xd2
#define CMD_WRITE_AUX_OBUF 0xd3
#define CMD_WRITE_AUX 0xd4
#define CMD_PULSE_RESET 0xfe

#define KBD_ACK 0xfa
#define KBD_RESET 0xff
#define KBD_IDENTIFY 0xf2
#define KBD_SET_LEDS 0xed
#define KBD_SET_SCANCODE 0xf0
#define KBD_SET_RATE 0xf3

void i8042_init(struct i8042 *k, void (*reset)(void *), void (*irq)(void *, int),
		void *opaque)
{
	memset(k, 0, sizeof(*k));
	pthread_mutex_init(&k->lock, NULL);
	/* No scancode translation: the Ctrl-Alt-Del we inject is set 2, which
	 * the guest's atkbd then reads as it is. */
	k->ctr = CTR_KBD_INT | CTR_SYS;
	k->reset = reset;
	k->irq = irq;
	k->opaque = opaque;
}

void i8042_destroy(struct i8042 *k)
{
	pthread_mutex_destroy(&k->lock);
}

static void push(struct i8042 *k, uint8_t v)
{
	if (k->len == I8042_BUF)
		return; /* a real controller loses it too */
	k->buf[(k->head + k->len) % I8042_BUF] = v;
	k->len++;
}

static void update_irq(struct i8042 *k)
{
	int level = k->len && (k->ctr & CTR_KBD_INT);

	if (level != k->irq_level) {
		k->irq_level = level;
		if (k->irq)
			k->irq(k->opaque, level);
	}
}

static void controller_command(struct i8042 *k, uint8_t cmd, bool *reset)
{
	switch (cmd) {
	case CMD_READ_CTR:
		push(k, k->ctr);
		break;
	case CMD_WRITE_CTR:
	case CMD_WRITE_OUTPORT:
	case CMD_WRITE_KBD_OBUF:
	case CMD_WRITE_AUX_OBUF:
	case CMD_WRITE_AUX:
		k->pending = cmd;
		break;
	case CMD_TEST_AUX:
	case CMD_TEST_KBD:
		push(k, 0x00); /* interface OK */
		break;
	case CMD_SELF_TEST:
		push(k, 0x55);
		break;
	case CMD_READ_OUTPORT:
		push(k, 0x01); /* reset line not asserted */
		break;
	case CMD_PULSE_RESET:
		*reset = true;
		break;
	default: /* enable/disable kbd/aux and others: accepted, no effect */
		break;
	}
}

static void controller_data(struct i8042 *k, uint8_t v)
{
	uint8_t cmd = k->pending;

	k->pending = 0;
	switch (cmd) {
	case CMD_WRITE_CTR:
		k->ctr = v;
		return;
	case CMD_WRITE_KBD_OBUF:
		push(k, v);
		return;
	case CMD_WRITE_OUTPORT:
	case CMD_WRITE_AUX_OBUF:
	case CMD_WRITE_AUX:
		return; /* no mouse; output port changes ignored */
	}
	/* A plain data write goes to the keyboard. */
	if (k->kbd_pending) {
		k->kbd_pending = 0;
		push(k, KBD_ACK);
		return;
	}
	switch (v) {
	case KBD_RESET:
		push(k, KBD_ACK);
		push(k, 0xaa); /* basic assurance test passed */
		break;
	case KBD_IDENTIFY:
		push(k, KBD_ACK);
		push(k, 0xab);
		push(k, 0x83);
		break;
	case KBD_SET_LEDS:
	case KBD_SET_SCANCODE:
	case KBD_SET_RATE:
		k->kbd_pending = v;
		push(k, KBD_ACK);
		break;
	default:
		push(k, KBD_ACK);
		break;
	}
}

static void i8042_read(void *dev, uint64_t off, uint8_t *data, uint32_t len)
{
	struct i8042 *k = dev;

	if (len != 1 || (off != 0 && off != 4))
		return;
	pthread_mutex_lock(&k->lock);
	if (off == 4) {
		data[0] = STATUS_SYS | STATUS_UNLOCKED | (k->len ? STATUS_OBF : 0);
	} else if (k->len) {
		data[0] = k->buf[k->head];
		k->head = (k->head + 1) % I8042_BUF;
		k->len--;
		/* Like the real controller, each byte is its own interrupt: drop
		 * the line so the next byte raises a fresh edge (IRQ 1 is edge
		 * triggered and the guest reads one byte per interrupt). */
		if (k->irq_level) {
			k->irq_level = 0;
			if (k->irq)
				k->irq(k->opaque, 0);
		}
	} else {
		data[0] = 0;
	}
	update_irq(k);
	pthread_mutex_unlock(&k->lock);
}

static void i8042_write(void *dev, uint64_t off, const uint8_t *data,
			uint32_t len)
{
	struct i8042 *k = dev;
	bool reset = false;

	if (len != 1 || (off != 0 && off != 4))
		return;
	pthread_mutex_lock(&k->lock);
	if (off == 4)
		controller_command(k, data[0], &reset);
	else
		controller_data(k, data[0]);
	update_irq(k);
	pthread_mutex_unlock(&k->lock);
	if (reset && k->reset)
		k->reset(k->opaque);
}

const struct bus_ops i8042_ops = {
	.read = i8042_read,
	.write = i8042_write,
};

int i8042_ctrl_alt_del(struct i8042 *k)
{
	/* set 2: Ctrl 14, Alt 11, Del E0 71; breaks are F0-prefixed */
	static const uint8_t seq[] = { 0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0,
				       0x71, 0xf0, 0x11, 0xf0, 0x14 };

	_Static_assert(sizeof(seq) <= I8042_BUF, "the sequence fits the buffer");
	pthread_mutex_lock(&k->lock);
	/* All or nothing: half a sequence would leave keys held down. */
	if ((size_t)(I8042_BUF - k->len) < sizeof(seq)) {
		pthread_mutex_unlock(&k->lock);
		return -EBUSY;
	}
	for (size_t i = 0; i < sizeof(seq); i++)
		push(k, seq[i]);
	update_irq(k);
	pthread_mutex_unlock(&k->lock);
	return 0;
}

/* Its DSDT node (data 0x60, command/status 0x64, IRQ 1). Linux's i8042
 * driver looks for it through PNP first; described, it binds at once
 * instead of probing, and atkbd can receive the Ctrl-Alt-Del the VMM
 * injects. */
void i8042_acpi_describe(const void *dev, struct aml_buf *b)
{
	uint8_t res_data[32];
	struct aml_buf res;

	(void)dev;
	aml_init(&res, res_data, sizeof(res_data));
	aml_res_io(&res, LAYOUT_PORT_I8042_DATA, LAYOUT_PORT_I8042_DATA, 0, 1);
	aml_res_io(&res, LAYOUT_PORT_I8042_CMD, LAYOUT_PORT_I8042_CMD, 0, 1);
	aml_res_irq_noflags(&res, LAYOUT_I8042_IRQ);
	aml_res_end(&res);
	aml_device_with_crs(b, "PS2K", "PNP0303", true, 1, &res);
}
