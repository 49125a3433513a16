/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One TCP connection of the metadata service, the server side only, apart
 * from the frames it travels in (mmds_stack.c builds and parses those).
 *
 * What it does: the handshake (a SYN answered with SYN-ACK and our MSS;
 * no window scaling, no SACK, no timestamps), in-order data only (anything
 * else is answered with an ACK that says what we expect), each complete
 * HTTP request answered through mmds_answer() (the next one is read only
 * once the previous answer was acknowledged: a guest cannot pile up
 * answers), the answer sent within the guest's window and MSS, go-back-N
 * retransmission on a timeout with backoff (a guest that stops answering
 * is reset after a few), and both closes. What the guest sends is bounded
 * by the HTTP parser's buffer, which is also the window we advertise.
 */
#ifndef FIGMENT_MMDS_MMDS_TCP_H
#define FIGMENT_MMDS_MMDS_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/http.h"

struct mmds;

enum { TCP_FIN = 1, TCP_SYN = 2, TCP_RST = 4, TCP_PSH = 8, TCP_ACK = 16 };

#define MMDS_TCP_MSS	    1460
#define MMDS_TCP_RTO_NS	    (200ULL * 1000000ULL)
#define MMDS_TCP_MAX_RETRIES 6
#define MMDS_TCP_MAX_REQUEST 2048 /* an HTTP body the guest may send */

/* A segment as the connection sees it. */
struct tcp_seg {
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t wnd;
	uint16_t mss; /* the MSS option; 0: none */
	const uint8_t *data;
	size_t len;
};

struct tcp_conn {
	uint32_t peer_ip;   /* host order */
	uint16_t peer_port; /* host order */
	uint8_t peer_mac[6];
	bool established; /* our SYN was acknowledged */
	uint32_t iss, rcv_nxt, snd_una, snd_nxt;
	uint32_t snd_max;  /* the highest snd_nxt yet: a timeout rewinds
			    * snd_nxt, and an ACK of what went before still
			    * counts */
	bool fin_max;	   /* our FIN went out, just below snd_max */
	uint32_t peer_wnd;
	uint16_t peer_mss;
	bool need_ack;	   /* an ACK (or a window update) is owed */
	bool peer_fin;	   /* the guest closed its side (FIN taken) */
	bool close_after;  /* send FIN once the answer is out */
	bool fin_sent;
	bool finished;	   /* both sides closed: free once the last ACK is out */
	bool dead;	   /* to be freed (RST taken, or closed) */
	bool send_rst;	   /* give up: one RST goes out, then dead */
	struct http_parser parser;
	uint8_t *out;	   /* the answer; out + out_off is at snd_una */
	size_t out_off;	   /* acknowledged bytes are skipped, not moved */
	size_t out_len;	   /* bytes from out_off on */
	uint64_t rto_deadline; /* 0: no timer */
	unsigned int retries;
	uint64_t last_seen;
};

/* A connection for the guest's SYN @s; 0, or -ENOMEM. */
int tcp_conn_open(struct tcp_conn *c, const struct tcp_seg *s, uint32_t iss,
		  uint64_t now);
void tcp_conn_free(struct tcp_conn *c);

/* A segment from the guest on this connection. */
void tcp_conn_input(struct tcp_conn *c, struct mmds *m,
		    const struct tcp_seg *s, uint64_t now);

/* The next segment to send into *@s (data points into the connection's
 * answer, valid until its next call): true, or false when none is due. */
bool tcp_conn_output(struct tcp_conn *c, struct tcp_seg *s, uint64_t now);

/* The retransmission timer fired (call when now >= rto_deadline). */
void tcp_conn_timeout(struct tcp_conn *c, uint64_t now);

/* Sequence numbers compare modulo 2^32. */
static inline bool seq_lt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

static inline bool seq_le(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) <= 0;
}

#endif
