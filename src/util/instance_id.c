// SPDX-License-Identifier: Apache-2.0
/* The instance id rule (see instance_id.h). */
#include <string.h>

#include "util/instance_id.h"

bool instance_id_valid(const char *id)
{
	size_t n = strnlen(id, INSTANCE_ID_MAX + 1);

	return n >= 1 && n <= INSTANCE_ID_MAX &&
	       strspn(id, "abcdefghijklmnopqrstuvwxyz"
			  "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") == n;
}
