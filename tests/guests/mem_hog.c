// SPDX-License-Identifier: Apache-2.0
/*
 * mem-hog MIB [HOLD_S]: a guest program for the balloon's lab test
 * (tests/integration/test_lab_balloon.py), built static like vsock_echo.c
 * and appended to the guest initramfs. Maps MIB MiB of anonymous memory,
 * writes every page (so the host must back it), prints
 * "MEMHOG-TOUCHED <MIB>", keeps it HOLD_S seconds, checks every page still
 * holds what was written ("MEMHOG-CORRUPT <page>" and exit 1 if not),
 * unmaps it (the guest kernel has it free again, the host still backs it)
 * and prints "MEMHOG-FREED <MIB>".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096UL

int main(int argc, char **argv)
{
	unsigned long mib, hold, pages;
	uint8_t *p;

	if (argc < 2 || (mib = strtoul(argv[1], NULL, 10)) == 0) {
		fprintf(stderr, "usage: mem-hog MIB [HOLD_S]\n");
		return 2;
	}
	hold = argc > 2 ? strtoul(argv[2], NULL, 10) : 0;
	pages = mib * (1UL << 20) / PAGE;
	p = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mem-hog: mmap");
		return 1;
	}
	for (unsigned long i = 0; i < pages; i++) {
		/* not zero, not the same everywhere: KSM or zero-page tricks
		 * cannot make it cheap */
		uint64_t v = i * 0x9e3779b97f4a7c15ULL + 1;

		for (unsigned long o = 0; o < PAGE; o += 512)
			*(uint64_t *)(p + i * PAGE + o) = v;
	}
	printf("MEMHOG-TOUCHED %lu\n", mib);
	fflush(stdout);
	if (hold)
		sleep((unsigned)hold);
	for (unsigned long i = 0; i < pages; i++) {
		uint64_t v = i * 0x9e3779b97f4a7c15ULL + 1;

		if (*(uint64_t *)(p + i * PAGE) != v) {
			printf("MEMHOG-CORRUPT %lu\n", i);
			return 1;
		}
	}
	munmap(p, pages * PAGE);
	printf("MEMHOG-FREED %lu\n", mib);
	fflush(stdout);
	return 0;
}
