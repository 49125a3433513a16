// SPDX-License-Identifier: Apache-2.0
#include "mmds/mmds_tcp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mmds/mmds.h"

int tcp_conn_open(struct tcp_conn *c, const struct tcp_seg *s, uint32_t iss,
		  uint64_t now)
{
	memset(c, 0, sizeof(*c));
	if (http_parser_init(&c->parser, MMDS_TCP_MAX_REQUEST))
		return -ENOMEM;
	c->iss = c->snd_una = c->snd_nxt = c->snd_max = iss;
	c->rcv_nxt = s->seq + 1;
	c->peer_wnd = s->wnd;
	/* RFC 9293: 536 when the peer names none */
	c->peer_mss = !s->mss ? 536 : s->mss < MMDS_TCP_MSS ? s->mss
							    : MMDS_TCP_MSS;
	if (c->peer_mss < 64)
		c->peer_mss = 64;
	c->last_seen = now;
	return 0;
}

void tcp_conn_free(struct tcp_conn *c)
{
	http_parser_free(&c->parser);
	free(c->out);
	c->out = NULL;
	c->out_off = c->out_len = 0;
}

/* snd_nxt moves @n on, snd_max with it when it passes it. */
static void advance(struct tcp_conn *c, uint32_t n, bool fin)
{
	c->snd_nxt += n;
	if (seq_lt(c->snd_max, c->snd_nxt)) {
		c->snd_max = c->snd_nxt;
		c->fin_max = fin;
	}
}

/* The window we offer: what the request buffer still takes. */
static uint16_t window(const struct tcp_conn *c)
{
	size_t room = http_parser_room(&c->parser);

	return room > 65535 ? 65535 : (uint16_t)room;
}

static void arm(struct tcp_conn *c, uint64_t now)
{
	if (!c->rto_deadline)
		c->rto_deadline = now + (MMDS_TCP_RTO_NS << c->retries);
}

/* Answers the requests buffered so far, one at a time: the next is parsed
 * only once the previous answer was acknowledged. */
static void serve(struct tcp_conn *c, struct mmds *m, uint64_t now)
{
	while (!c->out_len && !c->close_after) {
		struct http_request req;
		struct mmds_reply r;
		int ret = http_parse(&c->parser, &req);
		bool close, head_only = false;

		if (ret == HTTP_NEED_MORE) {
			/* the guest closed with no request pending: so do we */
			if (c->peer_fin)
				c->close_after = true;
			return;
		}
		if (ret == HTTP_REQUEST_READY) {
			mmds_answer(m, &req, now, &r);
			/* an answer to HEAD never has a body, whatever its
			 * status, or the guest reads it as the next answer */
			head_only = !strcmp(req.method, "HEAD");
			close = !req.keep_alive || c->peer_fin;
		} else {
			memset(&r, 0, sizeof(r));
			r.status = c->parser.error_status;
			r.body = strdup(c->parser.error_msg);
			close = true; /* the stream cannot be trusted now */
		}
		free(c->out);
		c->out_off = 0;
		c->out = (uint8_t *)mmds_reply_build(&r, close, head_only,
						     &c->out_len);
		mmds_reply_free(&r);
		if (!c->out) {
			c->out_len = 0;
			c->send_rst = true;
			return;
		}
		c->close_after = close;
	}
}

static void take_ack(struct tcp_conn *c, uint32_t ack, uint64_t now)
{
	uint32_t acked = ack - c->snd_una;
	size_t data = acked < c->out_len ? acked : c->out_len;

	c->out_off += data;
	c->out_len -= data;
	if (!c->out_len) {
		free(c->out);
		c->out = NULL;
		c->out_off = 0;
	}
	c->snd_una = ack;
	/* an ACK of what went out before a timeout rewound snd_nxt */
	if (seq_lt(c->snd_nxt, ack)) {
		c->snd_nxt = ack;
		if (c->fin_max && ack == c->snd_max)
			c->fin_sent = true;
	}
	c->retries = 0;
	c->rto_deadline = 0;
	if (c->snd_una != c->snd_nxt)
		arm(c, now);
	/* our FIN was acknowledged: done when the guest closed too */
	if (c->fin_sent && c->snd_una == c->snd_nxt && c->peer_fin)
		c->dead = true;
}

void tcp_conn_input(struct tcp_conn *c, struct mmds *m,
		    const struct tcp_seg *s, uint64_t now)
{
	const uint8_t *data = s->data;
	size_t len = s->len, taken;
	uint32_t seq = s->seq;

	c->last_seen = now;
	if (s->flags & TCP_RST) {
		c->dead = true;
		return;
	}
	if (s->flags & TCP_SYN) {
		if (!c->established && s->seq + 1 == c->rcv_nxt)
			c->snd_nxt = c->iss; /* its SYN again: our answer again */
		else
			c->need_ack = true;
		return;
	}
	if (!(s->flags & TCP_ACK))
		return;
	if (!c->established) {
		if (s->ack != c->iss + 1) {
			c->send_rst = true;
			return;
		}
		c->established = true;
		c->snd_una = c->snd_nxt = s->ack;
		c->retries = 0;
		c->rto_deadline = 0;
	} else if (seq_lt(c->snd_una, s->ack) && seq_le(s->ack, c->snd_max)) {
		take_ack(c, s->ack, now);
	} else if (seq_lt(c->snd_max, s->ack)) {
		c->need_ack = true; /* acknowledges what we never sent */
		return;
	}
	c->peer_wnd = s->wnd;
	if (!len && !(s->flags & TCP_FIN))
		goto out;
	/* what was taken already is skipped; a gap is not kept, only
	 * answered with what we expect (go-back-N on the guest's side) */
	if (seq_lt(seq, c->rcv_nxt)) {
		uint32_t skip = c->rcv_nxt - seq;

		if (skip > len) {
			c->need_ack = true;
			goto out;
		}
		data += skip;
		len -= skip;
		seq = c->rcv_nxt;
	}
	c->need_ack = true;
	if (seq != c->rcv_nxt || c->peer_fin)
		goto out;
	taken = http_parser_feed(&c->parser, data, len);
	c->rcv_nxt += (uint32_t)taken;
	if (taken == len && (s->flags & TCP_FIN)) {
		c->rcv_nxt++;
		c->peer_fin = true;
		if (c->fin_sent && c->snd_una == c->snd_nxt)
			c->finished = true; /* our FIN was acknowledged */
	}
out:
	serve(c, m, now);
}

/* Our FIN goes with @s. */
static void add_fin(struct tcp_conn *c, struct tcp_seg *s)
{
	s->flags |= TCP_FIN;
	c->fin_sent = true;
	advance(c, 1, true);
}

bool tcp_conn_output(struct tcp_conn *c, struct tcp_seg *s, uint64_t now)
{
	uint32_t data_end = c->snd_una + (uint32_t)c->out_len;

	if (c->dead)
		return false;
	memset(s, 0, sizeof(*s));
	s->ack = c->rcv_nxt;
	s->wnd = window(c);
	s->flags = TCP_ACK;
	s->seq = c->snd_nxt;
	if (c->send_rst) {
		s->flags = TCP_RST | TCP_ACK;
		c->dead = true;
		return true;
	}
	if (!c->established) {
		if (c->snd_nxt != c->iss)
			return false;
		s->flags = TCP_SYN | TCP_ACK;
		s->mss = MMDS_TCP_MSS;
		c->snd_nxt = c->iss;
		advance(c, 1, false);
		arm(c, now);
		return true;
	}
	if (seq_lt(c->snd_nxt, data_end)) {
		uint32_t inflight = c->snd_nxt - c->snd_una;
		uint32_t usable = c->peer_wnd > inflight ? c->peer_wnd - inflight
							 : 0;
		uint32_t len = data_end - c->snd_nxt;

		/* a closed window: probe with one byte once a timeout passed
		 * with nothing in flight */
		if (!usable && !inflight && c->retries)
			usable = 1;
		if (usable) {
			if (len > c->peer_mss)
				len = c->peer_mss;
			if (len > usable)
				len = usable;
			s->data = c->out + c->out_off +
				  (c->snd_nxt - c->snd_una);
			s->len = len;
			s->flags |= TCP_PSH;
			advance(c, len, false);
			if (c->snd_nxt == data_end && c->close_after)
				add_fin(c, s);
			c->need_ack = false;
			arm(c, now);
			return true;
		}
		arm(c, now); /* for the probe */
	} else if (c->close_after && !c->fin_sent) {
		add_fin(c, s);
		c->need_ack = false;
		arm(c, now);
		return true;
	}
	if (!c->need_ack) {
		c->dead = c->finished;
		return false;
	}
	c->need_ack = false;
	c->dead = c->finished; /* the ACK of the guest's FIN was the last */
	return true;
}

void tcp_conn_timeout(struct tcp_conn *c, uint64_t now)
{
	c->rto_deadline = 0;
	if (++c->retries > MMDS_TCP_MAX_RETRIES) {
		c->send_rst = true;
		return;
	}
	/* go back to the first byte not acknowledged, the FIN with it */
	if (!c->established) {
		c->snd_nxt = c->iss;
	} else if (c->snd_nxt != c->snd_una) {
		c->snd_nxt = c->snd_una;
		c->fin_sent = false;
	}
	arm(c, now);
}
