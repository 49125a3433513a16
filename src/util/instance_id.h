/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The instance id rule Firecracker and its jailer share: 1 to
 * INSTANCE_ID_MAX letters, digits and '-' (a UUID fits). figment's --id and
 * the jailer's --id both use it; the jailer also makes a directory of it,
 * which is safe because the rule leaves no '/', '.' or NUL.
 */
#ifndef FIGMENT_UTIL_INSTANCE_ID_H
#define FIGMENT_UTIL_INSTANCE_ID_H

#include <stdbool.h>

#define INSTANCE_ID_MAX 64

bool instance_id_valid(const char *id);

#endif
