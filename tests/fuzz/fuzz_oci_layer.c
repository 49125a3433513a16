// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer harness for container image layers (src/container/layer_unpack.c).
 * Input: the layer's bytes (a tar, plain, gzip or zstd). Each input is
 * unpacked twice onto one root (the second time over what the first
 * wrote: whiteouts and replaced files), next to a folder "outside" with a
 * file in it; whatever the layer holds, nothing may appear, change or go
 * beside the root, and no device node may appear in it.
 */
#include <assert.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container/layer_unpack.h"

static char dir[64], root[96], tarp[96], outside[96], keep[128];

static void remove_dir(void)
{
	layer_remove_tree(dir);
}

static void setup_once(void)
{
	if (*dir)
		return;
	snprintf(dir, sizeof(dir), "/tmp/fuzz-oci-layer.%d", (int)getpid());
	layer_remove_tree(dir);
	assert(mkdir(dir, 0700) == 0);
	atexit(remove_dir);
	snprintf(root, sizeof(root), "%s/root", dir);
	snprintf(tarp, sizeof(tarp), "%s/layer", dir);
	snprintf(outside, sizeof(outside), "%s/outside", dir);
	snprintf(keep, sizeof(keep), "%s/keep", outside);
	assert(mkdir(outside, 0700) == 0);
	int fd = open(keep, O_WRONLY | O_CREAT, 0600);
	assert(fd >= 0 && write(fd, "k", 1) == 1);
	close(fd);
}

static int no_devices(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)p, (void)flag, (void)f;
	assert(!S_ISCHR(st->st_mode) && !S_ISBLK(st->st_mode));
	return 0;
}

static void check_dir_holds(const char *path, int expect)
{
	DIR *d = opendir(path);
	assert(d);
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	assert(n == expect);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup_once();
	int fd = open(tarp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert(fd >= 0);
	assert(write(fd, data, size) == (ssize_t)size);
	close(fd);
	assert(mkdir(root, 0755) == 0);
	char err[1024];
	for (int i = 0; i < 2; i++)
		if (layer_unpack(root, tarp, err, sizeof(err)))
			assert(err[0]); /* a refusal always says why */
	nftw(root, no_devices, 16, FTW_PHYS);
	/* beside the root: the layer file, the root, outside/ with keep alone */
	check_dir_holds(dir, 3);
	check_dir_holds(outside, 1);
	struct stat st;
	assert(lstat(keep, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 1);
	chmod(root, 0755);
	assert(layer_remove_tree(root) == 0);
	return 0;
}
