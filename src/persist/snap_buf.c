// SPDX-License-Identifier: Apache-2.0
/* The bounded cursor section code saves and restores its state through. */
#include <stdlib.h>
#include <string.h>

#include "persist/snapshot_file.h"

void snap_buf_init_write(struct snap_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void snap_buf_init_read(struct snap_buf *b, const void *data, size_t len)
{
	memset(b, 0, sizeof(*b));
	/* The reader never writes through p; the struct is shared with the
	 * writer side, hence the cast. */
	b->p = (uint8_t *)(uintptr_t)data;
	b->len = data ? len : 0;
	b->cap = b->len;
}

void snap_buf_init_section(struct snap_buf *b, const struct snap_section *s)
{
	if (!s || s->len > SIZE_MAX) {
		snap_buf_init_read(b, NULL, 0);
		b->err = true;
		return;
	}
	snap_buf_init_read(b, s->data, (size_t)s->len);
}

void snap_buf_free(struct snap_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* Room for @len more bytes, or b->err. */
static bool reserve(struct snap_buf *b, size_t len)
{
	size_t want, cap;
	uint8_t *p;

	if (b->err)
		return false;
	if (len > SNAP_MAX_SECTION || b->len > SNAP_MAX_SECTION - len) {
		b->err = true;
		return false;
	}
	want = b->len + len;
	if (want <= b->cap)
		return true;
	cap = b->cap ? b->cap : 64;
	while (cap < want)
		cap *= 2;
	if (cap > SNAP_MAX_SECTION)
		cap = SNAP_MAX_SECTION;
	p = realloc(b->p, cap);
	if (!p) {
		b->err = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void snap_put(struct snap_buf *b, const void *data, size_t len)
{
	if (!reserve(b, len))
		return;
	if (len)
		memcpy(b->p + b->len, data, len);
	b->len += len;
}

static void put_le(struct snap_buf *b, uint64_t v, unsigned int n)
{
	uint8_t tmp[8];

	for (unsigned int i = 0; i < n; i++)
		tmp[i] = (uint8_t)(v >> (8 * i));
	snap_put(b, tmp, n);
}

void snap_put_u8(struct snap_buf *b, uint8_t v)
{
	put_le(b, v, 1);
}

void snap_put_u16(struct snap_buf *b, uint16_t v)
{
	put_le(b, v, 2);
}

void snap_put_u32(struct snap_buf *b, uint32_t v)
{
	put_le(b, v, 4);
}

void snap_put_u64(struct snap_buf *b, uint64_t v)
{
	put_le(b, v, 8);
}

void snap_put_blob(struct snap_buf *b, const void *data, uint32_t len)
{
	/* Both or neither: a length without its bytes would be a lie. */
	if (!reserve(b, (size_t)len + 4))
		return;
	put_le(b, len, 4);
	snap_put(b, data, len);
}

bool snap_get(struct snap_buf *b, void *dst, size_t len)
{
	if (b->err || b->off > b->len || len > b->len - b->off) {
		b->err = true;
		if (len)
			memset(dst, 0, len);
		return false;
	}
	if (len)
		memcpy(dst, b->p + b->off, len);
	b->off += len;
	return true;
}

static bool get_le(struct snap_buf *b, uint64_t *v, unsigned int n)
{
	uint8_t tmp[8];

	*v = 0;
	if (!snap_get(b, tmp, n))
		return false;
	for (unsigned int i = 0; i < n; i++)
		*v |= (uint64_t)tmp[i] << (8 * i);
	return true;
}

bool snap_get_u8(struct snap_buf *b, uint8_t *v)
{
	uint64_t x;
	bool ok = get_le(b, &x, 1);

	*v = (uint8_t)x;
	return ok;
}

bool snap_get_u16(struct snap_buf *b, uint16_t *v)
{
	uint64_t x;
	bool ok = get_le(b, &x, 2);

	*v = (uint16_t)x;
	return ok;
}

bool snap_get_u32(struct snap_buf *b, uint32_t *v)
{
	uint64_t x;
	bool ok = get_le(b, &x, 4);

	*v = (uint32_t)x;
	return ok;
}

bool snap_get_u64(struct snap_buf *b, uint64_t *v)
{
	return get_le(b, v, 8);
}

bool snap_get_blob(struct snap_buf *b, void *dst, size_t cap, uint32_t *len)
{
	uint32_t n;

	*len = 0;
	if (!snap_get_u32(b, &n))
		return false;
	if (n > cap) {
		b->err = true;
		return false;
	}
	if (!snap_get(b, dst, n))
		return false;
	*len = n;
	return true;
}

bool snap_get_done(const struct snap_buf *b)
{
	return !b->err && b->off == b->len;
}
