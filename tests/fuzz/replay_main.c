// SPDX-License-Identifier: Apache-2.0
/*
 * Runs a libFuzzer harness without libFuzzer: each argument is an input
 * file or a directory of them (not recursive, dot files skipped). Built
 * with ASan/UBSan by tools/fuzz.sh replay, which `make test` runs over
 * tests/fuzz/corpus/<name>/ and tests/fuzz/regressions/<name>/.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define REPLAY_MAX_INPUT (1 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path, uint8_t *buf)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f) {
		perror(path);
		return -1;
	}
	n = fread(buf, 1, REPLAY_MAX_INPUT, f);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	return 0;
}

int main(int argc, char **argv)
{
	uint8_t *buf = malloc(REPLAY_MAX_INPUT);
	int count = 0, failed = 0;

	if (!buf)
		return 1;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		DIR *d;
		struct dirent *e;

		if (stat(argv[i], &st)) {
			perror(argv[i]);
			failed++;
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			failed += run_file(argv[i], buf) != 0;
			count++;
			continue;
		}
		d = opendir(argv[i]);
		if (!d) {
			perror(argv[i]);
			failed++;
			continue;
		}
		while ((e = readdir(d))) {
			char path[4096];

			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
			failed += run_file(path, buf) != 0;
			count++;
		}
		closedir(d);
	}
	free(buf);
	fprintf(stderr, "%s: replayed %d inputs\n", argv[0], count);
	return failed ? 1 : 0;
}
