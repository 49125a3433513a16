// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer harness for the config-file decoder (the same per-resource
 * decoders the API uses). Input: a JSON document. A document that decodes
 * must validate, encode with vm_config_to_json() and decode again to the
 * same encoding; nothing may leak or crash either way.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vm_config a, b;
	char err[CONFIG_ERR_MAX];
	char *s1, *s2;

	vm_config_init(&a);
	if (config_from_json((const char *)data, size, &a, err, sizeof(err))) {
		assert(err[0]);
		vm_config_free(&a);
		return 0;
	}
	assert(vm_config_validate(&a, err, sizeof(err)) == 0);
	s1 = vm_config_to_json(&a);
	assert(s1);
	vm_config_init(&b);
	assert(config_from_json(s1, strlen(s1), &b, err, sizeof(err)) == 0);
	s2 = vm_config_to_json(&b);
	assert(s2 && !strcmp(s1, s2));
	free(s1);
	free(s2);
	vm_config_free(&a);
	vm_config_free(&b);
	return 0;
}
