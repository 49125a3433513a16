// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer harness for the snapshot state file parser. Input: one mode
 * byte, then the file. With bit 0 of the mode set, the file's last four
 * bytes are replaced by the right CRC first, so the fuzzer reaches the
 * checks behind the checksum (section table, bounds, overlaps, duplicates)
 * instead of stopping at it. A parsed file must satisfy everything the
 * format promises; each of its sections is then read through snap_buf with
 * the getters the other mode bits pick, which must never over-read.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "persist/snapshot_file.h"

static void read_section(const struct snap_section *s, uint8_t mode)
{
	struct snap_buf b;
	uint8_t blob[64];
	uint64_t v;
	uint32_t n;

	snap_buf_init_section(&b, s);
	/* Every getter consumes at least one byte: this ends. */
	for (unsigned int step = 0; !b.err; step++) {
		switch (((mode >> 1) + step) % 6) {
		case 0:
			snap_get_u8(&b, &(uint8_t){0});
			break;
		case 1:
			snap_get_u16(&b, &(uint16_t){0});
			break;
		case 2:
			snap_get_u32(&b, &(uint32_t){0});
			break;
		case 3:
			snap_get_u64(&b, &v);
			break;
		case 4:
			snap_get_blob(&b, blob, sizeof(blob), &n);
			assert(n <= sizeof(blob));
			break;
		default:
			snap_get(&b, blob, 1 + step % sizeof(blob));
			break;
		}
		assert(b.off <= b.len);
	}
	assert(!snap_get_done(&b));
}

static void check_file(const struct snap_file *f, uint8_t mode)
{
	assert(f->version == SNAP_FORMAT_VERSION);
	assert(f->len <= SNAP_MAX_FILE);
	assert(f->nr_sections <= SNAP_MAX_SECTIONS);
	for (uint32_t i = 0; i < f->nr_sections; i++) {
		const struct snap_section *s = &f->sections[i];
		const struct snap_section *found;

		assert(s->len <= SNAP_MAX_SECTION);
		assert(s->data >= f->buf + SNAP_HEADER_SIZE);
		assert(s->data + s->len <= f->buf + f->len - SNAP_CRC_SIZE);
		assert((size_t)(s->data - f->buf) % SNAP_ALIGN == 0);
		/* No duplicates: find() gives back this very section. */
		found = snap_file_find(f, s->type, s->instance);
		assert(found == s);
		read_section(s, mode);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snap_file f;
	char err[256];
	uint8_t mode, *copy = NULL;
	int ret;

	if (size < 1)
		return 0;
	mode = data[0];
	data++;
	size--;
	if ((mode & 1) && size >= SNAP_CRC_SIZE) {
		uint32_t crc;

		copy = malloc(size);
		if (!copy)
			return 0;
		memcpy(copy, data, size);
		crc = (uint32_t)crc32(0, copy, (uInt)(size - SNAP_CRC_SIZE));
		for (int i = 0; i < 4; i++)
			copy[size - SNAP_CRC_SIZE + i] =
				(uint8_t)(crc >> (8 * i));
		data = copy;
	}
	err[0] = '\0';
	ret = snap_file_parse(data, size, &f, err, sizeof(err));
	if (ret == 0) {
		check_file(&f, mode);
	} else {
		assert(ret < 0);
		assert(err[0] != '\0');
		assert(!f.buf && !f.sections && !f.nr_sections);
	}
	snap_file_free(&f);
	free(copy);
	return 0;
}
