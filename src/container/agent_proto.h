/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container agent's wire protocol, version 1 (docs/agent-protocol.md):
 * one vsock stream that the guest agent opens to the host (CID 2, port
 * AGENT_PORT: the Unix socket <uds>_1024 with figment's hybrid vsock).
 * Every message is an 8-byte header (type, three zero bytes, a
 * little-endian 32-bit payload length) and its payload. Shared by the
 * host (container_run.c) and the agent (tools/agent/figment-agent.c):
 * header only, no figment code.
 */
#ifndef FIGMENT_CONTAINER_AGENT_PROTO_H
#define FIGMENT_CONTAINER_AGENT_PROTO_H

#include <stdint.h>

#define AGENT_PROTO_VERSION 1u
#define AGENT_PORT 1024u
#define AGENT_HDR_LEN 8u
/* the largest payload of a data message, and of the spec */
#define AGENT_DATA_MAX (64u * 1024)
#define AGENT_SPEC_MAX (1u << 20)

enum agent_msg {
	/* guest -> host */
	AGENT_HELLO = 1,  /* u32 LE protocol version; first message */
	AGENT_STDOUT = 2, /* bytes the process wrote */
	AGENT_STDERR = 3,
	AGENT_ERROR = 4,  /* one line of text: the process could not start */
	AGENT_EXIT = 5,   /* u32 LE: the exit status as a shell has it (128+N for signal N) */
	/* host -> guest */
	AGENT_SPEC = 16,      /* JSON: the process to run (after HELLO) */
	AGENT_STDIN = 17,     /* bytes for the process's stdin */
	AGENT_STDIN_EOF = 18, /* no payload: stdin is closed */
};

static inline void agent_hdr_put(uint8_t h[AGENT_HDR_LEN], uint8_t type, uint32_t len)
{
	h[0] = type;
	h[1] = h[2] = h[3] = 0;
	h[4] = (uint8_t)len;
	h[5] = (uint8_t)(len >> 8);
	h[6] = (uint8_t)(len >> 16);
	h[7] = (uint8_t)(len >> 24);
}

static inline uint32_t agent_u32_get(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

#endif
