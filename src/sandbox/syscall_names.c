// SPDX-License-Identifier: Apache-2.0
/* System call names for messages. The table is generated at build time from
 * the C library's <sys/syscall.h> (Makefile: syscall_names.h), so the
 * SIGSYS handler can name a call without libseccomp's allocations. */
#include <seccomp.h>
#include <stddef.h>

#include "sandbox/seccomp_filter.h"

static const char *const names[] = {
#include "syscall_names.h"
};

const char *seccomp_syscall_name(int nr)
{
	if (nr < 0 || (size_t)nr >= sizeof(names) / sizeof(*names))
		return NULL;
	return names[nr];
}

int seccomp_syscall_number(const char *name)
{
	int nr = seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, name);

	return nr < 0 ? -1 : nr;
}
