/* SPDX-License-Identifier: Apache-2.0 */
/* Process exit statuses: each way a VM can end has its own (see README). */
#ifndef FIGMENT_VMM_EXIT_H
#define FIGMENT_VMM_EXIT_H

enum vmm_exit {
	VMM_EXIT_OK = 0,            /* the guest powered off or rebooted */
	VMM_EXIT_ERROR = 1,         /* a host-side failure while running */
	VMM_EXIT_USAGE = 2,         /* bad command line */
	VMM_EXIT_CONFIG = 3,        /* bad configuration or input file */
	VMM_EXIT_KVM = 4,           /* KVM missing or refused the VM */
	VMM_EXIT_TRIPLE_FAULT = 5,  /* the guest triple-faulted */
	VMM_EXIT_KVM_INTERNAL = 6,  /* KVM internal error / failed entry */
	VMM_EXIT_GUEST_PANIC = 7,   /* the guest kernel panicked (pvpanic, KVM crash event) */
	VMM_EXIT_STOPPED = 8,       /* stopped by the user (Ctrl-A x, signal) */
};

#endif
