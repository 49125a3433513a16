// SPDX-License-Identifier: Apache-2.0
/*
 * The 16550A UART: register semantics as a guest driver sees them through
 * the bus ops, the bounded output ring drained by serial_flush_output(), and
 * the bounded input FIFO fed by serial_push_input().
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "devices/legacy/serial.h"

#define RBR_THR 0
#define IER 1
#define IIR_FCR 2
#define LCR 3
#define MCR 4
#define LSR 5
#define MSR 6
#define SCR 7

#define IER_RDI 0x01
#define IER_THRI 0x02
#define IIR_NONE 0x01
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define LCR_DLAB 0x80
#define MCR_LOOP 0x10
#define LSR_DR 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

static struct serial s;
static int pipe_rd = -1, pipe_wr = -1;

/* Every level the UART reported on its interrupt line, in order. */
static int levels[64];
static int nr_levels;
static int room_calls;

static void record_irq(void *opaque, int level)
{
	cr_assert_eq(opaque, &s);
	if (nr_levels < (int)(sizeof(levels) / sizeof(levels[0])))
		levels[nr_levels] = level;
	nr_levels++;
}

static void record_room(void *opaque)
{
	cr_assert_eq(opaque, &s);
	/* called with the UART unlocked: the VMM may push input from here */
	cr_assert_eq(pthread_mutex_trylock(&s.lock), 0);
	pthread_mutex_unlock(&s.lock);
	room_calls++;
}

static void setup(void)
{
	int fds[2];

	cr_assert_eq(pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
	pipe_rd = fds[0];
	pipe_wr = fds[1];
	nr_levels = 0;
	room_calls = 0;
	cr_assert_eq(serial_init(&s, pipe_wr, record_irq, &s), 0);
	s.input_room = record_room;
}

static void teardown(void)
{
	serial_destroy(&s);
	close(pipe_rd);
	close(pipe_wr);
}

TestSuite(serial, .init = setup, .fini = teardown);

static void wr(uint64_t off, uint8_t v)
{
	serial_ops.write(&s, off, &v, 1);
}

static uint8_t rd(uint64_t off)
{
	uint8_t v = 0xff;

	serial_ops.read(&s, off, &v, 1);
	return v;
}

/* Reads what reached the host side of the console. */
static size_t drain_pipe(uint8_t *buf, size_t cap)
{
	ssize_t n = read(pipe_rd, buf, cap);

	return n < 0 ? 0 : (size_t)n;
}

static uint64_t notify_count(void)
{
	uint64_t v = 0;

	if (read(s.notify_fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

Test(serial, reset_state_is_idle_with_an_empty_transmitter)
{
	cr_expect_eq(rd(IER), 0);
	cr_expect_eq(rd(IIR_FCR), IIR_NONE);
	cr_expect_eq(rd(LCR), 0);
	cr_expect_eq(rd(LSR), LSR_THRE | LSR_TEMT);
	cr_expect_eq(rd(MSR) & 0xf0, 0xb0); /* DCD, DSR, CTS */
	cr_expect_eq(rd(RBR_THR), 0);       /* nothing received */
	cr_expect_eq(nr_levels, 0);
}

Test(serial, dlab_switches_ports_0_and_1_to_the_divisor_latch)
{
	wr(IER, 0x05);
	wr(LCR, LCR_DLAB | 0x03);
	cr_expect_eq(rd(RBR_THR), 12, "reset divisor is 9600 baud");
	wr(RBR_THR, 0x01);
	wr(IER, 0x00);
	cr_expect_eq(rd(RBR_THR), 0x01);
	cr_expect_eq(rd(IER), 0x00);
	cr_expect_eq(s.out_len, 0, "a DLL write is not transmitted");

	wr(LCR, 0x03);
	cr_expect_eq(rd(LCR), 0x03);
	cr_expect_eq(rd(IER), 0x05, "IER kept across the DLAB window");
	wr(LCR, LCR_DLAB);
	cr_expect_eq(rd(RBR_THR), 0x01);
	cr_expect_eq(rd(IER), 0x00);
}

Test(serial, ier_keeps_only_the_low_four_bits)
{
	wr(IER, 0xf4);
	cr_expect_eq(rd(IER), 0x04);
}

Test(serial, enabling_thri_raises_it_at_once_and_reading_iir_clears_it)
{
	wr(IER, IER_THRI);
	cr_expect_eq(nr_levels, 1);
	cr_expect_eq(levels[0], 1);
	cr_expect_eq(rd(IIR_FCR), IIR_THRI);
	cr_expect_eq(rd(IIR_FCR), IIR_NONE, "the IIR read acknowledged THRI");
	cr_expect_eq(nr_levels, 2);
	cr_expect_eq(levels[1], 0);
}

Test(serial, writing_thr_raises_thri_again)
{
	wr(IER, IER_THRI);
	(void)rd(IIR_FCR);
	wr(RBR_THR, 'x');
	cr_expect_eq(rd(IIR_FCR), IIR_THRI);
	cr_expect_eq(nr_levels, 4);
	cr_expect_eq(levels[2], 1);
	cr_expect_eq(levels[3], 0);
}

Test(serial, thri_is_not_raised_when_masked)
{
	wr(RBR_THR, 'x');
	cr_expect_eq(rd(IIR_FCR), IIR_NONE);
	cr_expect_eq(nr_levels, 0);
}

Test(serial, received_data_has_priority_over_thri)
{
	const uint8_t in[] = { 'a', 'b' };

	wr(IER, IER_RDI | IER_THRI);
	cr_assert_eq(serial_push_input(&s, in, sizeof(in)), 2);
	cr_expect_eq(rd(IIR_FCR), IIR_RDI);
	/* reading IIR while it shows RDI does not acknowledge THRI */
	cr_expect_eq(rd(RBR_THR), 'a');
	cr_expect_eq(rd(IIR_FCR), IIR_RDI);
	cr_expect_eq(rd(RBR_THR), 'b');
	cr_expect_eq(rd(IIR_FCR), IIR_THRI);
	cr_expect_eq(rd(IIR_FCR), IIR_NONE);
}

Test(serial, rdi_interrupt_follows_the_fifo)
{
	const uint8_t in[] = { 'z' };

	wr(IER, IER_RDI);
	cr_expect_eq(nr_levels, 0);
	cr_assert_eq(serial_push_input(&s, in, 1), 1);
	cr_assert_eq(nr_levels, 1);
	cr_expect_eq(levels[0], 1);
	cr_expect_eq(rd(RBR_THR), 'z');
	cr_assert_eq(nr_levels, 2);
	cr_expect_eq(levels[1], 0);
}

Test(serial, input_without_rdi_enabled_raises_no_interrupt)
{
	const uint8_t in[] = { 'z' };

	cr_assert_eq(serial_push_input(&s, in, 1), 1);
	cr_expect_eq(nr_levels, 0);
	cr_expect_eq(rd(IIR_FCR), IIR_NONE);
	cr_expect(rd(LSR) & LSR_DR);
}

Test(serial, lsr_data_ready_tracks_the_input_fifo)
{
	const uint8_t in[] = { 1, 2 };

	cr_expect_eq(rd(LSR) & LSR_DR, 0);
	serial_push_input(&s, in, 2);
	cr_expect_eq(rd(LSR) & LSR_DR, LSR_DR);
	(void)rd(RBR_THR);
	cr_expect_eq(rd(LSR) & LSR_DR, LSR_DR);
	(void)rd(RBR_THR);
	cr_expect_eq(rd(LSR) & LSR_DR, 0);
}

Test(serial, fifo_enable_shows_in_iir_and_fcr_clears_the_receive_fifo)
{
	const uint8_t in[] = { 1, 2, 3 };

	wr(IIR_FCR, 0x01);
	cr_expect_eq(rd(IIR_FCR), 0xc0 | IIR_NONE);
	serial_push_input(&s, in, 3);
	wr(IIR_FCR, 0x03);
	cr_expect_eq(rd(LSR) & LSR_DR, 0);
	cr_expect_eq(serial_input_room(&s), SERIAL_IN_FIFO);
}

Test(serial, scratch_register_holds_a_byte)
{
	wr(SCR, 0x5a);
	cr_expect_eq(rd(SCR), 0x5a);
	wr(SCR, 0xa5);
	cr_expect_eq(rd(SCR), 0xa5);
}

Test(serial, lsr_and_msr_are_read_only)
{
	wr(LSR, 0x00);
	wr(MSR, 0x00);
	cr_expect_eq(rd(LSR), LSR_THRE | LSR_TEMT);
	cr_expect_eq(rd(MSR) & 0xf0, 0xb0);
}

Test(serial, loopback_returns_transmitted_bytes_as_input)
{
	uint8_t buf[8];

	wr(MCR, MCR_LOOP);
	cr_expect_eq(rd(MCR), MCR_LOOP);
	wr(RBR_THR, 'L');
	cr_expect(rd(LSR) & LSR_DR);
	cr_expect_eq(rd(RBR_THR), 'L');
	cr_expect_eq(serial_flush_output(&s), 0);
	cr_expect_eq(drain_pipe(buf, sizeof(buf)), 0, "nothing left the UART");
	cr_expect_eq(notify_count(), 0);
}

Test(serial, loopback_msr_mirrors_the_modem_control_outputs)
{
	/* DTR -> DSR, RTS -> CTS, OUT1 -> RI, OUT2 -> DCD */
	wr(MCR, MCR_LOOP | 0x01);
	cr_expect_eq(rd(MSR) & 0xf0, 0x20);
	wr(MCR, MCR_LOOP | 0x02);
	cr_expect_eq(rd(MSR) & 0xf0, 0x10);
	wr(MCR, MCR_LOOP | 0x04);
	cr_expect_eq(rd(MSR) & 0xf0, 0x40);
	wr(MCR, MCR_LOOP | 0x08);
	cr_expect_eq(rd(MSR) & 0xf0, 0x80);
	/* Linux's 8250 autoconfig loopback test: RTS|OUT2 must read 0x90 */
	wr(MCR, MCR_LOOP | 0x0a);
	cr_expect_eq(rd(MSR) & 0xf0, 0x90);
}

Test(serial, mcr_keeps_only_the_low_five_bits)
{
	wr(MCR, 0xff);
	cr_expect_eq(rd(MCR), 0x1f);
}

Test(serial, transmitted_bytes_reach_out_fd_after_a_flush)
{
	const char msg[] = "hello, world";
	uint8_t buf[64];

	for (size_t i = 0; i < strlen(msg); i++)
		wr(RBR_THR, (uint8_t)msg[i]);
	cr_expect_eq(drain_pipe(buf, sizeof(buf)), 0, "queued, not written");
	cr_expect_eq(serial_flush_output(&s), 0);
	cr_assert_eq(drain_pipe(buf, sizeof(buf)), strlen(msg));
	cr_expect_arr_eq(buf, msg, strlen(msg));
	cr_expect_eq(s.out_len, 0);
}

Test(serial, notify_fires_once_for_the_first_queued_byte)
{
	cr_expect_eq(notify_count(), 0);
	wr(RBR_THR, 'a');
	wr(RBR_THR, 'b');
	wr(RBR_THR, 'c');
	cr_expect_eq(notify_count(), 1);
	cr_expect_eq(serial_flush_output(&s), 0);
	wr(RBR_THR, 'd');
	cr_expect_eq(notify_count(), 1, "an empty ring notifies again");
}

Test(serial, full_ring_reports_the_transmitter_busy_until_flushed)
{
	uint8_t buf[4096];

	wr(IER, IER_THRI);
	(void)rd(IIR_FCR);
	for (size_t i = 0; i < SERIAL_OUT_RING; i++)
		wr(RBR_THR, (uint8_t)i);
	cr_expect_eq(rd(LSR) & (LSR_THRE | LSR_TEMT), 0);
	cr_expect_eq(rd(IIR_FCR), IIR_NONE, "no THRI while the ring is full");

	/* the guest ignores THRE: that byte is dropped and counted */
	wr(RBR_THR, 0xee);
	cr_expect_eq(s.out_dropped, 1);
	cr_expect_eq(s.out_len, SERIAL_OUT_RING);

	/* one flush writes one chunk and says there is more */
	cr_expect_eq(serial_flush_output(&s), -EINPROGRESS);
	cr_expect(rd(LSR) & LSR_THRE);
	cr_expect_eq(rd(IIR_FCR), IIR_THRI, "THRI once room came back");
	cr_assert_eq(drain_pipe(buf, sizeof(buf)), sizeof(buf));
	for (size_t i = 0; i < sizeof(buf); i++)
		cr_assert_eq(buf[i], (uint8_t)i);
}

Test(serial, flush_on_a_full_out_fd_returns_eagain_and_keeps_the_bytes)
{
	uint8_t fill[4096], buf[16];
	size_t filled = 0;
	ssize_t n;

	cr_assert(fcntl(pipe_wr, F_SETPIPE_SZ, 4096) >= 0);
	memset(fill, 0, sizeof(fill));
	while ((n = write(pipe_wr, fill, sizeof(fill))) > 0)
		filled += (size_t)n;
	cr_assert_eq(errno, EAGAIN);

	wr(RBR_THR, 'q');
	cr_expect_eq(serial_flush_output(&s), -EAGAIN);
	cr_expect_eq(s.out_len, 1);

	while (filled) {
		n = read(pipe_rd, fill,
			 filled < sizeof(fill) ? filled : sizeof(fill));
		cr_assert(n > 0);
		filled -= (size_t)n;
	}
	cr_expect_eq(serial_flush_output(&s), 0);
	cr_assert_eq(drain_pipe(buf, sizeof(buf)), 1);
	cr_expect_eq(buf[0], 'q');
}

Test(serial, output_is_discarded_without_an_out_fd)
{
	serial_destroy(&s);
	cr_assert_eq(serial_init(&s, -1, NULL, NULL), 0);
	wr(RBR_THR, 'a');
	cr_expect_eq(serial_flush_output(&s), 0);
	cr_expect_eq(s.out_len, 0);
	cr_expect(rd(LSR) & LSR_THRE);
}

Test(serial, push_input_stops_at_the_fifo_bound)
{
	static uint8_t in[SERIAL_IN_FIFO + 10];

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 7);
	cr_expect_eq(serial_input_room(&s), SERIAL_IN_FIFO);
	cr_expect_eq(serial_push_input(&s, in, sizeof(in)), SERIAL_IN_FIFO);
	cr_expect_eq(serial_input_room(&s), 0);
	cr_expect_eq(serial_push_input(&s, in, 1), 0);
	for (size_t i = 0; i < SERIAL_IN_FIFO; i++)
		cr_assert_eq(rd(RBR_THR), (uint8_t)(i * 7), "byte %zu", i);
	cr_expect_eq(rd(LSR) & LSR_DR, 0);
	cr_expect_eq(serial_input_room(&s), SERIAL_IN_FIFO);
}

Test(serial, input_room_callback_fires_when_the_fifo_drains_to_half)
{
	static uint8_t in[SERIAL_IN_FIFO];

	cr_assert_eq(serial_push_input(&s, in, sizeof(in)), SERIAL_IN_FIFO);
	for (size_t i = 0; i < SERIAL_IN_FIFO / 2 - 1; i++)
		(void)rd(RBR_THR);
	cr_expect_eq(room_calls, 0);
	(void)rd(RBR_THR);
	cr_expect_eq(room_calls, 1);
	cr_expect_eq(serial_input_room(&s), SERIAL_IN_FIFO / 2);
	while (rd(LSR) & LSR_DR)
		(void)rd(RBR_THR);
	cr_expect_eq(room_calls, 1, "only the half-way mark calls back");
}

Test(serial, non_byte_accesses_are_ignored)
{
	uint8_t two[2] = { 'x', 'y' };
	uint8_t back[4];

	serial_ops.write(&s, RBR_THR, two, 2);
	serial_ops.write(&s, SCR, two, 2);
	serial_ops.write(&s, IER, two, 2);
	cr_expect_eq(s.out_len, 0);
	cr_expect_eq(rd(SCR), 0);
	cr_expect_eq(rd(IER), 0);

	serial_push_input(&s, two, 2);
	memset(back, 0xff, sizeof(back));
	serial_ops.read(&s, RBR_THR, back, 4);
	cr_expect_eq(back[0], 0xff, "read left as the bus pre-filled it");
	cr_expect_eq(serial_input_room(&s), SERIAL_IN_FIFO - 2);
}
