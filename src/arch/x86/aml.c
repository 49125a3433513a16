// SPDX-License-Identifier: Apache-2.0
#include "arch/x86/aml.h"

#include <errno.h>
#include <string.h>

/* AML opcodes and prefixes used here (ACPI 6.5, 20.2). */
#define AML_ZERO_OP 0x00
#define AML_ONE_OP 0x01
#define AML_NAME_OP 0x08
#define AML_BYTE_PREFIX 0x0a
#define AML_WORD_PREFIX 0x0b
#define AML_DWORD_PREFIX 0x0c
#define AML_STRING_PREFIX 0x0d
#define AML_QWORD_PREFIX 0x0e
#define AML_SCOPE_OP 0x10
#define AML_BUFFER_OP 0x11
#define AML_PACKAGE_OP 0x12
#define AML_DUAL_NAME_PREFIX 0x2e
#define AML_MULTI_NAME_PREFIX 0x2f
#define AML_EXT_OP_PREFIX 0x5b
#define AML_ROOT_CHAR 0x5c
#define AML_DEVICE_OP 0x82 /* after AML_EXT_OP_PREFIX */
#define AML_METHOD_OP 0x14
#define AML_ARG0_OP 0x68
#define AML_NOTIFY_OP 0x86
#define AML_LEQUAL_OP 0x93
#define AML_IF_OP 0xa0
#define AML_RETURN_OP 0xa4

/* Resource descriptor tags (ACPI 6.5, 6.4). */
#define AML_RES_IRQ_NOFLAGS 0x22 /* small, IRQ, 2 data bytes */
#define AML_RES_IO 0x47		 /* small, I/O port, 7 data bytes */
#define AML_RES_END 0x79	 /* small, end tag, 1 data byte */
#define AML_RES_MEMORY32_FIXED 0x86
#define AML_RES_EXT_IRQ 0x89

void aml_init(struct aml_buf *b, void *data, size_t cap)
{
	b->data = data;
	b->len = 0;
	b->cap = cap;
	b->overflow = false;
	b->invalid = false;
}

int aml_error(const struct aml_buf *b)
{
	if (b->overflow)
		return -ENOSPC;
	if (b->invalid)
		return -EINVAL;
	return 0;
}

static bool aml_failed(const struct aml_buf *b)
{
	return b->overflow || b->invalid;
}

void aml_bytes(struct aml_buf *b, const void *src, size_t len)
{
	if (aml_failed(b))
		return;
	if (len > b->cap - b->len) {
		b->overflow = true;
		return;
	}
	memcpy(b->data + b->len, src, len);
	b->len += len;
}

static void aml_byte(struct aml_buf *b, uint8_t v)
{
	aml_bytes(b, &v, 1);
}

static void aml_le(struct aml_buf *b, uint64_t v, unsigned int nr_bytes)
{
	uint8_t tmp[8];

	for (unsigned int i = 0; i < nr_bytes; i++)
		tmp[i] = (uint8_t)(v >> (8 * i));
	aml_bytes(b, tmp, nr_bytes);
}

/*
 * PkgLength counts itself too, so the number of bytes it takes depends on
 * the value it encodes: a one-byte form holds up to 63, longer forms keep
 * 4 bits in the lead byte and 8 in each of up to 3 following bytes.
 */
static size_t aml_pkg_begin(struct aml_buf *b)
{
	return b->len;
}

static void aml_pkg_end(struct aml_buf *b, size_t start)
{
	static const size_t max_len[] = { 0x3f, 0xfff, 0xfffff, 0xfffffff };
	size_t body, total = 0;
	unsigned int n;

	if (aml_failed(b))
		return;
	body = b->len - start;
	for (n = 1; n <= 4; n++) {
		total = body + n;
		if (total <= max_len[n - 1])
			break;
	}
	if (n > 4 || n > b->cap - b->len) {
		b->overflow = true;
		return;
	}
	memmove(b->data + start + n, b->data + start, body);
	if (n == 1) {
		b->data[start] = (uint8_t)total;
	} else {
		b->data[start] = (uint8_t)(((n - 1) << 6) | (total & 0xf));
		for (unsigned int i = 1; i < n; i++)
			b->data[start + i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	}
	b->len += n;
}

static bool aml_seg_valid(const char *s)
{
	for (int i = 0; i < 4; i++) {
		char c = s[i];

		if (c == '_' || (c >= 'A' && c <= 'Z'))
			continue;
		if (i > 0 && c >= '0' && c <= '9')
			continue;
		return false;
	}
	return true;
}

void aml_name_string(struct aml_buf *b, const char *path)
{
	const char *p = path;
	size_t nr_segs, len;

	if (*p == '\\')
		p++;
	len = strlen(p);
	/* "ABCD" or "ABCD.EFGH...": 4 characters per segment, '.' between. */
	if (len < 4 || (len + 1) % 5) {
		b->invalid = true;
		return;
	}
	nr_segs = (len + 1) / 5;
	if (nr_segs > 255) {
		b->invalid = true;
		return;
	}
	for (size_t i = 0; i < nr_segs; i++) {
		if (!aml_seg_valid(p + 5 * i) ||
		    (i + 1 < nr_segs && p[5 * i + 4] != '.')) {
			b->invalid = true;
			return;
		}
	}
	if (p != path)
		aml_byte(b, AML_ROOT_CHAR);
	if (nr_segs == 2) {
		aml_byte(b, AML_DUAL_NAME_PREFIX);
	} else if (nr_segs > 2) {
		aml_byte(b, AML_MULTI_NAME_PREFIX);
		aml_byte(b, (uint8_t)nr_segs);
	}
	for (size_t i = 0; i < nr_segs; i++)
		aml_bytes(b, p + 5 * i, 4);
}

void aml_integer(struct aml_buf *b, uint64_t v)
{
	if (v == 0) {
		aml_byte(b, AML_ZERO_OP);
	} else if (v == 1) {
		aml_byte(b, AML_ONE_OP);
	} else if (v <= UINT8_MAX) {
		aml_byte(b, AML_BYTE_PREFIX);
		aml_le(b, v, 1);
	} else if (v <= UINT16_MAX) {
		aml_byte(b, AML_WORD_PREFIX);
		aml_le(b, v, 2);
	} else if (v <= UINT32_MAX) {
		aml_byte(b, AML_DWORD_PREFIX);
		aml_le(b, v, 4);
	} else {
		aml_byte(b, AML_QWORD_PREFIX);
		aml_le(b, v, 8);
	}
}

void aml_string(struct aml_buf *b, const char *s)
{
	for (const char *p = s; *p; p++) {
		if ((unsigned char)*p > 0x7f) {
			b->invalid = true;
			return;
		}
	}
	aml_byte(b, AML_STRING_PREFIX);
	aml_bytes(b, s, strlen(s) + 1);
}

static int aml_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void aml_eisaid(struct aml_buf *b, const char *id)
{
	uint32_t v = 0;
	int i;

	if (strlen(id) != 7) {
		b->invalid = true;
		return;
	}
	/* Three letters of 5 bits each ('A' is 1) packed big-endian into the
	 * first two bytes, then the four hex digits, two per byte. */
	for (i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z') {
			b->invalid = true;
			return;
		}
		v |= (uint32_t)(id[i] - 0x40) << (10 - 5 * i);
	}
	v = ((v >> 8) & 0xff) | ((v & 0xff) << 8);
	for (i = 3; i < 7; i++) {
		int d = aml_hex_digit(id[i]);

		if (d < 0) {
			b->invalid = true;
			return;
		}
		/* digit 3 is the high nibble of byte 2, digit 6 the low
		 * nibble of byte 3 */
		v |= (uint32_t)d << (16 + 8 * ((i - 3) / 2) + 4 * ((i - 2) % 2));
	}
	/* Always a DWord: that is how EISAID() compiles, and what
	 * disassemblers recognise. */
	aml_byte(b, AML_DWORD_PREFIX);
	aml_le(b, v, 4);
}

void aml_name(struct aml_buf *b, const char *name)
{
	aml_byte(b, AML_NAME_OP);
	aml_name_string(b, name);
}

size_t aml_scope_begin(struct aml_buf *b, const char *path)
{
	size_t cookie;

	aml_byte(b, AML_SCOPE_OP);
	cookie = aml_pkg_begin(b);
	aml_name_string(b, path);
	return cookie;
}

void aml_scope_end(struct aml_buf *b, size_t cookie)
{
	aml_pkg_end(b, cookie);
}

size_t aml_device_begin(struct aml_buf *b, const char *name)
{
	size_t cookie;

	aml_byte(b, AML_EXT_OP_PREFIX);
	aml_byte(b, AML_DEVICE_OP);
	cookie = aml_pkg_begin(b);
	aml_name_string(b, name);
	return cookie;
}

void aml_device_end(struct aml_buf *b, size_t cookie)
{
	aml_pkg_end(b, cookie);
}

size_t aml_package_begin(struct aml_buf *b, uint8_t nr_elements)
{
	size_t cookie;

	aml_byte(b, AML_PACKAGE_OP);
	cookie = aml_pkg_begin(b);
	aml_byte(b, nr_elements);
	return cookie;
}

void aml_package_end(struct aml_buf *b, size_t cookie)
{
	aml_pkg_end(b, cookie);
}

size_t aml_method_begin(struct aml_buf *b, const char *name, uint8_t nr_args,
			bool serialized)
{
	size_t cookie;

	if (nr_args > 7) {
		b->invalid = true;
		return b->len;
	}
	aml_byte(b, AML_METHOD_OP);
	cookie = aml_pkg_begin(b);
	aml_name_string(b, name);
	/* MethodFlags: bits 0-2 the argument count, bit 3 serialized, bits
	 * 4-7 the sync level (0) */
	aml_byte(b, (uint8_t)(nr_args | (serialized ? 0x08 : 0)));
	return cookie;
}

void aml_method_end(struct aml_buf *b, size_t cookie)
{
	aml_pkg_end(b, cookie);
}

void aml_return(struct aml_buf *b)
{
	aml_byte(b, AML_RETURN_OP);
}

size_t aml_if_begin(struct aml_buf *b)
{
	aml_byte(b, AML_IF_OP);
	return aml_pkg_begin(b);
}

void aml_if_end(struct aml_buf *b, size_t cookie)
{
	aml_pkg_end(b, cookie);
}

void aml_lequal(struct aml_buf *b)
{
	aml_byte(b, AML_LEQUAL_OP);
}

void aml_arg(struct aml_buf *b, unsigned int n)
{
	if (n > 6) {
		b->invalid = true;
		return;
	}
	aml_byte(b, (uint8_t)(AML_ARG0_OP + n));
}

void aml_notify(struct aml_buf *b, const char *path, uint64_t value)
{
	aml_byte(b, AML_NOTIFY_OP);
	aml_name_string(b, path);
	aml_integer(b, value);
}

void aml_buffer(struct aml_buf *b, const void *data, size_t len)
{
	size_t cookie;

	aml_byte(b, AML_BUFFER_OP);
	cookie = aml_pkg_begin(b);
	aml_integer(b, len);
	aml_bytes(b, data, len);
	aml_pkg_end(b, cookie);
}

void aml_res_io(struct aml_buf *r, uint16_t min, uint16_t max, uint8_t align,
		uint8_t len)
{
	aml_byte(r, AML_RES_IO);
	aml_byte(r, 0x01); /* decodes 16 address bits */
	aml_le(r, min, 2);
	aml_le(r, max, 2);
	aml_byte(r, align);
	aml_byte(r, len);
}

void aml_res_irq_noflags(struct aml_buf *r, uint8_t irq)
{
	if (irq > 15) {
		r->invalid = true;
		return;
	}
	aml_byte(r, AML_RES_IRQ_NOFLAGS);
	aml_le(r, 1u << irq, 2);
}

void aml_res_memory32_fixed(struct aml_buf *r, bool writable, uint32_t base,
			    uint32_t size)
{
	aml_byte(r, AML_RES_MEMORY32_FIXED);
	aml_le(r, 9, 2); /* data length */
	aml_byte(r, writable ? 1 : 0);
	aml_le(r, base, 4);
	aml_le(r, size, 4);
}

void aml_res_interrupt(struct aml_buf *r, uint8_t flags, uint32_t gsi)
{
	aml_byte(r, AML_RES_EXT_IRQ);
	aml_le(r, 6, 2); /* data length: flags, count, one DWord */
	aml_byte(r, flags & 0x0f);
	aml_byte(r, 1);
	aml_le(r, gsi, 4);
}

void aml_res_end(struct aml_buf *r)
{
	/* A zero checksum means "treat as valid" (ACPI 6.5, 6.4.2.9); that is
	 * what ASL compilers emit too. */
	aml_byte(r, AML_RES_END);
	aml_byte(r, 0);
}

void aml_device_with_crs(struct aml_buf *b, const char *name, const char *hid,
			 bool eisa_hid, uint64_t uid, const struct aml_buf *res)
{
	size_t dev;

	if (aml_error(res)) {
		b->invalid = true;
		return;
	}
	dev = aml_device_begin(b, name);
	aml_name(b, "_HID");
	if (eisa_hid)
		aml_eisaid(b, hid);
	else
		aml_string(b, hid);
	aml_name(b, "_UID");
	aml_integer(b, uid);
	aml_name(b, "_CRS");
	aml_buffer(b, res->data, res->len);
	aml_device_end(b, dev);
}
