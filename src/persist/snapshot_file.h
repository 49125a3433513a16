/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The snapshot state file: figment's own container for a paused VM's state
 * (vCPU registers, device state, ...; guest memory goes to a separate file).
 * This module only frames, checks and stores sections of bytes; the code
 * that owns each piece of state fills and reads its sections itself, through
 * the bounded cursor `struct snap_buf` below. docs/snapshot-format.md
 * describes the same layout for people.
 *
 * Layout (every integer little-endian, every offset from the file's start):
 *
 *   offset size  field
 *   ------ ----  -----------------------------------------------------------
 *        0    8  magic "FIGSNAP\0"
 *        8    4  format version (SNAP_FORMAT_VERSION)
 *       12    4  architecture (SNAP_ARCH_X86_64 = 1)
 *       16    4  header size: 48 in version 1 (SNAP_HEADER_SIZE)
 *       20   12  producing CPU's vendor string (CPUID leaf 0 EBX EDX ECX)
 *       32    4  producing CPU's CPUID leaf 1 EAX (family, model, stepping)
 *       36    4  number of sections, N <= SNAP_MAX_SECTIONS
 *       40    8  total file length in bytes, CRC included, <= SNAP_MAX_FILE
 *       48 24*N  section table, one entry per section:
 *                  +0  4  type      (chosen by the code that owns the state)
 *                  +4  4  instance  (which one of that type: vCPU 0, 1, ...)
 *                  +8  8  offset    of the payload; a multiple of 8
 *                 +16  8  length    of the payload, <= SNAP_MAX_SECTION
 *        P    -  payloads, from P = 48 + 24*N rounded up to 8; each starts
 *                on a multiple of 8, zero padding between them
 *      L-4    4  CRC-32 (zlib's crc32(), the IEEE/ISO-HDLC polynomial) of
 *                bytes [0, L-4), where L is the total file length
 *
 * Payloads lie inside [P, L-4), never overlap, and no two sections have the
 * same (type, instance). Any change to this layout bumps SNAP_FORMAT_VERSION;
 * a reader refuses a version it does not know.
 */
#ifndef FIGMENT_PERSIST_SNAPSHOT_FILE_H
#define FIGMENT_PERSIST_SNAPSHOT_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SNAP_MAGIC	    "FIGSNAP" /* 8 bytes with its NUL */
#define SNAP_MAGIC_LEN	    8
#define SNAP_FORMAT_VERSION 1
#define SNAP_ARCH_X86_64    1
#define SNAP_HEADER_SIZE    48u
#define SNAP_TABLE_ENTRY    24u
#define SNAP_CRC_SIZE	    4u
#define SNAP_ALIGN	    8u

#define SNAP_MAX_FILE	  (64u << 20) /* whole state file */
#define SNAP_MAX_SECTIONS 1024
#define SNAP_MAX_SECTION  (16u << 20)

#if defined(__x86_64__)
#define SNAP_ARCH_HOST SNAP_ARCH_X86_64
#else
#define SNAP_ARCH_HOST 0 /* none: every file is refused */
#endif

/* The CPU that produced a snapshot; the restoring side decides what to do
 * when its own CPU differs. */
struct snap_cpu_id {
	char vendor[12];		/* not NUL-terminated: "GenuineIntel" */
	uint32_t family_model_stepping; /* CPUID leaf 1 EAX */
};

struct snap_section {
	uint32_t type;
	uint32_t instance;
	uint64_t len;
	const uint8_t *data; /* @len bytes, inside struct snap_file's buf */
};

/*
 * Writer: collects copies of sections in memory, then writes the file in
 * one go. A failed add leaves the writer as it was.
 */
struct snap_writer;

/* NULL when out of memory. */
struct snap_writer *snap_writer_new(const struct snap_cpu_id *cpu);

/*
 * Copies @len bytes of @data as section (@type, @instance). Returns 0,
 * -E2BIG when the section, the number of sections or the whole file would
 * pass its limit, -EEXIST when (@type, @instance) is already there,
 * -EINVAL for NULL data with a length, -ENOMEM.
 */
int snap_writer_add(struct snap_writer *w, uint32_t type, uint32_t instance,
		    const void *data, uint64_t len);

/*
 * Writes the file to @path atomically: into a new temporary file in the same
 * directory (".<name>.XXXXXX", mode 0600), fsync, rename over @path, fsync
 * of the directory. On any failure before the rename the temporary is
 * removed and @path is untouched (an old file there stays as it was).
 * Returns 0, or a negative errno with a one-line reason in @err. The writer
 * is unchanged and may be committed again.
 */
int snap_writer_commit(struct snap_writer *w, const char *path, char *err,
		       size_t errlen);

void snap_writer_free(struct snap_writer *w);

/* Reader: a parsed, fully checked file. */
struct snap_file {
	struct snap_cpu_id cpu;
	uint32_t version;
	uint32_t nr_sections;
	struct snap_section *sections; /* in file order */
	uint8_t *buf; /* the whole file; sections point into it */
	size_t len;   /* bytes in buf */
};

/*
 * Checks @len bytes of @data as a snapshot file (every check in the order
 * docs/snapshot-format.md lists) and fills @out with a copy. Returns 0, or
 * -EINVAL (damaged, not a snapshot), -EPROTONOSUPPORT (other version or
 * architecture), -E2BIG (past a limit), -ENOMEM, with a one-line reason in
 * @err; @out is then zeroed. snap_file_free() is safe on either outcome.
 */
int snap_file_parse(const uint8_t *data, size_t len, struct snap_file *out,
		    char *err, size_t errlen);

/*
 * Reads and parses the file at @path: opened with safe_open() (never blocks
 * on a FIFO), only a regular file, its size checked against the limit and
 * its header checked before the whole file is allocated. Returns as
 * snap_file_parse(), plus -errno from opening or reading.
 */
int snap_file_load(const char *path, struct snap_file *out, char *err,
		   size_t errlen);

/* The section (@type, @instance), or NULL. */
const struct snap_section *snap_file_find(const struct snap_file *f,
					  uint32_t type, uint32_t instance);

/* Frees what @f holds and zeroes it; safe on a zeroed struct. */
void snap_file_free(struct snap_file *f);

/*
 * A bounded cursor over a section payload, for the code that saves and
 * restores state: fixed-size little-endian fields and length-prefixed blobs,
 * so a short or hostile section can never be over-read.
 *
 * Writing: start from a zeroed struct (or snap_buf_init_write()); snap_put*
 * appends at p + len, growing p with realloc up to SNAP_MAX_SECTION. Reading:
 * snap_buf_init_read() over the payload; snap_get* consume from p + off up to
 * len. Any failure (no memory, past the limit, short) sets err, which stays
 * set: later calls do nothing, getters return false and zero their output,
 * so a sequence of calls can be checked once at the end.
 */
struct snap_buf {
	uint8_t *p; /* reading: the payload, never written through */
	size_t len, cap, off;
	bool err;
};

void snap_buf_init_write(struct snap_buf *b);
void snap_buf_init_read(struct snap_buf *b, const void *data, size_t len);
/* Reading a section: snap_buf_init_read(b, s->data, s->len). */
void snap_buf_init_section(struct snap_buf *b, const struct snap_section *s);
/* Frees a writer-side buffer; not for one set up for reading. */
void snap_buf_free(struct snap_buf *b);

void snap_put(struct snap_buf *b, const void *data, size_t len);
void snap_put_u8(struct snap_buf *b, uint8_t v);
void snap_put_u16(struct snap_buf *b, uint16_t v);
void snap_put_u32(struct snap_buf *b, uint32_t v);
void snap_put_u64(struct snap_buf *b, uint64_t v);
/* A u32 length, then the bytes. */
void snap_put_blob(struct snap_buf *b, const void *data, uint32_t len);

/* false (and b->err, and @dst zeroed) when fewer than @len bytes are left. */
bool snap_get(struct snap_buf *b, void *dst, size_t len);
bool snap_get_u8(struct snap_buf *b, uint8_t *v);
bool snap_get_u16(struct snap_buf *b, uint16_t *v);
bool snap_get_u32(struct snap_buf *b, uint32_t *v);
bool snap_get_u64(struct snap_buf *b, uint64_t *v);
/* Reads a blob put by snap_put_blob() into @dst (room for @cap bytes);
 * false (and b->err) when it is longer than @cap or short. *@len gets its
 * length (0 on failure). */
bool snap_get_blob(struct snap_buf *b, void *dst, size_t cap, uint32_t *len);
/* true when nothing failed and every byte was consumed: a section with
 * trailing bytes is as wrong as a short one. */
bool snap_get_done(const struct snap_buf *b);

#endif
