// SPDX-License-Identifier: Apache-2.0
/*
 * The snapshot state file's container: the writer (sections collected in
 * memory, then one atomic write) and the parser (every length checked
 * against the file and the limits before it is used). The layout is in
 * snapshot_file.h and docs/snapshot-format.md.
 */
#include "persist/snapshot_file.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "util/checked.h"
#include "util/safe_open.h"

/* Header field offsets (see the table in snapshot_file.h). */
#define OFF_MAGIC    0
#define OFF_VERSION  8
#define OFF_ARCH     12
#define OFF_HDR_SIZE 16
#define OFF_VENDOR   20
#define OFF_FMS	     32
#define OFF_NR	     36
#define OFF_TOTAL    40
/* The smallest file: a header, no sections, the CRC. */
#define SNAP_MIN_FILE (SNAP_HEADER_SIZE + SNAP_CRC_SIZE)

_Static_assert(sizeof(SNAP_MAGIC) == SNAP_MAGIC_LEN, "magic is 8 bytes");
_Static_assert(OFF_TOTAL + 8 == SNAP_HEADER_SIZE, "header layout");
_Static_assert(SNAP_HEADER_SIZE % SNAP_ALIGN == 0 &&
		       SNAP_TABLE_ENTRY % SNAP_ALIGN == 0,
	       "the payload area starts aligned");
_Static_assert(SNAP_MAX_FILE <= UINT_MAX, "crc32() takes the length whole");

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t get_le64(const uint8_t *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

static uint64_t payload_start(uint32_t nr)
{
	return align_up_u64(SNAP_HEADER_SIZE + (uint64_t)SNAP_TABLE_ENTRY * nr,
			    SNAP_ALIGN);
}

static const char *arch_name(uint32_t arch)
{
	switch (arch) {
	case SNAP_ARCH_X86_64:
		return "x86_64";
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Writer */

struct wsection {
	uint32_t type, instance;
	uint64_t off; /* from the start of the payload area */
	uint64_t len;
	uint8_t *data;
};

struct snap_writer {
	struct snap_cpu_id cpu;
	uint32_t nr, cap;
	struct wsection *secs;
	uint64_t payload_len; /* end of the last payload, from the area's start
			       */
};

struct snap_writer *snap_writer_new(const struct snap_cpu_id *cpu)
{
	struct snap_writer *w = calloc(1, sizeof(*w));

	if (w && cpu)
		w->cpu = *cpu;
	return w;
}

static uint64_t file_len(uint32_t nr, uint64_t payload_len)
{
	return payload_start(nr) + payload_len + SNAP_CRC_SIZE;
}

int snap_writer_add(struct snap_writer *w, uint32_t type, uint32_t instance,
		    const void *data, uint64_t len)
{
	struct wsection *s;
	uint64_t off;

	if (!w || (!data && len))
		return -EINVAL;
	if (len > SNAP_MAX_SECTION || w->nr >= SNAP_MAX_SECTIONS)
		return -E2BIG;
	/* Both are bounded now: nothing below can overflow. */
	off = align_up_u64(w->payload_len, SNAP_ALIGN);
	if (file_len(w->nr + 1, off + len) > SNAP_MAX_FILE)
		return -E2BIG;
	for (uint32_t i = 0; i < w->nr; i++)
		if (w->secs[i].type == type && w->secs[i].instance == instance)
			return -EEXIST;
	if (w->nr == w->cap) {
		uint32_t cap = w->cap ? w->cap * 2 : 16;

		s = reallocarray(w->secs, cap, sizeof(*s));
		if (!s)
			return -ENOMEM;
		w->secs = s;
		w->cap = cap;
	}
	s = &w->secs[w->nr];
	s->data = malloc(len ? len : 1);
	if (!s->data)
		return -ENOMEM;
	if (len)
		memcpy(s->data, data, len);
	s->type = type;
	s->instance = instance;
	s->off = off;
	s->len = len;
	w->payload_len = off + len;
	w->nr++;
	return 0;
}

void snap_writer_free(struct snap_writer *w)
{
	if (!w)
		return;
	for (uint32_t i = 0; i < w->nr; i++)
		free(w->secs[i].data);
	free(w->secs);
	free(w);
}

/* Everything written goes through here, so the CRC covers all of it. */
struct out {
	int fd;
	uLong crc;
};

static int emit(struct out *o, const void *data, size_t len)
{
	const uint8_t *p = data;

	o->crc = crc32(o->crc, p, (uInt)len);
	while (len) {
		ssize_t n = write(o->fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int write_image(const struct snap_writer *w, int fd)
{
	static const uint8_t zeros[SNAP_ALIGN];
	uint64_t start = payload_start(w->nr), pos;
	size_t hlen = (size_t)start;
	struct out o = {.fd = fd, .crc = crc32(0, Z_NULL, 0)};
	uint8_t crc[SNAP_CRC_SIZE], *h;
	int ret;

	h = calloc(1, hlen);
	if (!h)
		return -ENOMEM;
	memcpy(h + OFF_MAGIC, SNAP_MAGIC, SNAP_MAGIC_LEN);
	put_le32(h + OFF_VERSION, SNAP_FORMAT_VERSION);
	put_le32(h + OFF_ARCH, SNAP_ARCH_HOST);
	put_le32(h + OFF_HDR_SIZE, SNAP_HEADER_SIZE);
	memcpy(h + OFF_VENDOR, w->cpu.vendor, sizeof(w->cpu.vendor));
	put_le32(h + OFF_FMS, w->cpu.family_model_stepping);
	put_le32(h + OFF_NR, w->nr);
	put_le64(h + OFF_TOTAL, file_len(w->nr, w->payload_len));
	for (uint32_t i = 0; i < w->nr; i++) {
		uint8_t *e =
			h + SNAP_HEADER_SIZE + (size_t)SNAP_TABLE_ENTRY * i;

		put_le32(e, w->secs[i].type);
		put_le32(e + 4, w->secs[i].instance);
		put_le64(e + 8, start + w->secs[i].off);
		put_le64(e + 16, w->secs[i].len);
	}
	ret = emit(&o, h, hlen);
	free(h);
	pos = 0;
	for (uint32_t i = 0; !ret && i < w->nr; i++) {
		const struct wsection *s = &w->secs[i];

		ret = emit(&o, zeros, (size_t)(s->off - pos));
		if (!ret)
			ret = emit(&o, s->data, (size_t)s->len);
		pos = s->off + s->len;
	}
	if (ret)
		return ret;
	put_le32(crc, (uint32_t)o.crc);
	return emit(&o, crc, sizeof(crc));
}

int snap_writer_commit(struct snap_writer *w, const char *path, char *err,
		       size_t errlen)
{
	const char *slash, *base;
	char tmp[PATH_MAX], dir[PATH_MAX];
	const char *step;
	int fd, dfd, ret, n;

	if (!w || !path) {
		snprintf(err, errlen,
			 "cannot write snapshot: no writer or path");
		return -EINVAL;
	}
	slash = strrchr(path, '/');
	base = slash ? slash + 1 : path;
	if (!*base || !strcmp(base, ".") || !strcmp(base, "..")) {
		snprintf(err, errlen,
			 "cannot write snapshot '%s': not a file name", path);
		return -EINVAL;
	}
	if (slash == path)
		n = snprintf(dir, sizeof(dir), "/");
	else if (slash)
		n = snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path),
			     path);
	else
		n = snprintf(dir, sizeof(dir), ".");
	if (n < 0 || (size_t)n >= sizeof(dir) ||
	    (n = snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, base)) < 0 ||
	    (size_t)n >= sizeof(tmp)) {
		snprintf(err, errlen,
			 "cannot write snapshot '%s': path too long", path);
		return -ENAMETOOLONG;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(
			err, errlen,
			"cannot write snapshot '%s': cannot create a temporary "
			"file in '%s': %s",
			path, dir, strerror(-ret));
		return ret;
	}
	step = "write";
	ret = write_image(w, fd);
	if (!ret) {
		step = "fsync";
		if (fsync(fd) < 0)
			ret = -errno;
	}
	if (close(fd) < 0 && !ret) {
		step = "close";
		ret = -errno;
	}
	if (!ret) {
		step = "rename";
		if (rename(tmp, path) < 0)
			ret = -errno;
	}
	if (ret) {
		unlink(tmp);
		snprintf(err, errlen, "cannot write snapshot '%s': %s: %s",
			 path, step, strerror(-ret));
		return ret;
	}
	/* The file is complete under its name now; make the rename durable.
	 * A failure here is reported, but the file stays: it is whole, and
	 * whatever was there before is gone already. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0) {
		ret = -errno;
		snprintf(err, errlen,
			 "snapshot '%s' written, but syncing directory '%s' "
			 "failed: %s",
			 path, dir, strerror(-ret));
	}
	if (dfd >= 0)
		close(dfd);
	return ret;
}

/* ------------------------------------------------------------------ */
/* Parser */

struct rsection {
	uint32_t type, instance;
	uint64_t off, len;
	uint32_t idx;
};

static int by_offset(const void *a, const void *b)
{
	const struct rsection *x = a, *y = b;

	if (x->off != y->off)
		return x->off < y->off ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int by_key(const void *a, const void *b)
{
	const struct rsection *x = a, *y = b;

	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	if (x->instance != y->instance)
		return x->instance < y->instance ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/*
 * The checks on the fixed header, in order: length, magic, version,
 * architecture, header size, total length. @avail bytes of @data are there
 * (at least the header); @flen is the whole file's length.
 */
static int check_header(const uint8_t *data, size_t avail, uint64_t flen,
			char *err, size_t errlen)
{
	uint32_t version, arch, hsize;
	uint64_t total;

	if (flen == 0) {
		snprintf(err, errlen,
			 "empty file (0 bytes): not a figment snapshot");
		return -EINVAL;
	}
	if (flen < SNAP_MIN_FILE || avail < SNAP_HEADER_SIZE) {
		snprintf(err, errlen,
			 "too short for a figment snapshot: %" PRIu64
			 " bytes, the smallest is %u",
			 flen, SNAP_MIN_FILE);
		return -EINVAL;
	}
	if (memcmp(data + OFF_MAGIC, SNAP_MAGIC, SNAP_MAGIC_LEN)) {
		snprintf(err, errlen, "not a figment snapshot (bad magic)");
		return -EINVAL;
	}
	version = get_le32(data + OFF_VERSION);
	if (version > SNAP_FORMAT_VERSION) {
		snprintf(err, errlen,
			 "snapshot format version %u is newer than this "
			 "figment's %u",
			 version, SNAP_FORMAT_VERSION);
		return -EPROTONOSUPPORT;
	}
	if (version != SNAP_FORMAT_VERSION) {
		snprintf(err, errlen,
			 "unknown snapshot format version %u (this figment "
			 "reads %u)",
			 version, SNAP_FORMAT_VERSION);
		return -EPROTONOSUPPORT;
	}
	arch = get_le32(data + OFF_ARCH);
	if (arch != SNAP_ARCH_HOST) {
		const char *name = arch_name(arch);
		const char *host = arch_name(SNAP_ARCH_HOST);

		snprintf(err, errlen,
			 "snapshot is for %s%s (%u), this figment runs on %s",
			 name ? "architecture " : "an unknown architecture",
			 name ? name : "", arch,
			 host ? host : "an unsupported architecture");
		return -EPROTONOSUPPORT;
	}
	hsize = get_le32(data + OFF_HDR_SIZE);
	if (hsize != SNAP_HEADER_SIZE) {
		snprintf(err, errlen,
			 "bad snapshot header size %u (format version %u has "
			 "%u)",
			 hsize, SNAP_FORMAT_VERSION, SNAP_HEADER_SIZE);
		return -EINVAL;
	}
	total = get_le64(data + OFF_TOTAL);
	if (total > SNAP_MAX_FILE) {
		snprintf(err, errlen,
			 "snapshot header claims %" PRIu64
			 " bytes, more than the limit of %u",
			 total, SNAP_MAX_FILE);
		return -E2BIG;
	}
	if (flen > SNAP_MAX_FILE) {
		snprintf(err, errlen,
			 "snapshot is %" PRIu64
			 " bytes, more than the limit of %u",
			 flen, SNAP_MAX_FILE);
		return -E2BIG;
	}
	if (total > flen) {
		snprintf(err, errlen,
			 "truncated: %" PRIu64 " of %" PRIu64 " bytes", flen,
			 total);
		return -EINVAL;
	}
	if (total < flen) {
		snprintf(err, errlen,
			 "damaged: %" PRIu64
			 " bytes, but the header says %" PRIu64,
			 flen, total);
		return -EINVAL;
	}
	return 0;
}

/*
 * Checks the whole file in @data and, on success, fills @f: its
 * sections point into @data. The order of the checks is the documented one.
 */
static int check_file(const uint8_t *data, size_t len, struct snap_file *f,
		      char *err, size_t errlen)
{
	struct rsection *rs = NULL;
	uint64_t start, end;
	uint32_t nr, crc;
	int ret;

	ret = check_header(data, len, len, err, errlen);
	if (ret)
		return ret;
	/* len is the total length now, SNAP_MIN_FILE..SNAP_MAX_FILE. */
	crc = (uint32_t)crc32(crc32(0, Z_NULL, 0), data,
			      (uInt)(len - SNAP_CRC_SIZE));
	if (crc != get_le32(data + len - SNAP_CRC_SIZE)) {
		snprintf(err, errlen, "checksum mismatch: the file is damaged");
		return -EINVAL;
	}
	nr = get_le32(data + OFF_NR);
	if (nr > SNAP_MAX_SECTIONS) {
		snprintf(err, errlen, "%u sections, more than the limit of %u",
			 nr, SNAP_MAX_SECTIONS);
		return -E2BIG;
	}
	start = payload_start(nr);
	end = len - SNAP_CRC_SIZE;
	if (start > end) {
		snprintf(err, errlen,
			 "section table (%u entries) runs past the end of the "
			 "file",
			 nr);
		return -EINVAL;
	}
	rs = calloc(nr ? nr : 1, sizeof(*rs));
	if (!rs) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < nr; i++) {
		const uint8_t *e =
			data + SNAP_HEADER_SIZE + (size_t)SNAP_TABLE_ENTRY * i;
		struct rsection *s = &rs[i];

		s->type = get_le32(e);
		s->instance = get_le32(e + 4);
		s->off = get_le64(e + 8);
		s->len = get_le64(e + 16);
		s->idx = i;
		if (s->len > SNAP_MAX_SECTION) {
			snprintf(err, errlen,
				 "section %u (type %#x instance %u) is %" PRIu64
				 " bytes, more than the limit of %u",
				 i, s->type, s->instance, s->len,
				 SNAP_MAX_SECTION);
			ret = -E2BIG;
			goto out;
		}
		if (s->off < start || range_outside(s->off, s->len, end)) {
			snprintf(err, errlen,
				 "section %u (type %#x instance %u) at %" PRIu64
				 " length %" PRIu64
				 " lies outside the payload area [%" PRIu64
				 ", %" PRIu64 ")",
				 i, s->type, s->instance, s->off, s->len, start,
				 end);
			ret = -EINVAL;
			goto out;
		}
		if (s->off % SNAP_ALIGN) {
			snprintf(err, errlen,
				 "section %u (type %#x instance %u) at %" PRIu64
				 " is not aligned to %u bytes",
				 i, s->type, s->instance, s->off, SNAP_ALIGN);
			ret = -EINVAL;
			goto out;
		}
	}
	/* Sorted by offset, each non-empty payload must end before the next
	 * one starts; an empty one covers no byte and overlaps nothing. */
	qsort(rs, nr, sizeof(*rs), by_offset);
	for (uint32_t i = 0, prev = UINT32_MAX; i < nr; i++) {
		if (!rs[i].len)
			continue;
		if (prev != UINT32_MAX &&
		    rs[prev].off + rs[prev].len > rs[i].off) {
			uint32_t a = rs[prev].idx, b = rs[i].idx;

			snprintf(err, errlen, "sections %u and %u overlap",
				 a < b ? a : b, a < b ? b : a);
			ret = -EINVAL;
			goto out;
		}
		prev = i;
	}
	qsort(rs, nr, sizeof(*rs), by_key);
	for (uint32_t i = 1; i < nr; i++) {
		if (rs[i - 1].type == rs[i].type &&
		    rs[i - 1].instance == rs[i].instance) {
			snprintf(err, errlen,
				 "duplicate section type %#x instance %u "
				 "(sections %u and %u)",
				 rs[i].type, rs[i].instance, rs[i - 1].idx,
				 rs[i].idx);
			ret = -EINVAL;
			goto out;
		}
	}
	f->sections = calloc(nr ? nr : 1, sizeof(*f->sections));
	if (!f->sections) {
		snprintf(err, errlen, "out of memory");
		ret = -ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < nr; i++) {
		struct snap_section *s = &f->sections[rs[i].idx];

		s->type = rs[i].type;
		s->instance = rs[i].instance;
		s->len = rs[i].len;
		s->data = data + rs[i].off;
	}
	memcpy(f->cpu.vendor, data + OFF_VENDOR, sizeof(f->cpu.vendor));
	f->cpu.family_model_stepping = get_le32(data + OFF_FMS);
	f->version = get_le32(data + OFF_VERSION);
	f->nr_sections = nr;
out:
	free(rs);
	return ret;
}

/* Parses @buf (malloc'ed, @len bytes), which @out then owns; freed on
 * failure. */
static int parse_owned(uint8_t *buf, size_t len, struct snap_file *out,
		       char *err, size_t errlen)
{
	int ret;

	memset(out, 0, sizeof(*out));
	ret = check_file(buf, len, out, err, errlen);
	if (ret) {
		free(buf);
		snap_file_free(out);
		return ret;
	}
	out->buf = buf;
	out->len = len;
	return 0;
}

int snap_file_parse(const uint8_t *data, size_t len, struct snap_file *out,
		    char *err, size_t errlen)
{
	uint8_t *buf;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!data)
		len = 0;
	/* Check first, then copy: nothing is allocated for a bad file. */
	ret = check_file(data, len, out, err, errlen);
	if (ret) {
		snap_file_free(out);
		return ret;
	}
	buf = malloc(len);
	if (!buf) {
		snap_file_free(out);
		snprintf(err, errlen, "out of memory (%zu bytes)", len);
		return -ENOMEM;
	}
	memcpy(buf, data, len);
	for (uint32_t i = 0; i < out->nr_sections; i++)
		out->sections[i].data = buf + (out->sections[i].data - data);
	out->buf = buf;
	out->len = len;
	return 0;
}

/* Reads exactly @len bytes at @off; -EIO with a message when the file
 * ended early (it changed since fstat). */
static int read_full(int fd, void *dst, size_t len, off_t off, const char *path,
		     char *err, size_t errlen)
{
	uint8_t *p = dst;

	while (len) {
		ssize_t n = pread(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int ret = -errno;

			snprintf(err, errlen, "cannot read snapshot '%s': %s",
				 path, strerror(-ret));
			return ret;
		}
		if (n == 0) {
			snprintf(err, errlen,
				 "snapshot '%s' changed while loading (it "
				 "became shorter)",
				 path);
			return -EIO;
		}
		p += n;
		off += n;
		len -= (size_t)n;
	}
	return 0;
}

int snap_file_load(const char *path, struct snap_file *out, char *err,
		   size_t errlen)
{
	uint8_t hdr[SNAP_MIN_FILE], *buf;
	char why[256];
	struct stat st;
	size_t size;
	int fd, ret;

	memset(out, 0, sizeof(*out));
	fd = safe_open(path, O_RDONLY, 0, SAFE_OPEN_REG, 0, "snapshot", &st,
		       err, errlen);
	if (fd < 0)
		return fd;
	if (st.st_size < 0 || (uint64_t)st.st_size > SNAP_MAX_FILE) {
		snprintf(err, errlen,
			 "snapshot '%s' is %lld bytes, more than the limit of "
			 "%u",
			 path, (long long)st.st_size, SNAP_MAX_FILE);
		ret = -E2BIG;
		goto out;
	}
	size = (size_t)st.st_size;
	/* The header first: a file that is not a snapshot, or says it is
	 * longer or shorter than it is, costs no allocation. */
	ret = read_full(fd, hdr, size < sizeof(hdr) ? size : sizeof(hdr), 0,
			path, err, errlen);
	if (ret)
		goto out;
	ret = check_header(hdr, size < sizeof(hdr) ? size : sizeof(hdr), size,
			   why, sizeof(why));
	if (ret) {
		snprintf(err, errlen, "snapshot '%s': %s", path, why);
		goto out;
	}
	buf = malloc(size);
	if (!buf) {
		snprintf(err, errlen,
			 "snapshot '%s': out of memory (%zu bytes)", path,
			 size);
		ret = -ENOMEM;
		goto out;
	}
	ret = read_full(fd, buf, size, 0, path, err, errlen);
	if (ret) {
		free(buf);
		goto out;
	}
	/* Everything again on the bytes actually read: the file may have
	 * changed since the header was read. */
	ret = parse_owned(buf, size, out, why, sizeof(why));
	if (ret)
		snprintf(err, errlen, "snapshot '%s': %s", path, why);
out:
	close(fd);
	return ret;
}

const struct snap_section *snap_file_find(const struct snap_file *f,
					  uint32_t type, uint32_t instance)
{
	if (!f || !f->sections)
		return NULL;
	for (uint32_t i = 0; i < f->nr_sections; i++)
		if (f->sections[i].type == type &&
		    f->sections[i].instance == instance)
			return &f->sections[i];
	return NULL;
}

void snap_file_free(struct snap_file *f)
{
	if (!f)
		return;
	free(f->sections);
	free(f->buf);
	memset(f, 0, sizeof(*f));
}
