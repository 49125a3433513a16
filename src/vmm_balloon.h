/* SPDX-License-Identifier: Apache-2.0 */
/* The balloon's API callback (see api_vmm_ops.balloon). */
#ifndef FIGMENT_VMM_BALLOON_H
#define FIGMENT_VMM_BALLOON_H

#include <stddef.h>

int vmm_api_balloon(void *vmm, int op, const char *body, char **out,
		    char *err, size_t errlen);

#endif
