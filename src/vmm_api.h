/* SPDX-License-Identifier: Apache-2.0 */
/* The callbacks the API bridge calls on the VMM thread (struct vmm *). */
#ifndef FIGMENT_VMM_API_H
#define FIGMENT_VMM_API_H

#include "api/api.h"

extern const struct api_vmm_ops vmm_api_ops;

#endif
