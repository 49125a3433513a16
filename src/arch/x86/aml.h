/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small emitter of ACPI Machine Language (AML) byte code, enough to
 * describe devices in a DSDT: scopes, devices, named integers, strings,
 * EISA ids, packages, resource-template buffers, and small control methods
 * (Return, If, LEqual, arguments, Notify) (ACPI 6.5, chapter 20 for AML,
 * 6.4 for resource descriptors).
 *
 * All output goes into a caller-owned, fixed-size buffer. Running out of
 * room is sticky: every later call is a no-op and aml_error() reports
 * -ENOSPC, so callers emit a whole table and check once at the end.
 *
 * Nesting: the *_begin() calls return a cookie that the matching *_end()
 * needs; they must be closed innermost first. The PkgLength of an object
 * is only known when it is closed, so *_end() moves the body up by the
 * 1-4 bytes the encoded length needs.
 */
#ifndef FIGMENT_ARCH_X86_AML_H
#define FIGMENT_ARCH_X86_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct aml_buf {
	uint8_t *data;
	size_t len;    /* bytes emitted so far */
	size_t cap;    /* size of data */
	bool overflow; /* sticky: something did not fit */
	bool invalid;  /* sticky: a caller passed a malformed name or id */
};

/* Starts emitting into @data (@cap bytes, caller-owned). */
void aml_init(struct aml_buf *b, void *data, size_t cap);

/* 0, -ENOSPC when something did not fit, -EINVAL when a name or id passed
 * to the emitter was malformed. */
int aml_error(const struct aml_buf *b);

/* Raw bytes, for callers that build their own encodings. */
void aml_bytes(struct aml_buf *b, const void *src, size_t len);

/*
 * A NameString: an optional leading '\' (root) followed by one or more
 * 4-character NameSegs separated by '.', e.g. "_S5_", "\\_SB_",
 * "\\_SB_.VR00". Each segment must be exactly 4 characters of [A-Z0-9_]
 * and not start with a digit; anything else marks the buffer invalid.
 */
void aml_name_string(struct aml_buf *b, const char *path);

/* Integer data object in its shortest encoding (Zero, One, Byte..QWord). */
void aml_integer(struct aml_buf *b, uint64_t v);

/* String data object; @s must be printable ASCII (0x01-0x7f, no NUL). */
void aml_string(struct aml_buf *b, const char *s);

/* A 7-character EISA/PNP id such as "PNP0501", compressed into a DWord
 * integer as the EISAID() ASL macro does. */
void aml_eisaid(struct aml_buf *b, const char *id);

/* Name(@name, <data object>): emits NameOp and the name; the caller emits
 * exactly one data object next (integer, string, package, buffer). */
void aml_name(struct aml_buf *b, const char *name);

/* Scope(@path) { ... } and Device(@name) { ... }. */
size_t aml_scope_begin(struct aml_buf *b, const char *path);
void aml_scope_end(struct aml_buf *b, size_t cookie);
size_t aml_device_begin(struct aml_buf *b, const char *name);
void aml_device_end(struct aml_buf *b, size_t cookie);

/* Package(@nr_elements) { ... }: the caller emits @nr_elements data
 * objects before closing it. */
size_t aml_package_begin(struct aml_buf *b, uint8_t nr_elements);
void aml_package_end(struct aml_buf *b, size_t cookie);

/*
 * Control methods (ACPI 6.5, 19.6.85 and 20.2.5): Method(@name, @nr_args,
 * Serialized or NotSerialized) { ... }, @nr_args 0-7. The body is a list
 * of terms built from the calls below.
 */
size_t aml_method_begin(struct aml_buf *b, const char *name, uint8_t nr_args,
			bool serialized);
void aml_method_end(struct aml_buf *b, size_t cookie);

/* Return(<term>): the caller emits exactly one term next (an integer, a
 * package, ...). */
void aml_return(struct aml_buf *b);

/* If(<predicate>) { ... }: the caller emits the predicate (aml_lequal())
 * right after aml_if_begin(), then the body. */
size_t aml_if_begin(struct aml_buf *b);
void aml_if_end(struct aml_buf *b, size_t cookie);

/* LEqual(<a>, <b>) (ASL `a == b`): the caller emits the two operands. */
void aml_lequal(struct aml_buf *b);

/* ArgN, the N-th argument of the method being built (0-6). */
void aml_arg(struct aml_buf *b, unsigned int n);

/* Notify(@path, @value): tells the OS about an event on the object at
 * @path (a NameString, as aml_name_string()); 0x80 and up are
 * device-specific. */
void aml_notify(struct aml_buf *b, const char *path, uint64_t value);

/*
 * Resource templates (for _CRS): descriptors are collected into their own
 * aml_buf with the aml_res_*() calls, then aml_res_end() appends the end
 * tag, and aml_buffer() emits the result as a Buffer object.
 */
void aml_buffer(struct aml_buf *b, const void *data, size_t len);

/* I/O port range, 16-bit decode: IO(Decode16, min, max, align, len). */
void aml_res_io(struct aml_buf *r, uint16_t min, uint16_t max, uint8_t align,
		uint8_t len);
/* Legacy ISA IRQ (0-15), edge, active high, exclusive: IRQNoFlags(){irq}. */
void aml_res_irq_noflags(struct aml_buf *r, uint8_t irq);
/* Memory32Fixed(ReadWrite or ReadOnly, base, size). */
void aml_res_memory32_fixed(struct aml_buf *r, bool writable, uint32_t base,
			    uint32_t size);

/* Flags of the Extended Interrupt descriptor (ACPI 6.5, 6.4.3.6). */
#define AML_IRQ_CONSUMER (1u << 0)
#define AML_IRQ_EDGE (1u << 1)       /* clear: level */
#define AML_IRQ_ACTIVE_LOW (1u << 2) /* clear: active high */
#define AML_IRQ_SHARED (1u << 3)     /* clear: exclusive */

/* Interrupt(...) {gsi}: one Extended Interrupt descriptor, @flags from the
 * AML_IRQ_* bits. */
void aml_res_interrupt(struct aml_buf *r, uint8_t flags, uint32_t gsi);
/* End tag; closes a resource template. */
void aml_res_end(struct aml_buf *r);

/*
 * The usual shape of a device node: Device(@name) { Name(_HID, @hid),
 * Name(_UID, @uid), Name(_CRS, <@res>) }. @res is a resource template
 * closed with aml_res_end(); a failed @res marks @b invalid. With
 * @eisa_hid a _HID like "PNP0501" is compressed into an EISA id (how
 * Linux's PNP layer matches it); otherwise it stays a string ("LNRO0005").
 */
void aml_device_with_crs(struct aml_buf *b, const char *name, const char *hid,
			 bool eisa_hid, uint64_t uid,
			 const struct aml_buf *res);

#endif
