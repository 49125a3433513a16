// SPDX-License-Identifier: Apache-2.0
/* The metadata service: the store (PUT, PATCH as RFC 7396, limits), the
 * answers (IMDS text and JSON, V1 and V2 tokens, errors), and its network
 * stack driven by hand-made frames (ARP, the TCP handshake, an answer cut
 * to the guest's MSS and window, retransmission, resets, limits, garbage). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/http.h"
#include "mmds/mmds.h"
#include "mmds/mmds_stack.h"
#include "mmds/mmds_tcp.h"
#include "util/be.h"

#define SEC 1000000000ULL
#define MMDS_IP 0xa9fea9feu
#define GUEST_IP 0xac100002u

static struct mmds *m;
static char err[256];

static void setup(void)
{
	m = mmds_create(0);
	cr_assert(m);
}

static void teardown(void)
{
	mmds_destroy(m);
}

TestSuite(mmds, .init = setup, .fini = teardown, .timeout = 20);

static void put(const char *json)
{
	json_error_t je;
	json_t *j = json_loads(json, 0, &je);

	cr_assert(j, "%s", je.text);
	cr_assert_eq(mmds_put(m, j, err, sizeof(err)), 0, "%s", err);
	json_decref(j);
}

/* The answer to the raw request @raw at @now. */
static struct mmds_reply ask(const char *raw, uint64_t now)
{
	struct http_parser p;
	struct http_request req;
	struct mmds_reply r;

	cr_assert_eq(http_parser_init(&p, 1024), 0);
	http_parser_feed(&p, raw, strlen(raw));
	cr_assert_eq(http_parse(&p, &req), HTTP_REQUEST_READY, "%s", raw);
	mmds_answer(m, &req, now, &r);
	http_parser_free(&p);
	return r;
}

static void expect(const char *raw, int status, const char *body)
{
	struct mmds_reply r = ask(raw, SEC);

	cr_assert_eq(r.status, status, "%d for %s (%s)", r.status, raw,
		     r.body ? r.body : "");
	if (body)
		cr_assert_str_eq(r.body, body, "for %s", raw);
	mmds_reply_free(&r);
}

static const char doc[] =
	"{\"latest\": {\"meta-data\": {\"ami-id\": \"ami-1\", \"zone\": \"z\","
	" \"network\": {\"if\": \"x\"}, \"n\": 5, \"list\": [\"a\", \"b\"]}},"
	" \"a/b\": \"slash\"}";

Test(mmds, imds_text_lists_sorted_keys_objects_with_a_slash)
{
	put(doc);
	expect("GET / HTTP/1.1\r\n\r\n", 200, "a/b\nlatest/");
	expect("GET /latest HTTP/1.1\r\n\r\n", 200, "meta-data/");
	expect("GET /latest/meta-data/ HTTP/1.1\r\n\r\n", 200,
	       "ami-id\nlist\nn\nnetwork/\nzone");
	expect("GET /latest//meta-data/ami-id HTTP/1.1\r\n\r\n", 200, "ami-1");
	expect("GET /latest/meta-data/list/1 HTTP/1.1\r\n\r\n", 200, "b");
	expect("GET /a~1b HTTP/1.1\r\n\r\n", 200, "slash");
	/* other types only as JSON */
	expect("GET /latest/meta-data/n HTTP/1.1\r\n\r\n", 501, NULL);
	expect("GET /latest/meta-data/nope HTTP/1.1\r\n\r\n", 404, NULL);
	expect("GET /latest/meta-data/list/01 HTTP/1.1\r\n\r\n", 404, NULL);
	expect("GET /latest/meta-data/ami-id/x HTTP/1.1\r\n\r\n", 404, NULL);
	expect("GET /a~2b HTTP/1.1\r\n\r\n", 404, NULL);
}

Test(mmds, json_when_asked_unless_imds_compat)
{
	struct mmds_reply r;

	put(doc);
	r = ask("GET /latest/meta-data/n HTTP/1.1\r\nAccept: application/json\r\n\r\n",
		SEC);
	cr_assert_eq(r.status, 200);
	cr_assert(r.json);
	cr_assert_str_eq(r.body, "5");
	mmds_reply_free(&r);
	expect("GET /latest/meta-data/network HTTP/1.1\r\naccept:  application/json \r\n\r\n",
	       200, "{\"if\":\"x\"}");
	mmds_set_version(m, MMDS_V1, true);
	expect("GET /latest/meta-data/network HTTP/1.1\r\nAccept: application/json\r\n\r\n",
	       200, "if");
}

Test(mmds, empty_store_answers_404_and_get_gives_braces)
{
	char *s = mmds_get_json(m);

	cr_assert_str_eq(s, "{}");
	free(s);
	expect("GET / HTTP/1.1\r\n\r\n", 404, NULL);
}

Test(mmds, patch_merges_as_rfc7396_and_needs_a_put_first)
{
	json_t *p = json_loads("{\"a\": 1}", 0, NULL);
	char *s;

	cr_assert_neq(mmds_patch(m, p, err, sizeof(err)), 0);
	cr_assert(strstr(err, "not initialized"), "%s", err);
	json_decref(p);
	put("{\"a\": {\"b\": 1, \"c\": 2}, \"d\": [1, 2], \"e\": 1}");
	p = json_loads("{\"a\": {\"b\": null, \"x\": {\"y\": 1}}, \"d\": [3], "
		       "\"e\": null, \"f\": \"new\"}",
		       0, NULL);
	cr_assert_eq(mmds_patch(m, p, err, sizeof(err)), 0, "%s", err);
	json_decref(p);
	s = mmds_get_json(m);
	cr_assert_str_eq(s, "{\"a\":{\"c\":2,\"x\":{\"y\":1}},\"d\":[3],\"f\":\"new\"}");
	free(s);
}

Test(mmds, size_limit_refuses_and_keeps_the_store)
{
	char big[300];
	json_t *j;
	char *s;

	mmds_destroy(m);
	m = mmds_create(100);
	put("{\"k\": \"v\"}");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	j = json_pack("{s:s}", "k", big);
	cr_assert_eq(mmds_put(m, j, err, sizeof(err)), -E2BIG);
	cr_assert_eq(mmds_patch(m, j, err, sizeof(err)), -E2BIG);
	json_decref(j);
	s = mmds_get_json(m);
	cr_assert_str_eq(s, "{\"k\":\"v\"}");
	free(s);
}

/* A V2 token for @ttl seconds, asked for at @now. */
static char *token(uint64_t now, int ttl)
{
	char raw[200];
	struct mmds_reply r;

	snprintf(raw, sizeof(raw),
		 "PUT /latest/api/token HTTP/1.1\r\nX-metadata-token-ttl-seconds: %d\r\n\r\n",
		 ttl);
	r = ask(raw, now);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert(strstr(r.extra_header, "X-metadata-token-ttl-seconds"));
	return r.body;
}

Test(mmds, v2_wants_a_valid_token_until_it_expires)
{
	char raw[300];
	char *tok;

	put(doc);
	mmds_set_version(m, MMDS_V2, false);
	expect("GET /latest/meta-data/ami-id HTTP/1.1\r\n\r\n", 401, NULL);
	tok = token(SEC, 10);
	cr_assert_eq(strlen(tok), 43);
	snprintf(raw, sizeof(raw),
		 "GET /latest/meta-data/ami-id HTTP/1.1\r\nX-metadata-token: %s\r\n\r\n",
		 tok);
	expect(raw, 200, "ami-1");
	/* the AWS header name works too */
	snprintf(raw, sizeof(raw),
		 "GET /latest/meta-data/ami-id HTTP/1.1\r\nX-aws-ec2-metadata-token: %s\r\n\r\n",
		 tok);
	expect(raw, 200, "ami-1");
	/* one character off */
	tok[5] ^= 1;
	snprintf(raw, sizeof(raw),
		 "GET /latest/meta-data/ami-id HTTP/1.1\r\nX-metadata-token: %s\r\n\r\n",
		 tok);
	expect(raw, 401, NULL);
	tok[5] ^= 1;
	/* expired: 10 s later */
	snprintf(raw, sizeof(raw),
		 "GET /latest/meta-data/ami-id HTTP/1.1\r\nX-metadata-token: %s\r\n\r\n",
		 tok);
	{
		struct mmds_reply r = ask(raw, 11 * SEC);

		cr_assert_eq(r.status, 401);
		mmds_reply_free(&r);
	}
	free(tok);
	/* V1 answers without one */
	mmds_set_version(m, MMDS_V1, false);
	expect("GET /latest/meta-data/ami-id HTTP/1.1\r\n\r\n", 200, "ami-1");
}

Test(mmds, token_requests_are_checked)
{
	expect("PUT /latest/api/token HTTP/1.1\r\n\r\n", 400, NULL);
	expect("PUT /latest/api/token HTTP/1.1\r\nX-metadata-token-ttl-seconds: 0\r\n\r\n",
	       400, NULL);
	expect("PUT /latest/api/token HTTP/1.1\r\nX-metadata-token-ttl-seconds: 21601\r\n\r\n",
	       400, NULL);
	expect("PUT /latest/api/token HTTP/1.1\r\nX-metadata-token-ttl-seconds: 99999999999999999999\r\n\r\n",
	       400, NULL);
	expect("PUT /latest/api/token HTTP/1.1\r\nX-metadata-token-ttl-seconds: 1x\r\n\r\n",
	       400, NULL);
	expect("PUT /latest/api/token HTTP/1.1\r\nX-metadata-token-ttl-seconds: 60\r\n"
	       "X-Forwarded-For: 1.2.3.4\r\n\r\n",
	       400, NULL);
	expect("PUT /latest/meta-data HTTP/1.1\r\nX-metadata-token-ttl-seconds: 60\r\n\r\n",
	       404, NULL);
	expect("PUT /latest/api/token HTTP/1.1\r\nX-aws-ec2-metadata-token-ttl-seconds: 21600\r\n\r\n",
	       200, NULL);
}

Test(mmds, other_methods_get_405_with_allow)
{
	struct mmds_reply r = ask("POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", SEC);
	char *bytes;
	size_t n;

	cr_assert_eq(r.status, 405);
	bytes = mmds_reply_build(&r, true, false, &n);
	cr_assert(strstr(bytes, "HTTP/1.1 405 Method Not Allowed\r\n"));
	cr_assert(strstr(bytes, "Allow: GET, PUT\r\n"));
	cr_assert(strstr(bytes, "Connection: close\r\n"));
	free(bytes);
	mmds_reply_free(&r);
}

Test(mmds, old_tokens_make_room_for_new_ones)
{
	char *first = token(SEC, 100), raw[300];

	mmds_set_version(m, MMDS_V2, false);
	put("{\"k\": \"v\"}");
	for (int i = 0; i < MMDS_MAX_TOKENS; i++)
		free(token(2 * SEC, 200));
	snprintf(raw, sizeof(raw), "GET /k HTTP/1.1\r\nX-metadata-token: %s\r\n\r\n",
		 first);
	expect(raw, 401, NULL); /* the soonest to expire went first */
	free(first);
}

/* --- the stack --- */

static struct mmds_stack *st;
static const uint8_t guest_mac[6] = { 0x06, 0, 0xac, 0x10, 0, 2 };
static uint8_t out[70000];

static void stack_setup(void)
{
	setup();
	st = mmds_stack_create(m, MMDS_IP);
	cr_assert(st);
}

static void stack_teardown(void)
{
	mmds_stack_destroy(st);
	teardown();
}

TestSuite(mmds_stack, .init = stack_setup, .fini = stack_teardown,
	  .timeout = 20);





static void send_frame(const uint8_t *f, size_t len, uint64_t now)
{
	cr_assert(mmds_stack_claims(st, f, len < MMDS_CLAIM_LEN ? len : MMDS_CLAIM_LEN));
	mmds_stack_input(st, f, len, now);
}

/* A TCP segment from the guest's port @sport to the service's @dport. */
static void guest_seg(uint16_t sport, uint16_t dport, uint8_t flags,
		      uint32_t seq, uint32_t ack, uint16_t wnd,
		      const char *data, uint16_t mss, uint64_t now)
{
	uint8_t f[2048] = { 0 };
	size_t dlen = data ? strlen(data) : 0, thl = mss ? 24 : 20;
	uint8_t *ip = f + 14, *th = ip + 20;

	memset(f, 0xff, 6);
	memcpy(f + 6, guest_mac, 6);
	be16_put(f + 12, 0x0800);
	ip[0] = 0x45;
	be16_put(ip + 2, (uint16_t)(20 + thl + dlen));
	ip[8] = 64;
	ip[9] = 6;
	be32_put(ip + 12, GUEST_IP);
	be32_put(ip + 16, MMDS_IP);
	be16_put(th, sport);
	be16_put(th + 2, dport);
	be32_put(th + 4, seq);
	be32_put(th + 8, ack);
	th[12] = (uint8_t)((thl / 4) << 4);
	th[13] = flags;
	be16_put(th + 14, wnd);
	if (mss) {
		th[20] = 2;
		th[21] = 4;
		be16_put(th + 22, mss);
	}
	memcpy(th + thl, data ? data : "", dlen);
	send_frame(f, 14 + 20 + thl + dlen, now);
}

struct got {
	uint8_t flags;
	uint32_t seq, ack;
	uint16_t wnd, mss, dport;
	const uint8_t *data;
	size_t len;
};

static uint16_t csum(uint32_t acc, const uint8_t *p, size_t n)
{
	for (; n > 1; n -= 2, p += 2)
		acc += be16_get(p);
	if (n)
		acc += (uint32_t)p[0] << 8;
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)~acc;
}

/* The next TCP segment the stack sends, checked (addresses, checksums);
 * false when none is due. */
static bool next_seg(struct got *g, uint64_t now)
{
	size_t n = mmds_stack_output(st, out, sizeof(out), now);
	uint8_t *ip = out + 14, *th = ip + 20;
	size_t tcp_len;
	uint32_t pseudo;

	if (!n)
		return false;
	cr_assert_eq(memcmp(out, guest_mac, 6), 0);
	cr_assert_eq(be16_get(out + 12), 0x0800);
	cr_assert_eq(csum(0, ip, 20), 0, "IP checksum");
	cr_assert_eq(be32_get(ip + 12), MMDS_IP);
	cr_assert_eq(be32_get(ip + 16), GUEST_IP);
	cr_assert_eq(be16_get(ip + 2), n - 14);
	tcp_len = n - 34;
	pseudo = (MMDS_IP >> 16) + (MMDS_IP & 0xffff) + (GUEST_IP >> 16) +
		 (GUEST_IP & 0xffff) + 6 + (uint32_t)tcp_len;
	cr_assert_eq(csum(pseudo, th, tcp_len), 0, "TCP checksum");
	cr_assert_eq(be16_get(th), 80);
	g->dport = be16_get(th + 2);
	g->seq = be32_get(th + 4);
	g->ack = be32_get(th + 8);
	g->flags = th[13];
	g->wnd = be16_get(th + 14);
	g->mss = (th[12] >> 4) > 5 && th[20] == 2 ? be16_get(th + 22) : 0;
	g->data = th + (th[12] >> 4) * 4;
	g->len = tcp_len - (size_t)(th[12] >> 4) * 4;
	return true;
}

Test(mmds_stack, arp_for_the_address_is_answered)
{
	uint8_t f[42] = { 0 };
	size_t n;

	memset(f, 0xff, 6);
	memcpy(f + 6, guest_mac, 6);
	be16_put(f + 12, 0x0806);
	be16_put(f + 14, 1);
	be16_put(f + 16, 0x0800);
	f[18] = 6;
	f[19] = 4;
	be16_put(f + 20, 1);
	memcpy(f + 22, guest_mac, 6);
	be32_put(f + 28, GUEST_IP);
	be32_put(f + 38, MMDS_IP);
	send_frame(f, sizeof(f), SEC);
	n = mmds_stack_output(st, out, sizeof(out), SEC);
	cr_assert_eq(n, 42);
	cr_assert_eq(memcmp(out, guest_mac, 6), 0);
	cr_assert_eq(be16_get(out + 20), 2, "a reply");
	cr_assert_eq(memcmp(out + 22, "\x06\x01\x23\x45\x67\x01", 6), 0);
	cr_assert_eq(be32_get(out + 28), MMDS_IP);
	cr_assert_eq(memcmp(out + 32, guest_mac, 6), 0);
	cr_assert_eq(be32_get(out + 38), GUEST_IP);
	cr_assert_eq(mmds_stack_output(st, out, sizeof(out), SEC), 0);
	/* another address is not ours */
	be32_put(f + 38, 0xa9fea9fd);
	cr_assert_not(mmds_stack_claims(st, f, sizeof(f)));
}

/* Opens a connection from @port; returns the service's ISS. */
static uint32_t handshake(uint16_t port, uint32_t iss, uint16_t wnd,
			  uint16_t mss)
{
	struct got g;

	guest_seg(port, 80, TCP_SYN, iss, 0, wnd, NULL, mss, SEC);
	cr_assert(next_seg(&g, SEC));
	cr_assert_eq(g.flags, TCP_SYN | TCP_ACK);
	cr_assert_eq(g.ack, iss + 1);
	cr_assert_eq(g.mss, MMDS_TCP_MSS);
	cr_assert_eq(g.dport, port);
	guest_seg(port, 80, TCP_ACK, iss + 1, g.seq + 1, wnd, NULL, 0, SEC);
	return g.seq;
}

/* Reads the whole answer, acknowledging as it comes; returns its bytes
 * (malloc'd) and whether a FIN ended it. */
static char *read_answer(uint16_t port, uint32_t *gseq, uint32_t *sseq,
			 uint16_t wnd, size_t mss, bool *fin)
{
	size_t len = 0;
	char *buf = malloc(70000);
	struct got g;

	*fin = false;
	while (next_seg(&g, SEC)) {
		if (!g.len && !(g.flags & TCP_FIN))
			continue; /* a pure ACK */
		cr_assert_eq(g.seq, *sseq, "in order");
		cr_assert_leq(g.len, mss);
		memcpy(buf + len, g.data, g.len);
		len += g.len;
		*sseq += (uint32_t)g.len;
		if (g.flags & TCP_FIN) {
			*fin = true;
			(*sseq)++;
		}
		guest_seg(port, 80, TCP_ACK, *gseq, *sseq, wnd, NULL, 0, SEC);
	}
	buf[len] = '\0';
	return buf;
}

Test(mmds_stack, request_answered_then_both_sides_close)
{
	uint32_t gseq = 1000, sseq;
	const char *req = "GET /latest/meta-data/ami-id HTTP/1.0\r\n\r\n";
	char *ans;
	bool fin;
	struct got g;

	put(doc);
	sseq = handshake(40000, gseq - 1, 65535, 1460) + 1;
	guest_seg(40000, 80, TCP_ACK | TCP_PSH, gseq, sseq, 65535, req, 0, SEC);
	gseq += (uint32_t)strlen(req);
	ans = read_answer(40000, &gseq, &sseq, 65535, 1460, &fin);
	cr_assert(strstr(ans, "HTTP/1.1 200 OK\r\n"), "%s", ans);
	cr_assert(strstr(ans, "Content-Type: text/plain\r\n"));
	cr_assert(strstr(ans, "\r\n\r\nami-1"), "%s", ans);
	cr_assert(fin, "HTTP/1.0: the service closes");
	free(ans);
	/* the guest's FIN is acknowledged, then the connection is gone: a
	 * late segment gets a reset */
	guest_seg(40000, 80, TCP_ACK | TCP_FIN, gseq, sseq, 65535, NULL, 0, SEC);
	cr_assert(next_seg(&g, SEC));
	cr_assert_eq(g.flags, TCP_ACK);
	cr_assert_eq(g.ack, gseq + 1);
	cr_assert_not(next_seg(&g, SEC));
	guest_seg(40000, 80, TCP_ACK, gseq + 1, sseq, 65535, NULL, 0, SEC);
	cr_assert(next_seg(&g, SEC));
	cr_assert(g.flags & TCP_RST);
	cr_assert_eq(g.seq, sseq);
}

Test(mmds_stack, keep_alive_serves_two_requests_on_one_connection)
{
	uint32_t gseq = 5000, sseq;
	const char *req = "GET /latest/meta-data/zone HTTP/1.1\r\nHost: x\r\n\r\n";
	char *ans;
	bool fin;

	put(doc);
	sseq = handshake(40001, gseq - 1, 65535, 1460) + 1;
	for (int i = 0; i < 2; i++) {
		guest_seg(40001, 80, TCP_ACK | TCP_PSH, gseq, sseq, 65535, req,
			  0, SEC);
		gseq += (uint32_t)strlen(req);
		ans = read_answer(40001, &gseq, &sseq, 65535, 1460, &fin);
		cr_assert(strstr(ans, "\r\n\r\nz"), "%s", ans);
		cr_assert_not(fin);
		cr_assert_null(strstr(ans, "Connection: close"));
		free(ans);
	}
}

Test(mmds_stack, a_long_answer_keeps_to_mss_and_window)
{
	uint32_t gseq = 1, sseq, inflight = 0;
	const char *req = "GET /big HTTP/1.0\r\n\r\n";
	char big[20001];
	size_t total = 0;
	json_t *j;
	struct got g;
	bool fin = false;

	memset(big, 'q', 20000);
	big[20000] = '\0';
	j = json_pack("{s:s}", "big", big);
	cr_assert_eq(mmds_put(m, j, err, sizeof(err)), 0);
	json_decref(j);
	sseq = handshake(40002, 0, 3000, 536) + 1;
	guest_seg(40002, 80, TCP_ACK | TCP_PSH, gseq, sseq, 3000, req, 0, SEC);
	gseq += (uint32_t)strlen(req);
	while (!fin) {
		/* a burst: never more than the window in flight */
		while (next_seg(&g, SEC)) {
			if (!g.len && !(g.flags & TCP_FIN))
				continue;
			cr_assert_leq(g.len, 536);
			inflight += (uint32_t)g.len;
			cr_assert_leq(inflight, 3000);
			total += g.len;
			fin = g.flags & TCP_FIN;
			sseq = g.seq + (uint32_t)g.len + (fin ? 1 : 0);
		}
		cr_assert_gt(inflight + fin, 0, "stalled");
		guest_seg(40002, 80, TCP_ACK, gseq, sseq, 3000, NULL, 0, SEC);
		inflight = 0;
	}
	cr_assert_gt(total, 20000);
}

Test(mmds_stack, lost_segments_are_sent_again_then_given_up)
{
	uint32_t iss;
	struct got g, again;
	uint64_t now = SEC, d;
	int sent = 0;

	guest_seg(40003, 80, TCP_SYN, 77, 0, 65535, NULL, 1460, now);
	cr_assert(next_seg(&g, now));
	iss = g.seq;
	/* nothing until the timer */
	cr_assert_not(next_seg(&again, now));
	d = mmds_stack_deadline(st);
	cr_assert_eq(d, now + MMDS_TCP_RTO_NS);
	/* the guest never answers: the SYN-ACK again, with backoff, then a
	 * reset and the connection is gone */
	for (;;) {
		d = mmds_stack_deadline(st);
		if (!d)
			break;
		now = d;
		mmds_stack_tick(st, now);
		cr_assert(next_seg(&again, now));
		if (again.flags & TCP_RST)
			break;
		cr_assert_eq(again.flags, TCP_SYN | TCP_ACK);
		cr_assert_eq(again.seq, iss);
		sent++;
	}
	cr_assert_eq(sent, MMDS_TCP_MAX_RETRIES);
	cr_assert(again.flags & TCP_RST);
	cr_assert_eq(mmds_stack_deadline(st), 0);
}

Test(mmds_stack, lost_data_is_resent_from_the_first_byte_not_acked)
{
	uint32_t gseq = 10, sseq, first;
	const char *req = "GET /latest/meta-data/ami-id HTTP/1.0\r\n\r\n";
	struct got g;

	put(doc);
	sseq = handshake(40004, gseq - 1, 65535, 1460) + 1;
	guest_seg(40004, 80, TCP_ACK | TCP_PSH, gseq, sseq, 65535, req, 0, SEC);
	cr_assert(next_seg(&g, SEC));
	cr_assert_gt(g.len, 0);
	first = g.seq;
	cr_assert_eq(g.ack, gseq + strlen(req), "the request is acknowledged");
	mmds_stack_tick(st, mmds_stack_deadline(st));
	cr_assert(next_seg(&g, 2 * SEC));
	cr_assert_eq(g.seq, first);
	cr_assert_gt(g.len, 0);
}

Test(mmds_stack, other_ports_and_strays_get_resets)
{
	struct got g;

	guest_seg(40005, 22, TCP_SYN, 100, 0, 65535, NULL, 0, SEC);
	cr_assert(next_seg(&g, SEC));
	cr_assert_eq(g.flags, TCP_RST | TCP_ACK);
	cr_assert_eq(g.ack, 101);
	guest_seg(40006, 80, TCP_ACK, 100, 12345, 65535, NULL, 0, SEC);
	cr_assert(next_seg(&g, SEC));
	cr_assert_eq(g.flags, TCP_RST);
	cr_assert_eq(g.seq, 12345);
	/* a reset is never answered */
	guest_seg(40006, 80, TCP_RST, 100, 0, 65535, NULL, 0, SEC);
	cr_assert_not(next_seg(&g, SEC));
}

Test(mmds_stack, connections_are_capped)
{
	struct got g;

	for (int i = 0; i < MMDS_MAX_CONNS; i++) {
		guest_seg((uint16_t)(41000 + i), 80, TCP_SYN, 1, 0, 65535, NULL,
			  0, SEC);
		cr_assert(next_seg(&g, SEC));
		cr_assert_eq(g.flags, TCP_SYN | TCP_ACK);
	}
	guest_seg(42000, 80, TCP_SYN, 1, 0, 65535, NULL, 0, SEC);
	cr_assert(next_seg(&g, SEC));
	cr_assert(g.flags & TCP_RST, "refused while all are busy");
	/* once they idle long enough, the oldest makes room */
	guest_seg(42001, 80, TCP_SYN, 1, 0, 65535, NULL, 0, 20 * SEC);
	cr_assert(next_seg(&g, 20 * SEC));
	cr_assert_eq(g.flags, TCP_SYN | TCP_ACK);
}

Test(mmds_stack, an_oversized_request_is_refused_and_closed)
{
	uint32_t gseq = 1, sseq;
	char req[1500];
	char *ans;
	bool fin;

	sseq = handshake(40007, 0, 65535, 1460) + 1;
	/* a body larger than the service takes */
	snprintf(req, sizeof(req),
		 "PUT /latest/api/token HTTP/1.1\r\nContent-Length: 999999\r\n\r\n");
	guest_seg(40007, 80, TCP_ACK, gseq, sseq, 65535, req, 0, SEC);
	gseq += (uint32_t)strlen(req);
	ans = read_answer(40007, &gseq, &sseq, 65535, 1460, &fin);
	cr_assert(strstr(ans, "HTTP/1.1 413"), "%s", ans);
	cr_assert(fin);
	free(ans);
}

Test(mmds_stack, garbage_is_counted_not_followed)
{
	uint8_t f[128];

	srand(7);
	for (int i = 0; i < 20000; i++) {
		size_t len = 34 + (size_t)(rand() % 90);

		for (size_t k = 0; k < len; k++)
			f[k] = (uint8_t)rand();
		be16_put(f + 12, i & 1 ? 0x0806 : 0x0800);
		be32_put(f + 30, MMDS_IP);
		be32_put(f + 38, MMDS_IP);
		mmds_stack_input(st, f, len, SEC + (uint64_t)i);
		while (mmds_stack_output(st, out, sizeof(out), SEC + (uint64_t)i))
			;
	}
}

Test(mmds_stack, an_ack_that_arrives_after_a_timeout_still_counts)
{
	uint32_t gseq = 10, sseq, end;
	const char *req = "GET /latest/meta-data/ami-id HTTP/1.0\r\n\r\n";
	struct got g;

	put(doc);
	sseq = handshake(40010, gseq - 1, 65535, 1460) + 1;
	guest_seg(40010, 80, TCP_ACK | TCP_PSH, gseq, sseq, 65535, req, 0, SEC);
	cr_assert(next_seg(&g, SEC));
	cr_assert(g.flags & TCP_FIN, "a short HTTP/1.0 answer ends with FIN");
	end = g.seq + (uint32_t)g.len + 1;
	gseq += (uint32_t)strlen(req);
	/* the timer rewinds and the answer goes again ... */
	mmds_stack_tick(st, mmds_stack_deadline(st));
	cr_assert(next_seg(&g, 2 * SEC));
	cr_assert_eq(g.seq, sseq);
	/* ... and then the guest's ACK of the first copy, FIN included,
	 * and its own FIN: the connection is done, no timer left */
	guest_seg(40010, 80, TCP_ACK | TCP_FIN, gseq, end, 65535, NULL, 0,
		  2 * SEC);
	cr_assert(next_seg(&g, 2 * SEC));
	cr_assert_eq(g.ack, gseq + 1, "the guest's FIN is acknowledged");
	cr_assert_not(next_seg(&g, 2 * SEC));
	cr_assert_eq(mmds_stack_deadline(st), 0);
}

Test(mmds_stack, an_answer_to_head_has_no_body)
{
	uint32_t gseq = 10, sseq;
	const char *req = "HEAD /latest/meta-data/ami-id HTTP/1.0\r\n\r\n";
	char *ans, *end;
	bool fin;

	put(doc);
	sseq = handshake(40011, gseq - 1, 65535, 1460) + 1;
	guest_seg(40011, 80, TCP_ACK | TCP_PSH, gseq, sseq, 65535, req, 0, SEC);
	gseq += (uint32_t)strlen(req);
	ans = read_answer(40011, &gseq, &sseq, 65535, 1460, &fin);
	cr_assert(fin);
	cr_assert(strstr(ans, "Content-Length: "));
	cr_assert_neq(strstr(ans, "Content-Length: 0\r\n"), ans);
	end = strstr(ans, "\r\n\r\n");
	cr_assert(end);
	cr_assert_eq(end[4], '\0', "nothing after the head: %s", ans);
	free(ans);
}

Test(mmds, the_token_path_reads_as_lookups_do)
{
	expect("PUT //latest//api/token/ HTTP/1.1\r\nX-metadata-token-ttl-seconds: 60\r\n\r\n",
	       200, NULL);
	expect("PUT /latest/api/tokens HTTP/1.1\r\nX-metadata-token-ttl-seconds: 60\r\n\r\n",
	       404, NULL);
	expect("PUT /latest/api HTTP/1.1\r\nX-metadata-token-ttl-seconds: 60\r\n\r\n",
	       404, NULL);
}
