// SPDX-License-Identifier: Apache-2.0
/* Reading an OCI image layout: index.json -> manifest -> config, layers.
 * Nothing is trusted before its digest is checked: a descriptor's digest
 * becomes a path only once it is 64 hex digits, and a blob is parsed only
 * after its size and sha256 match. */
#include "container/oci_image.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <nettle/sha2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MT_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"

static void fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int oci_digest_valid(const char *s)
{
	if (!s || strncmp(s, "sha256:", 7) || strlen(s) != OCI_DIGEST_LEN - 1)
		return -1;
	for (const char *p = s + 7; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return -1;
	return 0;
}

static void hex_digest(struct sha256_ctx *ctx, char out[OCI_DIGEST_LEN])
{
	uint8_t d[SHA256_DIGEST_SIZE];
	sha256_digest(ctx, sizeof(d), d);
	memcpy(out, "sha256:", 7);
	for (size_t i = 0; i < sizeof(d); i++)
		sprintf(out + 7 + 2 * i, "%02x", d[i]);
}

void oci_sha256_buf(const void *buf, size_t len, char out[OCI_DIGEST_LEN])
{
	struct sha256_ctx ctx;
	sha256_init(&ctx);
	sha256_update(&ctx, len, buf);
	hex_digest(&ctx, out);
}

int oci_sha256_file(const char *path, char out[OCI_DIGEST_LEN], uint64_t *size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	struct sha256_ctx ctx;
	sha256_init(&ctx);
	static uint8_t buf[1 << 16];
	uint64_t total = 0;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		if (n == 0)
			break;
		sha256_update(&ctx, (size_t)n, buf);
		total += (uint64_t)n;
	}
	close(fd);
	hex_digest(&ctx, out);
	if (size)
		*size = total;
	return 0;
}

void oci_strv_free(struct oci_strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

int oci_strv_push(struct oci_strv *s, const char *str)
{
	char **v = realloc(s->v, (s->n + 2) * sizeof(*v));
	if (!v)
		return -1;
	s->v = v;
	if (!(v[s->n] = strdup(str)))
		return -1;
	v[++s->n] = NULL;
	return 0;
}

void oci_image_free(struct oci_image *img)
{
	for (size_t i = 0; i < img->n_layers; i++)
		free(img->layers[i].path);
	free(img->layers);
	oci_strv_free(&img->process.entrypoint);
	oci_strv_free(&img->process.cmd);
	oci_strv_free(&img->process.env);
	free(img->process.workdir);
	free(img->process.user);
	memset(img, 0, sizeof(*img));
}

/* A descriptor's digest and size, checked; its blob's path into @path. */
static int descriptor(const char *dir, json_t *d, const char *what,
		      char digest[OCI_DIGEST_LEN], uint64_t *size, char **path,
		      char *err, size_t errlen)
{
	json_t *jd = json_object_get(d, "digest"), *js = json_object_get(d, "size");
	if (!json_is_object(d) || !json_is_string(jd) || !json_is_integer(js) ||
	    json_integer_value(js) < 0) {
		fail(err, errlen, "%s: a descriptor needs a \"digest\" string and a \"size\"", what);
		return -1;
	}
	const char *ds = json_string_value(jd);
	if (oci_digest_valid(ds)) {
		fail(err, errlen, "%s: digest '%.80s' is not sha256:<64 lowercase hex digits>",
		     what, ds);
		return -1;
	}
	strcpy(digest, ds);
	*size = (uint64_t)json_integer_value(js);
	if (asprintf(path, "%s/blobs/sha256/%s", dir, ds + 7) < 0) {
		*path = NULL;
		fail(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* Checks the blob at @path against @digest and @size. */
static int check_blob(const char *path, const char *what, const char *digest,
		      uint64_t size, char *err, size_t errlen)
{
	char got[OCI_DIGEST_LEN];
	uint64_t got_size;
	if (oci_sha256_file(path, got, &got_size)) {
		fail(err, errlen, "%s: blob %s: %s", what, digest,
		     errno == ENOENT ? "missing from blobs/sha256" :
		     errno == EINVAL ? "not a regular file" : strerror(errno));
		return -1;
	}
	if (got_size != size) {
		fail(err, errlen, "%s: blob %s is %llu bytes, its descriptor says %llu", what,
		     digest, (unsigned long long)got_size, (unsigned long long)size);
		return -1;
	}
	if (strcmp(got, digest)) {
		fail(err, errlen, "%s: blob %s does not match its digest (its content is %s)",
		     what, digest, got);
		return -1;
	}
	return 0;
}

/* Reads and parses a JSON file of at most OCI_JSON_MAX bytes; when @digest
 * is given, the bytes must have it (read once: what is checked is what is
 * parsed). */
static json_t *load_json(const char *path, const char *what, const char *digest,
			 uint64_t size, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		fail(err, errlen, "%s: %s", what,
		     fd < 0 && errno == ENOENT ? "missing" :
		     fd < 0 ? strerror(errno) : "not a regular file");
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if ((uint64_t)st.st_size > OCI_JSON_MAX || (digest && size > OCI_JSON_MAX)) {
		close(fd);
		fail(err, errlen, "%s: larger than %u bytes", what, OCI_JSON_MAX);
		return NULL;
	}
	size_t len = (size_t)st.st_size;
	char *buf = malloc(len + 1);
	size_t got = 0;
	while (buf && got < len) {
		ssize_t n = read(fd, buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (!buf || got != len) {
		free(buf);
		fail(err, errlen, "%s: short read", what);
		return NULL;
	}
	if (digest) {
		char d[OCI_DIGEST_LEN];
		oci_sha256_buf(buf, len, d);
		if (len != size || strcmp(d, digest)) {
			free(buf);
			fail(err, errlen, "%s: blob %s does not match its descriptor (%zu bytes, %s)",
			     what, digest, len, d);
			return NULL;
		}
	}
	json_error_t je;
	json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	free(buf);
	if (!j)
		fail(err, errlen, "%s: not valid JSON: %s (line %d)", what, je.text, je.line);
	else if (!json_is_object(j)) {
		json_decref(j);
		j = NULL;
		fail(err, errlen, "%s: not a JSON object", what);
	}
	return j;
}

/* An optional array of strings into @out. */
static int strv_field(json_t *obj, const char *key, struct oci_strv *out,
		      char *err, size_t errlen)
{
	json_t *a = json_object_get(obj, key);
	if (!a || json_is_null(a))
		return 0;
	if (!json_is_array(a)) {
		fail(err, errlen, "image config: \"%s\" is not an array of strings", key);
		return -1;
	}
	size_t i;
	json_t *s;
	json_array_foreach(a, i, s) {
		if (!json_is_string(s)) {
			fail(err, errlen, "image config: \"%s\" is not an array of strings", key);
			return -1;
		}
		if (oci_strv_push(out, json_string_value(s))) {
			fail(err, errlen, "out of memory");
			return -1;
		}
	}
	return 0;
}

static int str_field(json_t *obj, const char *key, char **out, char *err, size_t errlen)
{
	json_t *s = json_object_get(obj, key);
	if (!s || json_is_null(s))
		return 0;
	if (!json_is_string(s)) {
		fail(err, errlen, "image config: \"%s\" is not a string", key);
		return -1;
	}
	if (json_string_length(s) && !(*out = strdup(json_string_value(s)))) {
		fail(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* "linux/amd64", or a platform that does not match @arch. 1 matches, 0 not. */
static int platform_matches(json_t *p, const char *arch, char *desc, size_t desclen)
{
	const char *os = json_string_value(json_object_get(p, "os"));
	const char *ar = json_string_value(json_object_get(p, "architecture"));
	snprintf(desc, desclen, "%s/%s", os ? os : "?", ar ? ar : "?");
	return os && ar && !strcmp(os, "linux") && !strcmp(ar, arch);
}

/* The manifest descriptor for @arch from an index; an entry without a
 * platform is taken when it is the only one (the image config's own
 * platform is checked later). */
static json_t *pick_manifest(json_t *index, const char *arch, char *err, size_t errlen)
{
	json_t *ms = json_object_get(index, "manifests");
	if (!json_is_array(ms) || !json_array_size(ms)) {
		fail(err, errlen, "index.json: no \"manifests\"");
		return NULL;
	}
	char others[256] = "";
	size_t i;
	json_t *m;
	json_array_foreach(ms, i, m) {
		if (!json_is_object(m))
			continue;
		const char *mt = json_string_value(json_object_get(m, "mediaType"));
		if (mt && (!strcmp(mt, MT_INDEX) || !strcmp(mt, MT_DOCKER_LIST))) {
			fail(err, errlen, "index.json: nested image indexes are not supported (copy one platform's image with skopeo --override-arch)");
			return NULL;
		}
		if (mt && strcmp(mt, MT_MANIFEST) && strcmp(mt, MT_DOCKER_MANIFEST))
			continue;
		json_t *p = json_object_get(m, "platform");
		if (!p) {
			if (json_array_size(ms) == 1)
				return m;
			continue;
		}
		char desc[64];
		if (platform_matches(p, arch, desc, sizeof(desc)))
			return m;
		size_t l = strlen(others);
		snprintf(others + l, sizeof(others) - l, "%s%s", l ? ", " : "", desc);
	}
	if (*others)
		fail(err, errlen, "image is for %s, not linux/%s", others, arch);
	else
		fail(err, errlen, "index.json: no image manifest for linux/%s", arch);
	return NULL;
}

static int read_config(json_t *cfg, const char *arch, struct oci_image *img, char *err,
		       size_t errlen)
{
	char desc[64];
	if (!platform_matches(cfg, arch, desc, sizeof(desc))) {
		fail(err, errlen, "image is for %s, not linux/%s", desc, arch);
		return -1;
	}
	json_t *c = json_object_get(cfg, "config");
	if (!c || json_is_null(c))
		return 0;
	if (!json_is_object(c)) {
		fail(err, errlen, "image config: \"config\" is not an object");
		return -1;
	}
	struct oci_process_defaults *p = &img->process;
	if (strv_field(c, "Entrypoint", &p->entrypoint, err, errlen) ||
	    strv_field(c, "Cmd", &p->cmd, err, errlen) ||
	    strv_field(c, "Env", &p->env, err, errlen) ||
	    str_field(c, "WorkingDir", &p->workdir, err, errlen) ||
	    str_field(c, "User", &p->user, err, errlen))
		return -1;
	return 0;
}

int oci_image_open(const char *dir, const char *arch, struct oci_image *img, char *err,
		   size_t errlen)
{
	memset(img, 0, sizeof(*img));
	json_t *index = NULL, *manifest = NULL, *cfg = NULL;
	char *path = NULL;
	int ret = -1;

	if (asprintf(&path, "%s/index.json", dir) < 0)
		goto oom;
	struct stat st;
	if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
		fail(err, errlen, "%s: not a directory", dir);
		goto out;
	}
	if (!(index = load_json(path, "index.json", NULL, 0, err, errlen)))
		goto out;
	free(path);
	path = NULL;
	if (json_integer_value(json_object_get(index, "schemaVersion")) != 2) {
		fail(err, errlen, "index.json: schemaVersion is not 2");
		goto out;
	}
	json_t *md = pick_manifest(index, arch, err, errlen);
	if (!md)
		goto out;
	uint64_t size;
	if (descriptor(dir, md, "manifest", img->manifest_digest, &size, &path, err, errlen) ||
	    !(manifest = load_json(path, "manifest", img->manifest_digest, size, err, errlen)))
		goto out;
	free(path);
	path = NULL;

	char cdigest[OCI_DIGEST_LEN];
	json_t *cd = json_object_get(manifest, "config");
	if (descriptor(dir, cd, "image config", cdigest, &size, &path, err, errlen) ||
	    !(cfg = load_json(path, "image config", cdigest, size, err, errlen)) ||
	    read_config(cfg, arch, img, err, errlen))
		goto out;
	free(path);
	path = NULL;

	json_t *layers = json_object_get(manifest, "layers");
	if (!json_is_array(layers)) {
		fail(err, errlen, "manifest: no \"layers\" array");
		goto out;
	}
	if (json_array_size(layers) > OCI_MAX_LAYERS) {
		fail(err, errlen, "manifest: more than %d layers", OCI_MAX_LAYERS);
		goto out;
	}
	img->layers = calloc(json_array_size(layers) + 1, sizeof(*img->layers));
	if (!img->layers)
		goto oom;
	size_t i;
	json_t *ld;
	json_array_foreach(layers, i, ld) {
		struct oci_layer *l = &img->layers[i];
		char what[32];
		snprintf(what, sizeof(what), "layer %zu", i + 1);
		if (descriptor(dir, ld, what, l->digest, &l->size, &l->path, err, errlen))
			goto out;
		img->n_layers++;
	}
	ret = 0;
	goto out;
oom:
	fail(err, errlen, "out of memory");
out:
	free(path);
	json_decref(index);
	json_decref(manifest);
	json_decref(cfg);
	if (ret)
		oci_image_free(img);
	return ret;
}

int oci_image_check_layers(const struct oci_image *img, char *err, size_t errlen)
{
	for (size_t i = 0; i < img->n_layers; i++) {
		char what[32];
		snprintf(what, sizeof(what), "layer %zu", i + 1);
		if (check_blob(img->layers[i].path, what, img->layers[i].digest,
			       img->layers[i].size, err, errlen))
			return -1;
	}
	return 0;
}
