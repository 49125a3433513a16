/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The metadata service's network stack on one interface: the frames the
 * guest sends to the service's IPv4 address are taken out of its transmit
 * path before they reach the backend (a TAP or user-mode networking), and
 * the answers are put into its receive path. It answers ARP for that
 * address (with its own MAC, 06:01:23:45:67:01 as Firecracker) and TCP
 * port 80 (mmds_tcp.h, up to MMDS_MAX_CONNS connections); other TCP ports
 * get a reset; other IPv4 traffic to the address is dropped, and counted.
 *
 * Frames are checked before anything is read from them (lengths, header
 * sizes, fragments); checksums are not verified (the link is guest memory)
 * and the ones we send are computed in full. Connections are not saved in
 * snapshots: after a restore the guest's open ones get a reset, as from a
 * server that restarted. VMM thread only.
 */
#ifndef FIGMENT_MMDS_MMDS_STACK_H
#define FIGMENT_MMDS_MMDS_STACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mmds;
struct mmds_stack;

#define MMDS_MAX_CONNS 16
/* The bytes mmds_stack_claims() looks at. */
#define MMDS_CLAIM_LEN 42

/* A stack answering at @ipv4 (host order) from @m's store; NULL on ENOMEM. */
struct mmds_stack *mmds_stack_create(struct mmds *m, uint32_t ipv4);
void mmds_stack_destroy(struct mmds_stack *st);

/* Whether the frame whose first bytes are @head (@len of them, at most
 * MMDS_CLAIM_LEN needed) is for the service: ARP asking for its address,
 * or IPv4 sent to it. */
bool mmds_stack_claims(const struct mmds_stack *st, const uint8_t *head,
		       size_t len);

/* Takes a whole frame the guest sent that mmds_stack_claims() said is
 * ours. */
void mmds_stack_input(struct mmds_stack *st, const uint8_t *frame,
		      size_t len, uint64_t now_ns);

/* Writes the next frame for the guest into @buf (@cap bytes, at least
 * 1514): its length, or 0 when none is due. */
size_t mmds_stack_output(struct mmds_stack *st, uint8_t *buf, size_t cap,
			 uint64_t now_ns);

/* The earliest retransmission time, 0 when no timer runs; and the timers
 * due at @now_ns fired (mmds_stack_output() then has frames). */
uint64_t mmds_stack_deadline(const struct mmds_stack *st);
void mmds_stack_tick(struct mmds_stack *st, uint64_t now_ns);

#endif
