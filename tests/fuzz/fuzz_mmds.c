// SPDX-License-Identifier: Apache-2.0
/*
 * The metadata service against a hostile guest: its network stack (ARP,
 * IPv4, the TCP state machine) and, through it, the HTTP parser and the
 * answers. Byte 0 picks V1/V2 and imds_compat; then records, each an op:
 *   0 a raw frame (length byte, bytes), sent to the service's address;
 *   1 a TCP segment to port 80 from one of four guest ports, its sequence
 *     and acknowledgement numbers relative to what each side sent so far
 *     (so the fuzzer reaches the data phase), then up to 255 data bytes;
 *   2 time goes on (the retransmission timers fire);
 *   3 the guest reads what the service sent.
 * Every frame out must be well formed (length, IP checksum); nothing may
 * crash or read past its buffers (ASan).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "mmds/mmds.h"
#include "mmds/mmds_stack.h"
#include "mmds/mmds_tcp.h"
#include "util/be.h"

#define MMDS_IP	 0xa9fea9feu
#define GUEST_IP 0xac100002u

static uint32_t guest_next[4], srv_next[4];




static void drain(struct mmds_stack *st, uint64_t now)
{
	static uint8_t out[2048];
	size_t n;

	while ((n = mmds_stack_output(st, out, sizeof(out), now))) {
		uint32_t sum = 0;

		if (n < 42 || n > 14 + 20 + 24 + MMDS_TCP_MSS)
			abort();
		if (out[12] == 0x08 && out[13] == 0x06)
			continue;
		for (int i = 14; i < 34; i += 2)
			sum += (uint32_t)(out[i] << 8 | out[i + 1]);
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		if (sum != 0xffff || (size_t)(out[16] << 8 | out[17]) != n - 14)
			abort();
		{
			const uint8_t *th = out + 34;
			unsigned port = (unsigned)(th[2] << 8 | th[3]) - 40000;
			size_t len = n - 34 - (size_t)(th[12] >> 4) * 4;

			if (port < 4)
				srv_next[port] = be32_get(th + 4) + (uint32_t)len +
						 !!(th[13] & (TCP_SYN | TCP_FIN));
		}
	}
}

static void segment(struct mmds_stack *st, const uint8_t *r, size_t len,
		    uint64_t now)
{
	uint8_t f[14 + 20 + 20 + 255] = { 0 };
	uint8_t *ip = f + 14, *th = ip + 20;
	unsigned port = r[1] & 3;
	size_t dlen = len - 7;
	uint32_t seq = guest_next[port] + (uint32_t)(int8_t)r[2];

	memcpy(f + 6, "\x06\x00\xac\x10\x00\x02", 6);
	be16_put(f + 12, 0x0800);
	ip[0] = 0x45;
	be16_put(ip + 2, (uint16_t)(40 + dlen));
	ip[9] = 6;
	be32_put(ip + 12, GUEST_IP);
	be32_put(ip + 16, MMDS_IP);
	be16_put(th, (uint16_t)(40000 + port));
	be16_put(th + 2, 80);
	be32_put(th + 4, seq);
	be32_put(th + 8, srv_next[port] + (uint32_t)(int8_t)r[3]);
	th[12] = 5 << 4;
	th[13] = r[0];
	th[14] = r[4];
	th[15] = r[5];
	memcpy(th + 20, r + 7, dlen);
	mmds_stack_input(st, f, 54 + dlen, now);
	guest_next[port] = seq + (uint32_t)dlen + !!(r[0] & (TCP_SYN | TCP_FIN));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char doc[] =
		"{\"latest\": {\"meta-data\": {\"ami-id\": \"ami-1\", \"n\": 3,"
		" \"o\": {\"k\": \"v\"}}}, \"big\": \"" /* then 4000 x's */;
	struct mmds_stack *st;
	struct mmds *m;
	uint64_t now = 1000000000ULL;
	char err[256], *text;
	size_t at = 1;
	json_t *j;

	if (size < 1)
		return 0;
	m = mmds_create(0);
	if (!m)
		abort();
	text = malloc(sizeof(doc) + 4003);
	memcpy(text, doc, sizeof(doc) - 1);
	memset(text + sizeof(doc) - 1, 'x', 4000);
	strcpy(text + sizeof(doc) - 1 + 4000, "\"}");
	j = json_loads(text, 0, NULL);
	free(text);
	if (!j || mmds_put(m, j, err, sizeof(err)))
		abort();
	json_decref(j);
	mmds_set_version(m, data[0] & 1 ? MMDS_V2 : MMDS_V1, data[0] & 2);
	st = mmds_stack_create(m, MMDS_IP);
	if (!st)
		abort();
	memset(guest_next, 0, sizeof(guest_next));
	memset(srv_next, 0, sizeof(srv_next));
	while (at < size) {
		uint8_t op = data[at++] & 3;
		size_t n = at < size ? data[at] : 0;

		switch (op) {
		case 0: /* a raw frame, aimed at the service */
			at++;
			if (n > size - at)
				n = size - at;
			if (n >= 42) {
				uint8_t f[256];

				memcpy(f, data + at, n);
				be32_put(f + 30, MMDS_IP);
				be32_put(f + 38, MMDS_IP);
				if (mmds_stack_claims(st, f, n))
					mmds_stack_input(st, f, n, now);
			}
			at += n;
			break;
		case 1: /* flags, port, dseq, dack, window, data length, data */
			if (size - at < 7)
				goto out;
			n = data[at + 6];
			if (n > size - at - 7)
				n = size - at - 7;
			segment(st, data + at, 7 + n, now);
			at += 7 + n;
			break;
		case 2:
			now += ((uint64_t)n + 1) * 50000000ULL;
			at++;
			mmds_stack_tick(st, now);
			break;
		case 3:
			drain(st, now);
			break;
		}
	}
out:
	drain(st, now);
	mmds_stack_destroy(st);
	mmds_destroy(m);
	return 0;
}
