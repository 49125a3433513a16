/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Putting figment's threads under seccomp. sandbox_prepare() compiles the
 * policy once, on the main thread, before any other thread exists; each
 * thread then calls sandbox_enter() itself before it handles anything a
 * guest or an API client sent: the API thread first thing, each vCPU thread
 * before its first KVM_RUN, the VMM thread once the vCPU and API threads are
 * running (a filtered thread may not create threads, and new threads would
 * inherit its filter).
 */
#ifndef FIGMENT_SANDBOX_SANDBOX_H
#define FIGMENT_SANDBOX_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>

#include "sandbox/seccomp_filter.h"

/* Compiles @p to BPF for each kind of thread and installs the SIGSYS
 * reporter; with @p NULL (--no-seccomp) sandbox_enter() does nothing.
 * 0, or -EINVAL with a message. */
int sandbox_prepare(const struct seccomp_policy *p, char *err, size_t errlen);

/* Puts the filter for @kind on the calling thread, which SIGSYS messages
 * call @label ("vcpu 0"). Once per thread; 0 or a negative errno. */
int sandbox_enter(enum seccomp_thread kind, const char *label);

bool sandbox_enabled(void);

/* BPF instructions of the compiled filter for @kind (0 when off). */
size_t sandbox_filter_len(enum seccomp_thread kind);

/* Called by sandbox_enter() once the filter is on: a no-op, replaced in the
 * test build (tests/hooks/) by one that makes a forbidden call on demand. */
void sandbox_test_hook(enum seccomp_thread kind);

#endif
