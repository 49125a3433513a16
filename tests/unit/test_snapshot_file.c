// SPDX-License-Identifier: Apache-2.0
/* The snapshot state file: round trips, the documented layout, every
 * refusal with its message, damage of every kind (truncation at every
 * length, every single bit flipped, random bytes), the limits, the atomic
 * commit (a missing directory, a full filesystem) and the payload cursor. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "persist/snapshot_file.h"

static char dir[] = "/tmp/figment-snapshot-XXXXXX";
static char path[512];
static char err[512];
static const struct snap_cpu_id cpu = {.vendor = "GenuineIntel",
				       .family_model_stepping = 0x000906ea};

static void dir_setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
	memset(err, 0, sizeof(err));
}

static void dir_teardown(void)
{
	char cmd[600];

	/* In case commit_onto_a_full_filesystem failed with its tmpfs up. */
	snprintf(cmd, sizeof(cmd), "%s/full", dir);
	umount2(cmd, MNT_DETACH);

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

static const char *at(const char *name)
{
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

TestSuite(snapshot, .init = dir_setup, .fini = dir_teardown, .timeout = 120);

/* ---- helpers ---- */

static void le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void fix_crc(uint8_t *p, size_t len)
{
	le32(p + len - 4, (uint32_t)crc32(0, p, (uInt)(len - 4)));
}

static uint8_t *read_all(const char *name, size_t *len)
{
	struct stat st;
	uint8_t *p;
	int fd = open(name, O_RDONLY);

	cr_assert_geq(fd, 0, "%s: %s", name, strerror(errno));
	cr_assert_eq(fstat(fd, &st), 0);
	p = malloc((size_t)st.st_size + 1);
	cr_assert_eq(read(fd, p, (size_t)st.st_size), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return p;
}

static void write_all(const char *name, const void *p, size_t len)
{
	int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, p, len), (ssize_t)len);
	close(fd);
}

/* Names in @d other than . and .., joined by spaces. */
static int list_dir(const char *d, char *names, size_t len)
{
	DIR *dp = opendir(d);
	struct dirent *e;
	int n = 0;

	cr_assert_not_null(dp, "%s: %s", d, strerror(errno));
	names[0] = '\0';
	while ((e = readdir(dp))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		n++;
		strncat(names, e->d_name, len - strlen(names) - 2);
		strcat(names, " ");
	}
	closedir(dp);
	return n;
}

static const uint8_t hello[] = "hello";
static const uint8_t sixteen[16] = {1, 2,  3,  4,  5,  6,  7,  8,
				    9, 10, 11, 12, 13, 14, 15, 16};

static struct snap_writer *small_writer(void)
{
	struct snap_writer *w = snap_writer_new(&cpu);

	cr_assert_not_null(w);
	cr_assert_eq(snap_writer_add(w, 1, 0, hello, 5), 0);
	cr_assert_eq(snap_writer_add(w, 1, 1, sixteen, 16), 0);
	cr_assert_eq(snap_writer_add(w, 2, 0, NULL, 0), 0);
	cr_assert_eq(snap_writer_add(w, 3, 7, sixteen, 3), 0);
	return w;
}

/* The small file's bytes (written by the writer, read back). */
static uint8_t *small_file(size_t *len)
{
	struct snap_writer *w = small_writer();

	cr_assert_eq(snap_writer_commit(w, at("small"), err, sizeof(err)), 0,
		     "%s", err);
	snap_writer_free(w);
	return read_all(at("small"), len);
}

struct ent {
	uint32_t type, instance;
	uint64_t off, len;
};

/* A file built by hand from the documented layout: @n table entries as
 * given, @payload bytes of payload area (filled with a pattern), CRC
 * fixed. */
static uint8_t *craft(const struct ent *e, uint32_t n, size_t payload,
		      size_t *len)
{
	size_t l = 48 + 24 * (size_t)n + payload + 4;
	uint8_t *p = calloc(1, l);

	memcpy(p, "FIGSNAP\0", 8);
	le32(p + 8, 1);
	le32(p + 12, 1);
	le32(p + 16, 48);
	memcpy(p + 20, "AuthenticAMD", 12);
	le32(p + 32, 0x00a50f00);
	le32(p + 36, n);
	le64(p + 40, l);
	for (uint32_t i = 0; i < n; i++) {
		uint8_t *t = p + 48 + 24 * i;

		le32(t, e[i].type);
		le32(t + 4, e[i].instance);
		le64(t + 8, e[i].off);
		le64(t + 16, e[i].len);
	}
	for (size_t i = 0; i < payload; i++)
		p[48 + 24 * n + i] = (uint8_t)(i * 7 + 1);
	fix_crc(p, l);
	*len = l;
	return p;
}

static void expect_refused(const uint8_t *p, size_t len, int code,
			   const char *msg)
{
	struct snap_file f;
	int ret;

	memset(&f, 0xa5, sizeof(f));
	memset(err, 0, sizeof(err));
	ret = snap_file_parse(p, len, &f, err, sizeof(err));
	cr_assert_eq(ret, code, "ret %d (%s), want %d (%s)", ret, err, code,
		     msg);
	cr_assert_not_null(strstr(err, msg), "message '%s', want '%s'", err,
			   msg);
	cr_assert_null(f.buf);
	cr_assert_null(f.sections);
	cr_assert_eq(f.nr_sections, 0);
	snap_file_free(&f);
}

static void expect_ok(const uint8_t *p, size_t len)
{
	struct snap_file f;

	cr_assert_eq(snap_file_parse(p, len, &f, err, sizeof(err)), 0, "%s",
		     err);
	snap_file_free(&f);
}

/* ---- round trips and the layout ---- */

static void check_small(const struct snap_file *f)
{
	const struct snap_section *s;

	cr_assert_eq(f->version, SNAP_FORMAT_VERSION);
	cr_assert_eq(memcmp(f->cpu.vendor, "GenuineIntel", 12), 0);
	cr_assert_eq(f->cpu.family_model_stepping, 0x000906ea);
	cr_assert_eq(f->nr_sections, 4);
	/* File order is kept. */
	cr_assert_eq(f->sections[0].type, 1);
	cr_assert_eq(f->sections[3].instance, 7);
	s = snap_file_find(f, 1, 0);
	cr_assert_not_null(s);
	cr_assert_eq(s->len, 5);
	cr_assert_eq(memcmp(s->data, "hello", 5), 0);
	s = snap_file_find(f, 1, 1);
	cr_assert_not_null(s);
	cr_assert_eq(s->len, 16);
	cr_assert_eq(memcmp(s->data, sixteen, 16), 0);
	cr_assert_eq(((uintptr_t)s->data) % 8, 0);
	s = snap_file_find(f, 2, 0);
	cr_assert_not_null(s);
	cr_assert_eq(s->len, 0);
	s = snap_file_find(f, 3, 7);
	cr_assert_not_null(s);
	cr_assert_eq(memcmp(s->data, sixteen, 3), 0);
	cr_assert_null(snap_file_find(f, 3, 0));
	cr_assert_null(snap_file_find(f, 0, 0));
	for (uint32_t i = 0; i < f->nr_sections; i++) {
		cr_assert_geq(f->sections[i].data, f->buf);
		cr_assert_leq(f->sections[i].data + f->sections[i].len,
			      f->buf + f->len - 4);
	}
}

Test(snapshot, round_trip_through_a_file)
{
	struct snap_writer *w = small_writer();
	struct snap_file f;
	struct stat st;
	char names[256];

	cr_assert_eq(snap_writer_commit(w, at("state"), err, sizeof(err)), 0,
		     "%s", err);
	snap_writer_free(w);
	/* Only the file: no temporary left behind; private to its owner. */
	cr_assert_eq(list_dir(dir, names, sizeof(names)), 1, "%s", names);
	cr_assert_eq(stat(at("state"), &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	cr_assert_eq(snap_file_load(at("state"), &f, err, sizeof(err)), 0, "%s",
		     err);
	check_small(&f);
	snap_file_free(&f);
	snap_file_free(&f); /* zeroed: safe again */
}

Test(snapshot, parse_copies_what_it_keeps)
{
	struct snap_file f;
	size_t len;
	uint8_t *p = small_file(&len);

	cr_assert_eq(snap_file_parse(p, len, &f, err, sizeof(err)), 0, "%s",
		     err);
	memset(p, 0, len);
	free(p);
	check_small(&f);
	snap_file_free(&f);
}

Test(snapshot, layout_is_the_documented_one)
{
	size_t len, clen;
	uint8_t *p = small_file(&len), *c;
	/* Payloads from 48 + 24 * 4 = 144, each at a multiple of 8. */
	const struct ent e[] = {
		{1, 0, 144, 5},
		{1, 1, 152, 16},
		{2, 0, 168, 0},
		{3, 7, 168, 3},
	};

	cr_assert_eq(len, 144 + 27 + 4);
	cr_assert_eq(memcmp(p, "FIGSNAP\0", 8), 0);
	cr_assert_eq(p[8], 1);	 /* version, little-endian */
	cr_assert_eq(p[12], 1);	 /* x86_64 */
	cr_assert_eq(p[16], 48); /* header size */
	cr_assert_eq(memcmp(p + 20, "GenuineIntel", 12), 0);
	cr_assert_eq(p[32], 0xea);
	cr_assert_eq(p[33], 0x06);
	cr_assert_eq(p[34], 0x09);
	cr_assert_eq(p[36], 4);	  /* sections */
	cr_assert_eq(p[40], len); /* total length */
	cr_assert_eq(p[41], 0);
	cr_assert_eq((uint32_t)crc32(0, p, (uInt)(len - 4)),
		     (uint32_t)p[len - 4] | (uint32_t)p[len - 3] << 8 |
			     (uint32_t)p[len - 2] << 16 |
			     (uint32_t)p[len - 1] << 24);
	/* A file built by hand from the table in the header parses the same;
	 * and with the writer's CPU and payloads, it is byte for byte the
	 * writer's file. */
	c = craft(e, 4, 27, &clen);
	cr_assert_eq(clen, len);
	memcpy(c + 20, "GenuineIntel", 12);
	le32(c + 32, 0x000906ea);
	memcpy(c + 144, hello, 5);
	memset(c + 149, 0, 3);
	memcpy(c + 152, sixteen, 16);
	memcpy(c + 168, sixteen, 3);
	fix_crc(c, clen);
	cr_assert_eq(memcmp(c, p, len), 0);
	free(c);
	free(p);
}

/* tests/fuzz/make_seeds.py writes snapshots from the documentation alone;
 * its "small" seed (after the harness's mode byte) is the writer's file. */
Test(snapshot, writer_matches_the_independent_generator)
{
	const char *seed = "tests/fuzz/corpus/fuzz_snapshot/small";
	size_t len, slen;
	uint8_t *p, *s;

	if (access(seed, R_OK))
		cr_skip_test("%s: not run from the source tree", seed);
	p = small_file(&len);
	s = read_all(seed, &slen);
	cr_assert_eq(slen, len + 1);
	cr_assert_eq(memcmp(s + 1, p, len), 0);
	free(s);
	free(p);
}

Test(snapshot, empty_snapshot_and_commit_replaces_old_file)
{
	struct snap_writer *w = snap_writer_new(&cpu);
	struct snap_file f;
	char names[256];

	cr_assert_eq(snap_writer_commit(w, at("s"), err, sizeof(err)), 0);
	cr_assert_eq(snap_file_load(at("s"), &f, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(f.nr_sections, 0);
	cr_assert_eq(f.len, 52);
	cr_assert_null(snap_file_find(&f, 0, 0));
	snap_file_free(&f);
	/* Committed again, with more: the new file replaces the old. */
	cr_assert_eq(snap_writer_add(w, 9, 9, "x", 1), 0);
	cr_assert_eq(snap_writer_commit(w, at("s"), err, sizeof(err)), 0);
	snap_writer_free(w);
	cr_assert_eq(snap_file_load(at("s"), &f, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(f.nr_sections, 1);
	snap_file_free(&f);
	cr_assert_eq(list_dir(dir, names, sizeof(names)), 1, "%s", names);
}

Test(snapshot, relative_path_commits_in_the_current_directory)
{
	struct snap_writer *w = small_writer();
	struct snap_file f;
	char old[512];

	cr_assert_not_null(getcwd(old, sizeof(old)));
	cr_assert_eq(chdir(dir), 0);
	cr_assert_eq(snap_writer_commit(w, "rel", err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(snap_file_load("rel", &f, err, sizeof(err)), 0, "%s", err);
	check_small(&f);
	snap_file_free(&f);
	snap_writer_free(w);
	cr_assert_eq(chdir(old), 0);
}

Test(snapshot, section_built_with_snap_buf)
{
	struct snap_writer *w = snap_writer_new(&cpu);
	struct snap_buf b;
	const struct snap_section *s;
	struct snap_file f;
	uint64_t rip;
	uint32_t n;
	char name[16];

	snap_buf_init_write(&b);
	snap_put_u64(&b, 0xfff0);
	snap_put_blob(&b, "vcpu0", 5);
	cr_assert_not(b.err);
	cr_assert_eq(snap_writer_add(w, 0x100, 0, b.p, b.len), 0);
	snap_buf_free(&b);
	cr_assert_eq(snap_writer_commit(w, at("s"), err, sizeof(err)), 0);
	snap_writer_free(w);
	cr_assert_eq(snap_file_load(at("s"), &f, err, sizeof(err)), 0);
	s = snap_file_find(&f, 0x100, 0);
	snap_buf_init_section(&b, s);
	cr_assert(snap_get_u64(&b, &rip));
	cr_assert(snap_get_blob(&b, name, sizeof(name), &n));
	cr_assert(snap_get_done(&b));
	cr_assert_eq(rip, 0xfff0);
	cr_assert_eq(n, 5);
	cr_assert_eq(memcmp(name, "vcpu0", 5), 0);
	snap_file_free(&f);
}

/* ---- each refusal, in the documented order, with its message ---- */

Test(snapshot, refuses_empty_and_short)
{
	size_t len;
	uint8_t *p = small_file(&len);

	expect_refused(p, 0, -EINVAL, "empty file (0 bytes)");
	expect_refused(NULL, 0, -EINVAL, "empty file");
	expect_refused(p, 1, -EINVAL,
		       "too short for a figment snapshot: 1 bytes");
	expect_refused(p, 51, -EINVAL, "too short");
	free(p);
	write_all(at("empty"), "", 0);
	cr_assert_eq(snap_file_load(at("empty"), &(struct snap_file){0}, err,
				    sizeof(err)),
		     -EINVAL);
	cr_assert_not_null(strstr(err, "empty file"), "%s", err);
	cr_assert_not_null(strstr(err, at("empty")), "%s", err);
}

Test(snapshot, refuses_bad_magic)
{
	size_t len;
	uint8_t *p = small_file(&len);

	p[7] = 'X';
	expect_refused(p, len, -EINVAL, "not a figment snapshot");
	memcpy(p,
	       "\x7f"
	       "ELF\2\1\1\0",
	       8);
	expect_refused(p, len, -EINVAL, "not a figment snapshot");
	free(p);
}

Test(snapshot, refuses_newer_and_unknown_versions)
{
	size_t len;
	uint8_t *p = small_file(&len);

	le32(p + 8, 2);
	expect_refused(p, len, -EPROTONOSUPPORT,
		       "snapshot format version 2 is newer than this "
		       "figment's 1");
	le32(p + 8, 0xffffffff);
	expect_refused(p, len, -EPROTONOSUPPORT, "version 4294967295 is newer");
	le32(p + 8, 0);
	expect_refused(p, len, -EPROTONOSUPPORT,
		       "unknown snapshot format version 0");
	free(p);
}

Test(snapshot, refuses_another_architecture)
{
	size_t len;
	uint8_t *p = small_file(&len);

	le32(p + 12, 2);
	expect_refused(p, len, -EPROTONOSUPPORT,
		       "snapshot is for an unknown architecture (2), this "
		       "figment runs on x86_64");
	le32(p + 12, 0);
	expect_refused(p, len, -EPROTONOSUPPORT, "architecture");
	free(p);
}

Test(snapshot, refuses_other_header_size)
{
	size_t len;
	uint8_t *p = small_file(&len);

	le32(p + 16, 56);
	expect_refused(p, len, -EINVAL, "bad snapshot header size 56");
	le32(p + 16, 0);
	expect_refused(p, len, -EINVAL, "header size 0");
	free(p);
}

Test(snapshot, refuses_wrong_total_length)
{
	size_t len;
	uint8_t *p = small_file(&len);
	char want[64];

	snprintf(want, sizeof(want), "truncated: %zu of %zu bytes", len - 1,
		 len);
	expect_refused(p, len - 1, -EINVAL, want);
	/* More bytes than the header says. */
	p = realloc(p, len + 1);
	p[len] = 0;
	snprintf(want, sizeof(want),
		 "damaged: %zu bytes, but the header says %zu", len + 1, len);
	expect_refused(p, len + 1, -EINVAL, want);
	/* A total length past the limit: refused as such, before anything. */
	le64(p + 40, (uint64_t)SNAP_MAX_FILE + 1);
	expect_refused(p, len, -E2BIG, "more than the limit of 67108864");
	le64(p + 40, UINT64_MAX);
	expect_refused(p, len, -E2BIG, "more than the limit");
	le64(p + 40, 0);
	expect_refused(p, len, -EINVAL, "but the header says 0");
	free(p);
}

Test(snapshot, refuses_checksum_mismatch)
{
	size_t len;
	uint8_t *p = small_file(&len);

	p[150] ^= 0x10; /* in a payload */
	expect_refused(p, len, -EINVAL,
		       "checksum mismatch: the file is damaged");
	p[150] ^= 0x10;
	p[len - 1] ^= 0x80; /* in the CRC itself */
	expect_refused(p, len, -EINVAL, "checksum mismatch");
	free(p);
}

Test(snapshot, refuses_too_many_sections)
{
	size_t len;
	uint8_t *p = small_file(&len);

	le32(p + 36, SNAP_MAX_SECTIONS + 1);
	fix_crc(p, len);
	expect_refused(p, len, -E2BIG,
		       "1025 sections, more than the limit of 1024");
	/* Within the limit, but the table does not fit in the file. */
	le32(p + 36, 6);
	fix_crc(p, len);
	expect_refused(p, len, -EINVAL,
		       "section table (6 entries) runs past the end");
	free(p);
}

Test(snapshot, refuses_sections_outside_the_payload_area)
{
	struct ent e[2] = {{1, 0, 96, 8}, {1, 1, 104, 8}};
	size_t len;
	uint8_t *p;

	/* 2 entries: payload area [96, 112). */
	p = craft(e, 2, 16, &len);
	expect_ok(p, len); /* the valid one */
	free(p);
	e[1].len = 9; /* into the CRC */
	p = craft(e, 2, 16, &len);
	expect_refused(p, len, -EINVAL,
		       "section 1 (type 0x1 instance 1) at 104 length 9 lies "
		       "outside the payload area [96, 112)");
	free(p);
	e[1].len = 8;
	e[0].off = 88; /* into the table */
	p = craft(e, 2, 16, &len);
	expect_refused(p, len, -EINVAL,
		       "section 0 (type 0x1 instance 0) at 88");
	free(p);
	e[0].off = UINT64_MAX - 3; /* wraps around */
	p = craft(e, 2, 16, &len);
	expect_refused(p, len, -EINVAL, "lies outside the payload area");
	free(p);
	e[0].off = 96;
	e[0].len = UINT64_MAX;
	p = craft(e, 2, 16, &len);
	expect_refused(
		p, len, -E2BIG,
		"section 0 (type 0x1 instance 0) is 18446744073709551615 "
		"bytes, more than the limit of 16777216");
	free(p);
	e[0].len = SNAP_MAX_SECTION + 1ull;
	p = craft(e, 2, 16, &len);
	expect_refused(p, len, -E2BIG, "more than the limit of 16777216");
	free(p);
	e[0].len = 4;
	e[0].off = 100; /* inside, but not aligned */
	p = craft(e, 2, 16, &len);
	expect_refused(p, len, -EINVAL, "at 100 is not aligned to 8 bytes");
	free(p);
}

Test(snapshot, refuses_overlapping_sections)
{
	struct ent e[3] = {{1, 0, 120, 16}, {2, 0, 136, 8}, {3, 0, 128, 8}};
	size_t len;
	uint8_t *p = craft(e, 3, 24, &len);

	expect_refused(p, len, -EINVAL, "sections 0 and 2 overlap");
	free(p);
	/* The same payload twice is an overlap too. */
	e[2].off = 136;
	p = craft(e, 3, 24, &len);
	expect_refused(p, len, -EINVAL, "sections 1 and 2 overlap");
	free(p);
	/* Empty sections take no room: they may sit anywhere inside. */
	e[2].len = 0;
	e[2].off = 128;
	p = craft(e, 3, 24, &len);
	expect_ok(p, len);
	free(p);
	e[2].off = 136;
	p = craft(e, 3, 24, &len);
	expect_ok(p, len);
	free(p);
}

Test(snapshot, refuses_duplicate_sections)
{
	struct ent e[3] = {{5, 1, 120, 8}, {5, 2, 128, 8}, {5, 1, 136, 0}};
	size_t len;
	uint8_t *p = craft(e, 3, 16, &len);

	expect_refused(
		p, len, -EINVAL,
		"duplicate section type 0x5 instance 1 (sections 0 and 2)");
	free(p);
}

Test(snapshot, crafted_file_parses)
{
	struct ent e[2] = {{0xdead, 3, 96, 8}, {0, 0, 104, 7}};
	struct snap_file f;
	size_t len;
	uint8_t *p = craft(e, 2, 15, &len);

	cr_assert_eq(snap_file_parse(p, len, &f, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(memcmp(f.cpu.vendor, "AuthenticAMD", 12), 0);
	cr_assert_eq(f.cpu.family_model_stepping, 0x00a50f00);
	cr_assert_eq(snap_file_find(&f, 0xdead, 3)->data[0], 1);
	cr_assert_eq(snap_file_find(&f, 0, 0)->len, 7);
	snap_file_free(&f);
	free(p);
}

/* ---- damage of every kind ---- */

Test(snapshot, truncation_at_every_length_is_refused)
{
	size_t len;
	uint8_t *p = small_file(&len);
	char want[64];

	for (size_t n = 0; n < len; n++) {
		struct snap_file f;

		if (n == 0)
			snprintf(want, sizeof(want), "empty file");
		else if (n < 52)
			snprintf(want, sizeof(want), "too short");
		else
			snprintf(want, sizeof(want),
				 "truncated: %zu of %zu bytes", n, len);
		expect_refused(p, n, -EINVAL, want);
		/* The same through a file on disk. */
		write_all(at("cut"), p, n);
		cr_assert_eq(snap_file_load(at("cut"), &f, err, sizeof(err)),
			     -EINVAL, "length %zu", n);
		cr_assert_not_null(strstr(err, want), "%zu: %s", n, err);
		cr_assert_null(f.buf);
	}
	free(p);
}

Test(snapshot, every_single_bit_flip_is_refused)
{
	size_t len;
	uint8_t *p = small_file(&len);

	for (size_t bit = 0; bit < len * 8; bit++) {
		struct snap_file f;
		int ret;

		p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		err[0] = '\0';
		ret = snap_file_parse(p, len, &f, err, sizeof(err));
		cr_assert_lt(ret, 0, "bit %zu accepted", bit);
		cr_assert_neq(err[0], '\0', "bit %zu: no message", bit);
		cr_assert_null(f.buf);
		p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	/* And unflipped, it is still good. */
	cr_assert_eq(snap_file_parse(p, len, &(struct snap_file){0}, err,
				     sizeof(err)),
		     0);
	free(p);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

Test(snapshot, random_bytes_are_refused)
{
	uint8_t buf[1024];

	for (int i = 0; i < 20000; i++) {
		size_t n = (size_t)(rnd() % sizeof(buf));
		struct snap_file f;

		for (size_t k = 0; k < n; k++)
			buf[k] = (uint8_t)rnd();
		/* Half of them with a good header, to reach the CRC. */
		if ((i & 1) && n >= 52) {
			memcpy(buf, "FIGSNAP\0", 8);
			le32(buf + 8, 1);
			le32(buf + 12, 1);
			le32(buf + 16, 48);
			le64(buf + 40, n);
		}
		cr_assert_lt(snap_file_parse(buf, n, &f, err, sizeof(err)), 0,
			     "random input %d accepted", i);
		if ((i & 1) && n >= 52)
			cr_assert_not_null(strstr(err, "checksum mismatch"),
					   "%s", err);
	}
}

/* ---- limits ---- */

Test(snapshot, writer_limits)
{
	struct snap_writer *w = snap_writer_new(&cpu);
	struct snap_file f;
	uint8_t byte = 0;

	/* Refused before a single byte is read or allocated. */
	cr_assert_eq(snap_writer_add(w, 1, 0, &byte, SNAP_MAX_SECTION + 1ull),
		     -E2BIG);
	cr_assert_eq(snap_writer_add(w, 1, 0, &byte, UINT64_MAX), -E2BIG);
	cr_assert_eq(snap_writer_add(w, 1, 0, NULL, 1), -EINVAL);
	for (uint32_t i = 0; i < SNAP_MAX_SECTIONS; i++)
		cr_assert_eq(snap_writer_add(w, 7, i, &byte, 0), 0, "%u", i);
	cr_assert_eq(snap_writer_add(w, 8, 0, &byte, 0), -E2BIG);
	cr_assert_eq(snap_writer_add(w, 7, 3, &byte, 0), -E2BIG);
	cr_assert_eq(snap_writer_commit(w, at("max"), err, sizeof(err)), 0);
	snap_writer_free(w);
	cr_assert_eq(snap_file_load(at("max"), &f, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(f.nr_sections, SNAP_MAX_SECTIONS);
	cr_assert_not_null(snap_file_find(&f, 7, 1023));
	snap_file_free(&f);

	w = snap_writer_new(&cpu);
	cr_assert_eq(snap_writer_add(w, 1, 0, &byte, 1), 0);
	cr_assert_eq(snap_writer_add(w, 1, 0, &byte, 1), -EEXIST);
	cr_assert_eq(snap_writer_add(w, 1, 1, &byte, 1), 0);
	snap_writer_free(w);
}

Test(snapshot, whole_file_limit)
{
	struct snap_writer *w = snap_writer_new(&cpu);
	uint8_t *big = calloc(1, SNAP_MAX_SECTION);
	struct snap_file f;
	struct stat st;

	cr_assert_not_null(big);
	big[0] = 0x42;
	for (uint32_t i = 0; i < 3; i++)
		cr_assert_eq(snap_writer_add(w, 1, i, big, SNAP_MAX_SECTION),
			     0);
	/* A fourth whole section would pass the file limit... */
	cr_assert_eq(snap_writer_add(w, 1, 3, big, SNAP_MAX_SECTION), -E2BIG);
	/* ...the most that still fits: 64 MiB - header, 4 entries, CRC. */
	cr_assert_eq(snap_writer_add(w, 1, 3, big,
				     SNAP_MAX_SECTION - 48 - 4 * 24 - 4 + 1),
		     -E2BIG);
	cr_assert_eq(snap_writer_add(w, 1, 3, big,
				     SNAP_MAX_SECTION - 48 - 4 * 24 - 4),
		     0);
	cr_assert_eq(snap_writer_add(w, 1, 4, big, 0), -E2BIG);
	free(big);
	cr_assert_eq(snap_writer_commit(w, at("big"), err, sizeof(err)), 0,
		     "%s", err);
	snap_writer_free(w);
	cr_assert_eq(stat(at("big"), &st), 0);
	cr_assert_eq(st.st_size, SNAP_MAX_FILE);
	cr_assert_eq(snap_file_load(at("big"), &f, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(snap_file_find(&f, 1, 2)->data[0], 0x42);
	snap_file_free(&f);
	/* One byte more on disk: refused by its size, before reading. */
	cr_assert_eq(truncate(at("big"), SNAP_MAX_FILE + 1), 0);
	cr_assert_eq(snap_file_load(at("big"), &f, err, sizeof(err)), -E2BIG);
	cr_assert_not_null(
		strstr(err, "is 67108865 bytes, more than the limit"), "%s",
		err);
}

Test(snapshot, load_refuses_a_huge_claim_without_allocating)
{
	size_t len;
	uint8_t *p = small_file(&len);
	struct snap_file f;

	/* A sparse 60 MiB file whose header says something else: refused
	 * after reading the header only. */
	le64(p + 40, 60u << 20);
	write_all(at("sparse"), p, len);
	cr_assert_eq(truncate(at("sparse"), 60u << 20), 0);
	le64(p + 40, 61u << 20);
	{
		int fd = open(at("sparse"), O_WRONLY);

		cr_assert_eq(pwrite(fd, p, 48, 0), 48);
		close(fd);
	}
	cr_assert_eq(snap_file_load(at("sparse"), &f, err, sizeof(err)),
		     -EINVAL);
	cr_assert_not_null(strstr(err, "truncated: 62914560 of 63963136 bytes"),
			   "%s", err);
	free(p);
}

/* ---- what load opens ---- */

Test(snapshot, load_refuses_non_regular_files_without_blocking)
{
	struct snap_file f;

	cr_assert_eq(mkfifo(at("fifo"), 0600), 0);
	cr_assert_eq(snap_file_load(at("fifo"), &f, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "is a FIFO, not a regular file"), "%s",
			   err);
	cr_assert_eq(snap_file_load(dir, &f, err, sizeof(err)), -EISDIR);
	cr_assert_not_null(strstr(err, "is a directory"), "%s", err);
	cr_assert_eq(snap_file_load("/dev/null", &f, err, sizeof(err)),
		     -EINVAL);
	cr_assert_eq(snap_file_load(at("missing"), &f, err, sizeof(err)),
		     -ENOENT);
	cr_assert_not_null(strstr(err, "No such file"), "%s", err);
	cr_assert_null(f.buf);
}

/* ---- commit failures leave nothing behind ---- */

Test(snapshot, commit_into_a_missing_directory)
{
	struct snap_writer *w = small_writer();
	char names[256], want[600];

	cr_assert_eq(snap_writer_commit(w, at("nope/state"), err, sizeof(err)),
		     -ENOENT);
	snprintf(want, sizeof(want),
		 "cannot write snapshot '%s/nope/state': cannot create a "
		 "temporary file in '%s/nope': No such file or directory",
		 dir, dir);
	cr_assert_str_eq(err, want);
	cr_assert_eq(list_dir(dir, names, sizeof(names)), 0, "%s", names);
	cr_assert_eq(snap_writer_commit(w, at(""), err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "not a file name"), "%s", err);
	/* Onto a directory: the rename fails, the temporary goes. */
	cr_assert_eq(mkdir(at("d"), 0700), 0);
	cr_assert_lt(snap_writer_commit(w, at("d"), err, sizeof(err)), 0);
	cr_assert_not_null(strstr(err, "rename"), "%s", err);
	cr_assert_eq(list_dir(dir, names, sizeof(names)), 1, "%s", names);
	snap_writer_free(w);
}

Test(snapshot, commit_onto_a_full_filesystem)
{
	struct snap_writer *w;
	uint8_t *big = calloc(1, 256 << 10);
	char mnt[256], names[256];
	struct snap_file f;
	int ret;

	snprintf(mnt, sizeof(mnt), "%s/full", dir);
	cr_assert_eq(mkdir(mnt, 0700), 0);
	if (geteuid() != 0 ||
	    mount("none", mnt, "tmpfs", 0, "size=64k,mode=0700") < 0)
		cr_skip_test("cannot mount a tmpfs: %s", strerror(errno));
	/* An old snapshot there first: a failed commit must keep it. */
	w = small_writer();
	snprintf(path, sizeof(path), "%s/state", mnt);
	ret = snap_writer_commit(w, path, err, sizeof(err));
	snap_writer_free(w);
	if (ret)
		goto unmount;
	w = snap_writer_new(&cpu);
	snap_writer_add(w, 1, 0, big, 256 << 10);
	snprintf(path, sizeof(path), "%s/state", mnt);
	ret = snap_writer_commit(w, path, err, sizeof(err));
	snap_writer_free(w);
	if (ret != -ENOSPC)
		goto unmount;
	ret = list_dir(mnt, names, sizeof(names)) == 1 &&
			      !strcmp(names, "state ")
		      ? 0
		      : -1;
	if (ret)
		goto unmount;
	ret = snap_file_load(path, &f, err + 256, sizeof(err) - 256);
	if (!ret) {
		check_small(&f);
		snap_file_free(&f);
	}
unmount:
	cr_assert_eq(umount(mnt), 0, "umount %s: %s", mnt, strerror(errno));
	free(big);
	cr_assert_eq(ret, 0, "ret %d, err '%s', left '%s'", ret, err, names);
	cr_assert_not_null(strstr(err, "cannot write snapshot"), "%s", err);
	cr_assert_not_null(strstr(err, "No space left on device"), "%s", err);
}

/* ---- the payload cursor ---- */

Test(snap_buf, round_trip_little_endian)
{
	struct snap_buf b;
	uint8_t u8, raw[3], blob[8];
	uint16_t u16;
	uint32_t u32, n;
	uint64_t u64;
	static const uint8_t want[] = {0xab, 0x34, 0x12, 0x78, 0x56, 0x34,
				       0x12, 0x08, 0x07, 0x06, 0x05, 0x04,
				       0x03, 0x02, 0x01, 'x',  'y',  'z',
				       2,    0,	   0,	 0,    'h',  'i'};

	snap_buf_init_write(&b);
	snap_put_u8(&b, 0xab);
	snap_put_u16(&b, 0x1234);
	snap_put_u32(&b, 0x12345678);
	snap_put_u64(&b, 0x0102030405060708ull);
	snap_put(&b, "xyz", 3);
	snap_put_blob(&b, "hi", 2);
	cr_assert_not(b.err);
	cr_assert_eq(b.len, sizeof(want));
	cr_assert_eq(memcmp(b.p, want, sizeof(want)), 0);

	struct snap_buf r;

	snap_buf_init_read(&r, b.p, b.len);
	cr_assert(snap_get_u8(&r, &u8));
	cr_assert(snap_get_u16(&r, &u16));
	cr_assert(snap_get_u32(&r, &u32));
	cr_assert_not(snap_get_done(&r));
	cr_assert(snap_get_u64(&r, &u64));
	cr_assert(snap_get(&r, raw, 3));
	cr_assert(snap_get_blob(&r, blob, sizeof(blob), &n));
	cr_assert(snap_get_done(&r));
	cr_assert_eq(u8, 0xab);
	cr_assert_eq(u16, 0x1234);
	cr_assert_eq(u32, 0x12345678);
	cr_assert_eq(u64, 0x0102030405060708ull);
	cr_assert_eq(memcmp(raw, "xyz", 3), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(memcmp(blob, "hi", 2), 0);
	snap_buf_free(&b);
	cr_assert_null(b.p);
}

Test(snap_buf, short_reads_fail_and_stay_failed)
{
	static const uint8_t data[] = {1, 2, 3};
	struct snap_buf r;
	uint32_t u32 = 99;
	uint8_t u8 = 99;

	snap_buf_init_read(&r, data, sizeof(data));
	cr_assert_not(snap_get_u32(&r, &u32));
	cr_assert(r.err);
	cr_assert_eq(u32, 0);
	cr_assert_eq(r.off, 0);
	/* Sticky: a byte is there, but the sequence already failed. */
	cr_assert_not(snap_get_u8(&r, &u8));
	cr_assert_eq(u8, 0);
	cr_assert_not(snap_get_done(&r));
	/* Trailing bytes are not "done" either. */
	snap_buf_init_read(&r, data, sizeof(data));
	cr_assert(snap_get_u16(&r, &(uint16_t){0}));
	cr_assert_not(snap_get_done(&r));
	snap_buf_init_section(&r, NULL);
	cr_assert(r.err);
}

Test(snap_buf, blobs_are_length_checked)
{
	static const uint8_t too_long[] = {9, 0, 0, 0, 'a', 'b'};
	static const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 'a'};
	static const uint8_t fits[] = {2, 0, 0, 0, 'a', 'b'};
	struct snap_buf r;
	uint8_t dst[4];
	uint32_t n = 5;

	snap_buf_init_read(&r, too_long, sizeof(too_long));
	cr_assert_not(snap_get_blob(&r, dst, sizeof(dst), &n)); /* > cap */
	cr_assert(r.err);
	cr_assert_eq(n, 0);
	snap_buf_init_read(&r, huge, sizeof(huge));
	cr_assert_not(snap_get_blob(&r, dst, sizeof(dst), &n));
	snap_buf_init_read(&r, fits, sizeof(fits));
	cr_assert_not(snap_get_blob(&r, dst, 1, &n)); /* room for 1 only */
	snap_buf_init_read(&r, too_long, sizeof(too_long));
	{
		uint8_t big[16];

		/* Room enough, but the bytes are not there. */
		cr_assert_not(snap_get_blob(&r, big, sizeof(big), &n));
	}
	snap_buf_init_read(&r, fits, sizeof(fits));
	cr_assert(snap_get_blob(&r, dst, 2, &n));
	cr_assert_eq(n, 2);
	cr_assert(snap_get_done(&r));
}

Test(snap_buf, writer_stops_at_the_section_limit)
{
	struct snap_buf b;

	snap_buf_init_write(&b);
	snap_put(&b, "", SNAP_MAX_SECTION + (size_t)1);
	cr_assert(b.err);
	cr_assert_eq(b.len, 0);
	snap_buf_free(&b);

	uint8_t *big = calloc(1, SNAP_MAX_SECTION);

	snap_buf_init_write(&b);
	snap_put(&b, big, SNAP_MAX_SECTION - 1);
	cr_assert_not(b.err);
	snap_put_u16(&b, 1);
	cr_assert(b.err);
	cr_assert_eq(b.len, SNAP_MAX_SECTION - 1);
	snap_put_u8(&b, 1); /* sticky */
	cr_assert_eq(b.len, SNAP_MAX_SECTION - 1);
	snap_buf_free(&b);
	snap_buf_init_write(&b);
	snap_put_blob(&b, big, SNAP_MAX_SECTION - 3); /* + 4 is one too many */
	cr_assert(b.err);
	cr_assert_eq(b.len, 0);
	snap_buf_free(&b);
	free(big);
}
