// SPDX-License-Identifier: Apache-2.0
/*
 * The i8042 keyboard controller, as a guest's probe sees it: controller
 * commands on port 0x64, data and keyboard commands on port 0x60, IRQ 1.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "devices/legacy/i8042.h"

#define DATA 0
#define CMD 4 /* write: command; read: status */
#define STATUS_OBF 0x01
#define STATUS_SYS 0x04
#define STATUS_UNLOCKED 0x10 /* no keylock */
#define CTR_KBD_INT 0x01

static struct i8042 k;
static int resets;
static int levels[64];
static int nr_levels;

static void record_reset(void *opaque)
{
	cr_assert_eq(opaque, &k);
	/* called with the device unlocked: the handler may touch it */
	cr_assert_eq(pthread_mutex_trylock(&k.lock), 0);
	pthread_mutex_unlock(&k.lock);
	resets++;
}

static void record_irq(void *opaque, int level)
{
	cr_assert_eq(opaque, &k);
	if (nr_levels < 64)
		levels[nr_levels] = level;
	nr_levels++;
}

static void setup(void)
{
	resets = 0;
	nr_levels = 0;
	i8042_init(&k, record_reset, record_irq, &k);
}

static void teardown(void)
{
	i8042_destroy(&k);
}

TestSuite(i8042, .init = setup, .fini = teardown);

static void wr(uint64_t off, uint8_t v)
{
	i8042_ops.write(&k, off, &v, 1);
}

static uint8_t rd(uint64_t off)
{
	uint8_t v = 0xff;

	i8042_ops.read(&k, off, &v, 1);
	return v;
}

static bool obf(void)
{
	return rd(CMD) & STATUS_OBF;
}

Test(i8042, starts_with_an_empty_output_buffer_the_system_flag_and_no_keylock)
{
	cr_expect_eq(rd(CMD), STATUS_SYS | STATUS_UNLOCKED);
	cr_expect_eq(rd(DATA), 0);
	cr_expect_eq(nr_levels, 0);
}

Test(i8042, self_test_answers_0x55)
{
	wr(CMD, 0xaa);
	cr_expect(obf());
	cr_expect_eq(rd(DATA), 0x55);
	cr_expect_not(obf());
}

Test(i8042, interface_tests_report_ok)
{
	wr(CMD, 0xab); /* keyboard interface */
	cr_expect_eq(rd(DATA), 0x00);
	wr(CMD, 0xa9); /* aux interface */
	cr_expect_eq(rd(DATA), 0x00);
	cr_expect_not(obf());
}

Test(i8042, command_byte_reads_back_what_was_written)
{
	wr(CMD, 0x20);
	cr_expect_eq(rd(DATA), 0x05, "reset value: KBD_INT | SYS, no translation");
	wr(CMD, 0x60);
	wr(DATA, 0x65);
	cr_expect_not(obf(), "writing the command byte answers nothing");
	wr(CMD, 0x20);
	cr_expect_eq(rd(DATA), 0x65);
}

Test(i8042, keyboard_reset_acks_then_passes_its_self_test)
{
	wr(DATA, 0xff);
	cr_expect_eq(rd(DATA), 0xfa);
	cr_expect(obf());
	cr_expect_eq(rd(DATA), 0xaa);
	cr_expect_not(obf());
}

Test(i8042, keyboard_identify_answers_an_mf2_keyboard)
{
	wr(DATA, 0xf2);
	cr_expect_eq(rd(DATA), 0xfa);
	cr_expect_eq(rd(DATA), 0xab);
	cr_expect_eq(rd(DATA), 0x83);
	cr_expect_not(obf());
}

Test(i8042, keyboard_command_with_an_argument_acks_both_bytes)
{
	wr(DATA, 0xed); /* set LEDs */
	cr_expect_eq(rd(DATA), 0xfa);
	wr(DATA, 0xff); /* the LED mask, not a reset */
	cr_expect_eq(rd(DATA), 0xfa);
	cr_expect_not(obf());
}

Test(i8042, write_keyboard_output_buffer_echoes_the_byte)
{
	wr(CMD, 0xd2);
	wr(DATA, 0x3c);
	cr_expect_eq(rd(DATA), 0x3c);
	cr_expect_not(obf());
}

Test(i8042, pulse_reset_calls_the_reset_callback)
{
	wr(CMD, 0xfe);
	cr_expect_eq(resets, 1);
	wr(CMD, 0xfe);
	cr_expect_eq(resets, 2);
}

Test(i8042, other_commands_do_not_reset)
{
	wr(CMD, 0xad);
	wr(CMD, 0xae);
	wr(CMD, 0xd1);
	wr(DATA, 0xfe); /* output port value, not a command */
	cr_expect_eq(resets, 0);
}

Test(i8042, irq_follows_the_output_buffer)
{
	wr(CMD, 0xaa);
	cr_assert_eq(nr_levels, 1);
	cr_expect_eq(levels[0], 1);
	(void)rd(DATA);
	cr_assert_eq(nr_levels, 2);
	cr_expect_eq(levels[1], 0);
}

/* IRQ 1 is edge triggered and the guest reads one byte per interrupt: each
 * byte must bring its own rising edge, or the guest never sees the rest. */
Test(i8042, each_byte_raises_its_own_edge)
{
	static const int want[] = { 1, 0, 1, 0, 1, 0 };

	wr(DATA, 0xf2); /* identify: ACK and two id bytes */
	cr_expect_eq(nr_levels, 1);
	(void)rd(DATA);
	(void)rd(DATA);
	cr_expect_eq(k.irq_level, 1);
	(void)rd(DATA);
	cr_assert_eq(nr_levels, 6);
	for (int i = 0; i < 6; i++)
		cr_expect_eq(levels[i], want[i], "level change %d", i);
}

Test(i8042, irq_is_masked_by_the_command_byte)
{
	wr(CMD, 0x60);
	wr(DATA, 0x44); /* keyboard interrupt off */
	wr(CMD, 0xaa);
	cr_expect(obf());
	cr_expect_eq(nr_levels, 0);
	(void)rd(DATA);

	wr(CMD, 0xaa);
	wr(CMD, 0x60);
	wr(DATA, 0x44 | CTR_KBD_INT);
	cr_assert_eq(nr_levels, 1, "re-enabling with data pending raises it");
	cr_expect_eq(levels[0], 1);
}

Test(i8042, status_read_does_not_consume_data)
{
	wr(CMD, 0xaa);
	cr_expect(obf());
	cr_expect(obf());
	cr_expect_eq(rd(DATA), 0x55);
}

Test(i8042, ctrl_alt_del_queues_set2_make_and_break_codes)
{
	static const uint8_t want[] = { 0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0,
					0x71, 0xf0, 0x11, 0xf0, 0x14 };

	cr_assert_eq(i8042_ctrl_alt_del(&k), 0);
	cr_assert_eq(nr_levels, 1);
	cr_expect_eq(levels[0], 1);
	for (size_t i = 0; i < sizeof(want); i++) {
		cr_assert(obf(), "byte %zu missing", i);
		cr_expect_eq(rd(DATA), want[i], "byte %zu", i);
	}
	cr_expect_not(obf());
	cr_expect_eq(levels[nr_levels - 1], 0);
	cr_expect_eq(resets, 0);
}

/* A guest that does not read its keyboard: a second sequence does not fit
 * whole and is refused, none of it queued (half of one leaves Ctrl and Alt
 * held down in the guest). */
Test(i8042, ctrl_alt_del_is_refused_when_it_does_not_fit)
{
	int sent = 0;

	while (i8042_ctrl_alt_del(&k) == 0)
		sent++;
	cr_assert_eq(sent, I8042_BUF / 11);
	cr_assert_eq(i8042_ctrl_alt_del(&k), -EBUSY);
	for (int i = 0; i < sent * 11; i++) {
		cr_assert(obf(), "byte %d missing", i);
		rd(DATA);
	}
	cr_expect_not(obf(), "a partial sequence was queued");
	cr_assert_eq(i8042_ctrl_alt_del(&k), 0, "room again once read");
}

Test(i8042, output_buffer_overflow_drops_the_newest_bytes)
{
	for (int i = 0; i < I8042_BUF + 4; i++)
		wr(CMD, 0xaa);
	for (int i = 0; i < I8042_BUF; i++)
		cr_expect_eq(rd(DATA), 0x55);
	cr_expect_not(obf());
}

Test(i8042, non_byte_and_unknown_port_accesses_are_ignored)
{
	uint8_t two[2] = { 0xaa, 0xaa };
	uint8_t v = 0xff;

	i8042_ops.write(&k, CMD, two, 2);
	wr(1, 0xaa);
	wr(2, 0xfe);
	cr_expect_not(obf());
	cr_expect_eq(resets, 0);
	i8042_ops.read(&k, 2, &v, 1);
	cr_expect_eq(v, 0xff);
	i8042_ops.read(&k, CMD, two, 2);
	cr_expect_eq(two[0], 0xaa, "a 2-byte read is left alone");
}
