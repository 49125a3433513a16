/* SPDX-License-Identifier: Apache-2.0 */
/* The 8-bit checksum firmware tables use (ACPI, MP): the byte that makes
 * all bytes of the table sum to zero. */
#ifndef FIGMENT_UTIL_CHECKSUM_H
#define FIGMENT_UTIL_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

/* Returns the value the checksum field needs, computed over @len bytes
 * with that field still zero. */
static inline uint8_t checksum8_zero_sum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum += p[i];
	return (uint8_t)-sum;
}

#endif
