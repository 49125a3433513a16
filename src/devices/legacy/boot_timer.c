// SPDX-License-Identifier: Apache-2.0
#include "devices/legacy/boot_timer.h"

#include <stdio.h>
#include <time.h>

#include "arch/x86/layout.h"
#include "util/log.h"

uint64_t boot_timer_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void boot_timer_write(void *dev, uint64_t off, const uint8_t *data,
			     uint32_t len)
{
	struct boot_timer *t = dev;
	uint64_t now, total_us, guest_us;

	if (off != 0 || len < 1 || data[0] != LAYOUT_BOOT_MARKER_MAGIC)
		return;
	now = boot_timer_now_ns();
	/* Only the first marker counts; later writes are the guest's business. */
	if (!__sync_bool_compare_and_swap(&t->marked_ns, 0, now))
		return;
	total_us = (now - t->start_ns) / 1000;
	guest_us = t->guest_start_ns ? (now - t->guest_start_ns) / 1000 : 0;
	log_info("Guest-boot-time = %llu us, %llu us since the first vCPU entry",
		 (unsigned long long)total_us, (unsigned long long)guest_us);
	if (t->print)
		log_stderr("figment: guest boot time %llu us (%llu us since the first vCPU entry)\n",
			   (unsigned long long)total_us,
			   (unsigned long long)guest_us);
}

const struct bus_ops boot_timer_ops = {
	.read = NULL,
	.write = boot_timer_write,
};

const struct device_ops boot_timer_device_ops = {
	.kind = "boot-timer",
};
