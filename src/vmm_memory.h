/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VMM's side of guest memory policy and accounting: how RAM is mapped
 * for a configuration (huge pages, page sharing) with the host checked
 * first, and the per-VM memory report (vstate/memory_report.h) as
 * GET /memory's JSON and as gauges in the metrics ("memory" group).
 */
#ifndef FIGMENT_VMM_MEMORY_H
#define FIGMENT_VMM_MEMORY_H

#include <stdbool.h>
#include <stddef.h>

#include "vmm.h"
#include "vstate/memory_report.h"

/* Sets vmm->vm.mem_opts from vmm->cfg, for RAM that is fresh (@restore
 * false) or a snapshot's (@from_file: mapped from its memory file, else
 * Uffd), and checks what the host must have: free 2 MiB pages for
 * hugetlbfs RAM, none of it for a file-backed restore. 0, or
 * VMM_EXIT_CONFIG with the reason in @err. */
int vmm_memory_prepare(struct vmm *vmm, bool restore, bool from_file,
		       char *err, size_t errlen);

/* Once RAM exists: registers the gauges and refreshes them before each
 * periodic metrics line. VMM thread. */
void vmm_memory_watch(struct vmm *vmm);

/* Refreshes the gauges now (FlushMetrics). VMM thread. */
void vmm_memory_refresh_metrics(struct vmm *vmm);

/* The report for this VM's RAM. 0, or a negative errno (no VM: -ENODEV). */
int vmm_memory_report(struct vmm *vmm, struct memory_report *r);

/* GET /memory's body (malloc'd JSON text), or NULL with the reason in @err. */
char *vmm_memory_report_text(struct vmm *vmm, char *err, size_t errlen);

#endif
