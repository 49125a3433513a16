// SPDX-License-Identifier: Apache-2.0
/*
 * Test build only (build/figment-test): FIGMENT_TEST_SECCOMP_TRIGGER=vmm,
 * api or vcpu makes that kind of thread, right after its filter went on,
 * make a call no built-in filter allows, so that tests can see each
 * thread's filter and the SIGSYS report work. The normal binary links the
 * no-op in src/sandbox/sandbox.c instead.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox/sandbox.h"

void sandbox_test_hook(enum seccomp_thread kind)
{
	const char *want = getenv("FIGMENT_TEST_SECCOMP_TRIGGER");

	/* setns(-1, 0): EBADF, harmless, where it is allowed at all. */
	if (want && !strcmp(want, seccomp_thread_key[kind]))
		syscall(SYS_setns, -1, 0);
}
