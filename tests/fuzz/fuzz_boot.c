// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer harness for the x86 kernel loaders: the input is a kernel image
 * (bzImage or ELF vmlinux, both untrusted), loaded into a 64 MiB guest with
 * a small initrd and command line. Every outcome must be a clean load or a
 * clean refusal with a message; ASan/UBSan catch the rest.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/boot.h"
#include "vstate/memory.h"

#define GUEST_RAM (64u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *ram;
	static const uint8_t initrd[4096];
	struct guest_memory mem;
	struct boot_request req = {
		.kernel = { data, size, -1 },
		.initrd = { initrd, sizeof(initrd), -1 },
		.cmdline = "console=ttyS0",
	};
	struct boot_entry entry;
	char err[256] = "";

	if (!ram)
		ram = calloc(1, GUEST_RAM);
	if (!ram)
		return 0;
	guest_memory_init_from(&mem, 0, ram, GUEST_RAM);
	if (boot_load(&mem, &req, &entry, err, sizeof(err)) < 0 && !err[0])
		abort(); /* a refusal must say why */
	return 0;
}
