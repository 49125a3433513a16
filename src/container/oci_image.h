/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An OCI image layout (a directory with oci-layout, index.json and
 * blobs/sha256/...), as skopeo and umoci write it: the manifest for this
 * host's platform, its config (the process defaults) and its layers. Every
 * blob read is checked against its descriptor's size and sha256 digest;
 * a digest names a file only after it was checked to be 64 hex digits.
 */
#ifndef FIGMENT_CONTAINER_OCI_IMAGE_H
#define FIGMENT_CONTAINER_OCI_IMAGE_H

#include <stddef.h>
#include <stdint.h>

/* "sha256:" and 64 hex digits, and the NUL */
#define OCI_DIGEST_LEN (7 + 64 + 1)
/* JSON blobs (index, manifest, config) larger than this are refused */
#define OCI_JSON_MAX (4u << 20)
#define OCI_MAX_LAYERS 256

/* A NULL-terminated string vector. */
struct oci_strv {
	char **v;
	size_t n;
};

struct oci_layer {
	char digest[OCI_DIGEST_LEN];
	uint64_t size;
	char *path; /* the blob's file */
};

/* The image config's process defaults (its "config" object). */
struct oci_process_defaults {
	struct oci_strv entrypoint;
	struct oci_strv cmd;
	struct oci_strv env;
	char *workdir; /* NULL: none given */
	char *user;    /* NULL: none given */
};

struct oci_image {
	char manifest_digest[OCI_DIGEST_LEN];
	struct oci_layer *layers;
	size_t n_layers;
	struct oci_process_defaults process;
};

/* Reads the layout in @dir for @arch ("amd64") and linux, checking the
 * manifest and config blobs (size and digest) and the layer descriptors'
 * syntax. 0, or -1 with a one-line reason in @err. */
int oci_image_open(const char *dir, const char *arch, struct oci_image *img,
		   char *err, size_t errlen);
/* Each layer blob's size and digest (read whole: done only when the layers
 * are to be unpacked, not when the image's disk is cached). */
int oci_image_check_layers(const struct oci_image *img, char *err, size_t errlen);
void oci_image_free(struct oci_image *img);

/* 0 when @s is "sha256:" and 64 lowercase hex digits. */
int oci_digest_valid(const char *s);
/* The sha256 of the file @path ("sha256:<hex>") into @out, and its size.
 * 0, or -1 with errno set. */
int oci_sha256_file(const char *path, char out[OCI_DIGEST_LEN], uint64_t *size);
/* The sha256 of a buffer. */
void oci_sha256_buf(const void *buf, size_t len, char out[OCI_DIGEST_LEN]);

void oci_strv_free(struct oci_strv *s);
/* Appends a copy of @s. 0, or -1 (no memory). */
int oci_strv_push(struct oci_strv *v, const char *s);

#endif
