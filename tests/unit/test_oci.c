// SPDX-License-Identifier: Apache-2.0
/* Container images: the OCI layout reader (index, manifest, config,
 * platform, digests), layer unpacking (whiteouts, hard links, path escapes,
 * device nodes, compression) and the disk cache, on fixture images built
 * here with libarchive. */
#include <archive.h>
#include <archive_entry.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container/image_disk.h"
#include "container/layer_unpack.h"
#include "container/oci_image.h"

static char dir[] = "/tmp/figment-oci-XXXXXX";
static char err[1024];

static void setup(void)
{
	strcpy(dir, "/tmp/figment-oci-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	memset(err, 0, sizeof(err));
}

static void teardown(void)
{
	layer_remove_tree(dir);
}

static char *pathf(const char *fmt, const char *a)
{
	static char bufs[4][4096];
	static int i;
	char *b = bufs[i++ % 4];
	char rel[2048];
	snprintf(rel, sizeof(rel), fmt, a);
	snprintf(b, 4096, "%s/%s", dir, rel);
	return b;
}

/* One tar member: type 'f' file (data), 'd' folder, 'l' symlink (data is
 * the target), 'h' hard link (data is the target), 'c' char device. */
struct member {
	char type;
	const char *name;
	const char *data;
};

enum compress { PLAIN, GZIP, ZSTD };

/* Writes a tar of @m into @out (a full path). */
static void write_tar(const char *out, const struct member *m, enum compress c)
{
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	if (c == GZIP)
		archive_write_add_filter_gzip(a);
	if (c == ZSTD)
		archive_write_add_filter_zstd(a);
	cr_assert_eq(archive_write_open_filename(a, out), ARCHIVE_OK);
	for (; m->name; m++) {
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, m->name);
		archive_entry_set_mtime(e, 1700000000, 0);
		size_t len = 0;
		switch (m->type) {
		case 'f':
			len = strlen(m->data);
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_perm(e, 0644);
			archive_entry_set_size(e, (la_int64_t)len);
			break;
		case 'd':
			archive_entry_set_filetype(e, AE_IFDIR);
			archive_entry_set_perm(e, 0755);
			break;
		case 'l':
			archive_entry_set_filetype(e, AE_IFLNK);
			archive_entry_set_perm(e, 0777);
			archive_entry_set_symlink(e, m->data);
			break;
		case 'h':
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_perm(e, 0644);
			archive_entry_set_hardlink(e, m->data);
			break;
		case 'c':
			archive_entry_set_filetype(e, AE_IFCHR);
			archive_entry_set_perm(e, 0666);
			archive_entry_set_rdevmajor(e, 1);
			archive_entry_set_rdevminor(e, 3);
			break;
		}
		cr_assert_eq(archive_write_header(a, e), ARCHIVE_OK, "%s", archive_error_string(a));
		if (len)
			cr_assert_eq(archive_write_data(a, m->data, len), (la_ssize_t)len);
		archive_entry_free(e);
	}
	cr_assert_eq(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	cr_assert(fd >= 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static char *read_text(const char *path)
{
	static char buf[4096];
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return NULL;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	return buf;
}

/* Puts @len bytes in as a blob; its digest into @digest. */
static void add_blob(const void *data, size_t len, char digest[OCI_DIGEST_LEN])
{
	oci_sha256_buf(data, len, digest);
	write_file(pathf("layout/blobs/sha256/%s", digest + 7), data, len);
}

static void add_blob_file(const char *file, char digest[OCI_DIGEST_LEN], uint64_t *size)
{
	cr_assert_eq(oci_sha256_file(file, digest, size), 0);
	cr_assert_eq(rename(file, pathf("layout/blobs/sha256/%s", digest + 7)), 0);
}

struct fixture {
	const char *arch;          /* config's architecture */
	const char *index_platform; /* NULL: no platform in the index */
	const struct member *layers[3];
	enum compress compress;
	const char *config_extra; /* JSON members of "config" */
};

static char manifest_digest[OCI_DIGEST_LEN];
static char layer_digest[3][OCI_DIGEST_LEN];
static char config_digest[OCI_DIGEST_LEN];

/* A layout in dir/layout. */
static void make_layout(const struct fixture *f)
{
	mkdir(pathf("layout", ""), 0755);
	mkdir(pathf("layout/blobs", ""), 0755);
	mkdir(pathf("layout/blobs/sha256", ""), 0755);
	write_file(pathf("layout/oci-layout", ""), "{\"imageLayoutVersion\":\"1.0.0\"}", 30);
	char layers[2048] = "";
	for (int i = 0; i < 3 && f->layers[i]; i++) {
		char tmp[64];
		snprintf(tmp, sizeof(tmp), "layer%d.tar", i);
		write_tar(pathf("%s", tmp), f->layers[i], f->compress);
		uint64_t size;
		add_blob_file(pathf("%s", tmp), layer_digest[i], &size);
		size_t l = strlen(layers);
		snprintf(layers + l, sizeof(layers) - l,
			 "%s{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\","
			 "\"digest\":\"%s\",\"size\":%llu}",
			 i ? "," : "", layer_digest[i], (unsigned long long)size);
	}
	char cfg[2048];
	int n = snprintf(cfg, sizeof(cfg),
			 "{\"architecture\":\"%s\",\"os\":\"linux\",\"config\":{%s},"
			 "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
			 f->arch, f->config_extra ? f->config_extra : "");
	add_blob(cfg, (size_t)n, config_digest);
	char man[4096];
	n = snprintf(man, sizeof(man),
		     "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
		     "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
		     "\"digest\":\"%s\",\"size\":%d},\"layers\":[%s]}",
		     config_digest, (int)strlen(cfg), layers);
	add_blob(man, (size_t)n, manifest_digest);
	char plat[128] = "";
	if (f->index_platform)
		snprintf(plat, sizeof(plat), ",\"platform\":{\"os\":\"linux\",\"architecture\":\"%s\"}",
			 f->index_platform);
	char idx[1024];
	n = snprintf(idx, sizeof(idx),
		     "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
		     "\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"%s\",\"size\":%d%s}]}",
		     manifest_digest, (int)strlen(man), plat);
	write_file(pathf("layout/index.json", ""), idx, (size_t)n);
}

static const struct member base_layer[] = {
	{ 'd', "etc", NULL },
	{ 'f', "etc/hostname", "base\n" },
	{ 'f', "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n" },
	{ 'd', "bin", NULL },
	{ 'f', "bin/busybox", "#!binary\n" },
	{ 'l', "bin/sh", "/bin/busybox" },
	{ 'h', "bin/ls", "bin/busybox" },
	{ 'd', "var/cache", NULL },
	{ 'f', "var/cache/a", "a" },
	{ 'f', "var/cache/b", "b" },
	{ 0, NULL, NULL },
};

TestSuite(oci, .init = setup, .fini = teardown);

Test(oci, clean_path)
{
	char out[64];
	cr_assert_eq(layer_clean_path("./etc//passwd", out, sizeof(out)), 0);
	cr_assert_str_eq(out, "etc/passwd");
	cr_assert_eq(layer_clean_path("/usr/./bin/", out, sizeof(out)), 0);
	cr_assert_str_eq(out, "usr/bin");
	cr_assert_eq(layer_clean_path("./", out, sizeof(out)), 0);
	cr_assert_str_eq(out, "");
	cr_assert_eq(layer_clean_path("..foo/x..", out, sizeof(out)), 0);
	cr_assert_str_eq(out, "..foo/x..");
	cr_assert_eq(layer_clean_path("../etc/passwd", out, sizeof(out)), -1);
	cr_assert_eq(layer_clean_path("a/../../b", out, sizeof(out)), -1);
	cr_assert_eq(layer_clean_path("a/..", out, sizeof(out)), -1);
	cr_assert_eq(layer_clean_path("aaaaaaaaaaaaaaaaaaaa", out, 8), -1);
}

Test(oci, digest_syntax)
{
	cr_assert_eq(oci_digest_valid("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"), 0);
	cr_assert_neq(oci_digest_valid("sha256:../../../../etc/passwd"), 0);
	cr_assert_neq(oci_digest_valid("sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"), 0);
	cr_assert_neq(oci_digest_valid("sha512:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"), 0);
	char d[OCI_DIGEST_LEN];
	oci_sha256_buf("", 0, d);
	cr_assert_str_eq(d, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static const struct member upper_layer[] = {
	{ 'f', "etc/.wh.hostname", "" },
	{ 'f', "etc/motd", "upper\n" },
	{ 'd', "var/cache", NULL },
	{ 'f', "var/cache/.wh..wh..opq", "" },
	{ 'f', "var/cache/c", "c" },
	{ 'f', "bin/.wh.missing", "" },
	{ 0, NULL, NULL },
};

Test(oci, layout_config_and_layers)
{
	struct fixture f = {
		.arch = "amd64", .index_platform = "amd64",
		.layers = { base_layer, upper_layer }, .compress = GZIP,
		.config_extra = "\"Entrypoint\":[\"/bin/sh\",\"-c\"],\"Cmd\":[\"echo hi\"],"
				"\"Env\":[\"PATH=/bin\",\"A=b c\"],\"WorkingDir\":\"/srv\",\"User\":\"1000:1000\"",
	};
	make_layout(&f);
	struct oci_image img;
	cr_assert_eq(oci_image_open(pathf("layout", ""), "amd64", &img, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(oci_image_check_layers(&img, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(img.manifest_digest, manifest_digest);
	cr_assert_eq(img.n_layers, 2);
	cr_assert_str_eq(img.layers[1].digest, layer_digest[1]);
	cr_assert_eq(img.process.entrypoint.n, 2);
	cr_assert_str_eq(img.process.entrypoint.v[1], "-c");
	cr_assert_str_eq(img.process.cmd.v[0], "echo hi");
	cr_assert_null(img.process.cmd.v[1]);
	cr_assert_str_eq(img.process.env.v[1], "A=b c");
	cr_assert_str_eq(img.process.workdir, "/srv");
	cr_assert_str_eq(img.process.user, "1000:1000");

	mkdir(pathf("root", ""), 0755);
	for (size_t i = 0; i < img.n_layers; i++)
		cr_assert_eq(layer_unpack(pathf("root", ""), img.layers[i].path, err, sizeof(err)), 0,
			     "%s", err);
	oci_image_free(&img);
	struct stat st, st2;
	/* whiteout removed the lower file; a whiteout of a missing file is no error */
	cr_assert_eq(lstat(pathf("root/etc/hostname", ""), &st), -1);
	cr_assert_str_eq(read_text(pathf("root/etc/motd", "")), "upper\n");
	cr_assert_str_eq(read_text(pathf("root/etc/passwd", "")), "root:x:0:0:root:/root:/bin/sh\n");
	/* opaque folder: the lower contents gone, the layer's own kept */
	cr_assert_eq(lstat(pathf("root/var/cache/a", ""), &st), -1);
	cr_assert_eq(lstat(pathf("root/var/cache/b", ""), &st), -1);
	cr_assert_str_eq(read_text(pathf("root/var/cache/c", "")), "c");
	cr_assert_eq(lstat(pathf("root/var/cache/.wh..wh..opq", ""), &st), -1);
	/* symlinks kept as they are (absolute ones too), hard links linked */
	char target[64] = "";
	cr_assert_gt(readlink(pathf("root/bin/sh", ""), target, sizeof(target) - 1), 0);
	cr_assert_str_eq(target, "/bin/busybox");
	cr_assert_eq(stat(pathf("root/bin/ls", ""), &st), 0);
	cr_assert_eq(stat(pathf("root/bin/busybox", ""), &st2), 0);
	cr_assert_eq(st.st_ino, st2.st_ino);
	cr_assert_eq(st.st_nlink, 2);
}

Test(oci, zstd_and_plain_layers)
{
	enum compress cs[] = { ZSTD, PLAIN };
	for (int i = 0; i < 2; i++) {
		teardown();
		setup();
		struct fixture f = { .arch = "amd64", .layers = { base_layer }, .compress = cs[i] };
		make_layout(&f);
		struct oci_image img;
		cr_assert_eq(oci_image_open(pathf("layout", ""), "amd64", &img, err, sizeof(err)), 0,
			     "%s", err);
		mkdir(pathf("root", ""), 0755);
		cr_assert_eq(layer_unpack(pathf("root", ""), img.layers[0].path, err, sizeof(err)), 0,
			     "%s", err);
		cr_assert_str_eq(read_text(pathf("root/etc/hostname", "")), "base\n");
		oci_image_free(&img);
	}
}

static void expect_layer_error(const char *needle)
{
	struct oci_image img;
	cr_assert_eq(oci_image_open(pathf("layout", ""), "amd64", &img, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(oci_image_check_layers(&img, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, needle), "error '%s' lacks '%s'", err, needle);
	oci_image_free(&img);
}

static void expect_open_error(const char *needle)
{
	struct oci_image img;
	cr_assert_eq(oci_image_open(pathf("layout", ""), "amd64", &img, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, needle), "error '%s' lacks '%s'", err, needle);
}

Test(oci, no_index)
{
	mkdir(pathf("layout", ""), 0755);
	expect_open_error("index.json: missing");
	struct oci_image img;
	cr_assert_eq(oci_image_open(pathf("nothing", ""), "amd64", &img, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "not a directory"), "%s", err);
}

Test(oci, malformed_index)
{
	mkdir(pathf("layout", ""), 0755);
	write_file(pathf("layout/index.json", ""), "{\"schemaVersion\":2,", 19);
	expect_open_error("not valid JSON");
	write_file(pathf("layout/index.json", ""), "{\"schemaVersion\":2}", 19);
	expect_open_error("no \"manifests\"");
	const char *bad = "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
			  "\"application/vnd.oci.image.manifest.v1+json\","
			  "\"digest\":\"sha256:../../../../../etc/passwd\",\"size\":1}]}";
	write_file(pathf("layout/index.json", ""), bad, strlen(bad));
	expect_open_error("is not sha256:<64 lowercase hex digits>");
}

Test(oci, digest_mismatch)
{
	struct fixture f = { .arch = "amd64", .layers = { base_layer }, .compress = GZIP };
	make_layout(&f);
	/* a layer blob changed after the manifest named it */
	char *lp = pathf("layout/blobs/sha256/%s", layer_digest[0] + 7);
	int fd = open(lp, O_WRONLY);
	cr_assert(fd >= 0);
	cr_assert_eq(pwrite(fd, "X", 1, 20), 1);
	close(fd);
	expect_layer_error("does not match its digest");
	/* a blob gone */
	unlink(lp);
	expect_layer_error("missing from blobs/sha256");
	/* the manifest blob itself changed */
	make_layout(&f);
	char *mp = pathf("layout/blobs/sha256/%s", manifest_digest + 7);
	char *m = strdup(read_text(mp));
	m[strlen(m) - 1] = ' ';
	write_file(mp, m, strlen(m));
	free(m);
	expect_open_error("manifest: blob");
}

Test(oci, other_architecture)
{
	struct fixture f = { .arch = "arm64", .index_platform = "arm64", .layers = { base_layer } };
	make_layout(&f);
	expect_open_error("image is for linux/arm64, not linux/amd64");
	/* no platform in the index: the config says */
	struct fixture g = { .arch = "arm64", .layers = { base_layer } };
	make_layout(&g);
	expect_open_error("image is for linux/arm64, not linux/amd64");
}

static void expect_unpack_error(const struct member *m, const char *needle)
{
	write_tar(pathf("l.tar", ""), m, GZIP);
	mkdir(pathf("root", ""), 0755);
	cr_assert_eq(layer_unpack(pathf("root", ""), pathf("l.tar", ""), err, sizeof(err)), -1,
		     "no error for '%s'", needle);
	cr_assert_not_null(strstr(err, needle), "error '%s' lacks '%s'", err, needle);
}

Test(oci, dotdot_escape)
{
	static const struct member m[] = { { 'f', "../escaped", "x" }, { 0, NULL, NULL } };
	expect_unpack_error(m, "escapes the root");
	struct stat st;
	cr_assert_eq(lstat(pathf("escaped", ""), &st), -1);
}

Test(oci, symlink_escape)
{
	/* an absolute symlink to a host folder, then a file written through it */
	mkdir(pathf("outside", ""), 0755);
	char target[4200];
	snprintf(target, sizeof(target), "%s/outside", dir);
	struct member m[] = { { 'l', "evil", target }, { 'f', "evil/pwned", "x" },
			      { 0, NULL, NULL } };
	expect_unpack_error(m, "goes through a symlink");
	struct stat st;
	cr_assert_eq(lstat(pathf("outside/pwned", ""), &st), -1);
	/* the same with a relative one that climbs out */
	layer_remove_tree(pathf("root", ""));
	struct member r[] = { { 'l', "up", "../outside" }, { 'f', "up/pwned", "x" },
			      { 0, NULL, NULL } };
	expect_unpack_error(r, "goes through a symlink");
	cr_assert_eq(lstat(pathf("outside/pwned", ""), &st), -1);
}

Test(oci, hardlink_escape)
{
	static const struct member m[] = { { 'h', "passwd", "../../../../etc/passwd" },
					   { 0, NULL, NULL } };
	expect_unpack_error(m, "escapes the root");
	struct stat st;
	cr_assert_eq(lstat(pathf("root/passwd", ""), &st), -1);
}

Test(oci, whiteout_outside)
{
	/* a whiteout through a symlink out of the root removes nothing there */
	mkdir(pathf("outside", ""), 0755);
	write_file(pathf("outside/keep", ""), "k", 1);
	char target[4200];
	snprintf(target, sizeof(target), "%s/outside", dir);
	struct member base[] = { { 'l', "link", target }, { 0, NULL, NULL } };
	write_tar(pathf("b.tar", ""), base, GZIP);
	mkdir(pathf("root", ""), 0755);
	cr_assert_eq(layer_unpack(pathf("root", ""), pathf("b.tar", ""), err, sizeof(err)), 0, "%s", err);
	static const struct member wh[] = { { 'f', "link/.wh.keep", "" }, { 0, NULL, NULL } };
	expect_unpack_error(wh, "goes through a symlink");
	struct stat st;
	cr_assert_eq(lstat(pathf("outside/keep", ""), &st), 0);
	static const struct member up[] = { { 'f', "../.wh.outside", "" }, { 0, NULL, NULL } };
	expect_unpack_error(up, "escapes the root");
	cr_assert_eq(lstat(pathf("outside/keep", ""), &st), 0);
}

Test(oci, device_node_refused)
{
	static const struct member m[] = { { 'c', "dev/null", NULL }, { 0, NULL, NULL } };
	expect_unpack_error(m, "is a device node");
	struct stat st;
	cr_assert_eq(lstat(pathf("root/dev/null", ""), &st), -1);
}

Test(oci, not_a_tar)
{
	mkdir(pathf("root", ""), 0755);
	write_file(pathf("junk", ""), "this is not a tar archive at all, only some text\n", 50);
	cr_assert_eq(layer_unpack(pathf("root", ""), pathf("junk", ""), err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "not a tar archive"), "%s", err);
}

Test(oci, cache_built_once_and_nothing_left_on_failure)
{
	if (access("/usr/sbin/mke2fs", X_OK) && access("/sbin/mke2fs", X_OK))
		cr_skip_test("mke2fs (e2fsprogs) is missing");
	setenv("FIGMENT_CACHE", pathf("cache", ""), 1);
	struct fixture f = { .arch = "amd64", .layers = { base_layer, upper_layer }, .compress = GZIP };
	make_layout(&f);
	struct oci_image img;
	cr_assert_eq(oci_image_open(pathf("layout", ""), "amd64", &img, err, sizeof(err)), 0, "%s", err);
	char disk[4096], disk2[4096];
	bool built;
	cr_assert_eq(image_disk_get(&img, disk, sizeof(disk), &built, err, sizeof(err)), 0, "%s", err);
	cr_assert(built);
	cr_assert_not_null(strstr(disk, manifest_digest + 7));
	struct stat st;
	cr_assert_eq(stat(disk, &st), 0);
	cr_assert_gt(st.st_size, 0);
	cr_assert_eq(image_disk_get(&img, disk2, sizeof(disk2), &built, err, sizeof(err)), 0, "%s", err);
	cr_assert_not(built, "second get unpacked again");
	cr_assert_str_eq(disk, disk2);
	/* a container's copy: same size, sparse */
	cr_assert_eq(image_disk_copy(disk, pathf("copy.ext4", ""), err, sizeof(err)), 0, "%s", err);
	struct stat cst;
	cr_assert_eq(stat(pathf("copy.ext4", ""), &cst), 0);
	cr_assert_eq(cst.st_size, st.st_size);
	cr_assert_lt(cst.st_blocks * 512, cst.st_size / 2, "the copy is not sparse");
	cr_assert_eq(image_disk_copy(disk, pathf("copy.ext4", ""), err, sizeof(err)), -1);
	oci_image_free(&img);

	/* a bad layer: an error and nothing in the cache but the lock */
	static const struct member bad[] = { { 'c', "dev/zero", NULL }, { 0, NULL, NULL } };
	struct fixture g = { .arch = "amd64", .layers = { base_layer, bad }, .compress = GZIP };
	layer_remove_tree(pathf("layout", ""));
	make_layout(&g);
	cr_assert_eq(oci_image_open(pathf("layout", ""), "amd64", &img, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(image_disk_get(&img, disk, sizeof(disk), &built, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "layer 2"), "%s", err);
	cr_assert_not_null(strstr(err, "device node"), "%s", err);
	oci_image_free(&img);
	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "test $(ls -A %s/cache/containers | grep -v '^.lock$' | wc -l) = 1",
		 dir);
	cr_assert_eq(system(cmd), 0, "the failed build left something in the cache");
	unsetenv("FIGMENT_CACHE");
}
