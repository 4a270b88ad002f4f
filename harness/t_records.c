/*
 * Self-tests of ipch_records: hand-made streams, whole and corrupt, fed to
 * the verifier, which must pass the good ones and name each fault exactly.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipch.h"

#define SELFTEST(name, descr)                                                  \
	IPCH_CASE(name, "selftest", "ipcsuite harness: records", descr)

/* Ordinary records only (all at most PIPE_BUF), so that every record of
 * the corrupt streams must arrive whole. */
static const struct ipch_rec_spec small_spec = {
    .writers = 6,
    .records = 40,
    .min_len = IPCH_REC_MIN_LEN,
    .max_len = PIPE_BUF,
    .seed = 7,
};

struct stream {
	uint8_t *p;
	size_t n, cap;
};

static void
put(struct stream *s, const void *buf, size_t n)
{
	if (s->n + n > s->cap) {
		s->cap = (s->n + n) * 2;
		s->p = realloc(s->p, s->cap);
		ATF_REQUIRE(s->p != NULL);
	}
	memcpy(s->p + s->n, buf, n);
	s->n += n;
}

/* Bytes [from, to) of record seq of writer w (to 0: to its end). */
static void
put_part(struct stream *s, const struct ipch_rec_spec *sp, unsigned w,
    uint32_t seq, size_t from, size_t to)
{
	size_t len = ipch_rec_len(sp, w, seq);
	uint8_t *rec = malloc(len);
	ATF_REQUIRE(rec != NULL);
	ipch_rec_encode(rec, w, seq, len);
	put(s, rec + from, (to == 0 ? len : to) - from);
	free(rec);
}

static void
put_rec(
    struct stream *s, const struct ipch_rec_spec *sp, unsigned w, uint32_t seq)
{
	put_part(s, sp, w, seq, 0, 0);
}

/* Every record of every writer, round robin, except that writer 3's are
 * left to the caller: `w3` lists its sequence numbers in stream order
 * (n3 of them), or NULL for all in order. */
static void
build(struct stream *s, const struct ipch_rec_spec *sp, const uint32_t *w3,
    size_t n3)
{
	size_t k = 0;
	for (uint32_t q = 0; q < sp->records; q++)
		for (unsigned w = 0; w < sp->writers; w++) {
			if (w != 3)
				put_rec(s, sp, w, q);
			else if (w3 == NULL)
				put_rec(s, sp, w, q);
			else if (k < n3)
				put_rec(s, sp, w, w3[k++]);
		}
	while (w3 != NULL && k < n3)
		put_rec(s, sp, 3, w3[k++]);
}

static struct ipch_rec_verifier *
verify(const struct ipch_rec_spec *sp, bool exclusive, const struct stream *s)
{
	struct ipch_rec_verifier *v =
	    ipch_rec_verifier_new(sp, exclusive, NULL, NULL);
	ATF_REQUIRE(v != NULL);
	/* Odd-sized pieces: the verifier must not care how reads cut. */
	for (size_t off = 0, step = 1; off < s->n; step = step * 7 % 4093 + 1) {
		size_t n = s->n - off < step ? s->n - off : step;
		ipch_rec_feed(v, s->p + off, n);
		off += n;
	}
	ipch_rec_finish(v);
	return v;
}

static void
expect_error(struct ipch_rec_verifier *v, const char *want)
{
	const char *got = ipch_rec_error(v);
	if (got == NULL)
		atf_tc_fail("verifier: expected \"%s\", got no error", want);
	if (strncmp(got, want, strlen(want)) != 0)
		atf_tc_fail("verifier: expected \"%s\", got \"%s\"", want, got);
}

static uint32_t
seqs_without(uint32_t *out, uint32_t records, uint32_t from, uint32_t to)
{
	uint32_t n = 0;
	for (uint32_t q = 0; q < records; q++)
		if (q < from || q >= to)
			out[n++] = q;
	return n;
}

SELFTEST(every_size_round_trips, "a record of every wire size from the "
                                 "smallest to beyond PIPE_BUF verifies");
ATF_TC_BODY(every_size_round_trips, tc)
{
	/* One writer whose record q has size min + q: ipch_rec_len with a
	 * one-value range, checked record by record. */
	for (size_t len = IPCH_REC_MIN_LEN; len <= PIPE_BUF + 3; len++) {
		struct ipch_rec_spec sp = {.writers = 1,
		    .records = 1,
		    .min_len = len,
		    .max_len = len,
		    .seed = 1};
		struct stream s = {0};
		put_rec(&s, &sp, 0, 0);
		struct ipch_rec_verifier *v = verify(&sp, true, &s);
		if (ipch_rec_error(v) != NULL)
			atf_tc_fail(
			    "record of %zu bytes: %s", len, ipch_rec_error(v));
		IPCH_EXPECT_EQ(
		    "intact records", 1, ipch_rec_totals(v)->records);
		IPCH_EXPECT_EQ("bytes", len, ipch_rec_totals(v)->bytes);
		ipch_rec_verifier_free(v);
		free(s.p);
	}
}

SELFTEST(whole_stream_passes_with_totals,
    "a stream of every record, whole and in order, passes and is counted");
ATF_TC_BODY(whole_stream_passes_with_totals, tc)
{
	struct stream s = {0};
	build(&s, &small_spec, NULL, 0);
	struct ipch_rec_verifier *v = verify(&small_spec, true, &s);
	if (ipch_rec_error(v) != NULL)
		atf_tc_fail("expected no error, got \"%s\"", ipch_rec_error(v));
	IPCH_EXPECT_EQ("intact records", 6 * 40, ipch_rec_totals(v)->records);
	IPCH_EXPECT_EQ("bytes", s.n, ipch_rec_totals(v)->bytes);
	ipch_rec_verifier_free(v);
	free(s.p);
}

SELFTEST(interleaved_large_records_are_counted_not_failed,
    "records above PIPE_BUF cut by other writers' records are counted as "
    "interleaved and are not errors");
ATF_TC_BODY(interleaved_large_records_are_counted_not_failed, tc)
{
	const struct ipch_rec_spec sp = {.writers = 2,
	    .records = 4,
	    .min_len = 100,
	    .max_len = 100,
	    .large_min = 3 * PIPE_BUF,
	    .large_max = 3 * PIPE_BUF,
	    .large_pct = 100,
	    .seed = 3};
	struct stream s = {0};
	/* Writer 0's large records each cut in three by writer 1's: records
	 * 0 and 1 of writer 0 interleaved, 2 and 3 whole. */
	for (uint32_t q = 0; q < 4; q++) {
		if (q < 2) {
			put_part(&s, &sp, 0, q, 0, 1000);
			put_rec(&s, &sp, 1, q);
			put_part(&s, &sp, 0, q, 1000, 0);
		} else {
			put_rec(&s, &sp, 0, q);
			put_rec(&s, &sp, 1, q);
		}
	}
	struct ipch_rec_verifier *v = verify(&sp, true, &s);
	if (ipch_rec_error(v) != NULL)
		atf_tc_fail("expected no error, got \"%s\"", ipch_rec_error(v));
	IPCH_EXPECT_EQ("large records", 8, ipch_rec_totals(v)->large_records);
	IPCH_EXPECT_EQ("large records interleaved", 2,
	    ipch_rec_totals(v)->large_interleaved);
	ipch_rec_verifier_free(v);
	free(s.p);
}

SELFTEST(torn_record_is_reported,
    "a record whose tail is missing, followed by the writer's next one, is "
    "reported torn");
ATF_TC_BODY(torn_record_is_reported, tc)
{
	struct stream s = {0};
	size_t len = ipch_rec_len(&small_spec, 3, 17);
	for (uint32_t q = 0; q < small_spec.records; q++)
		for (unsigned w = 0; w < small_spec.writers; w++)
			put_part(&s, &small_spec, w, q, 0,
			    w == 3 && q == 17 ? len / 2 : 0);
	struct ipch_rec_verifier *v = verify(&small_spec, true, &s);
	char want[160];
	snprintf(want, sizeof(want),
	    "writer 3 record 17 (seq 17): torn: %zu of its %zu bytes, then "
	    "the start of another record",
	    len / 2, len);
	expect_error(v, want);
	ipch_rec_verifier_free(v);
	free(s.p);
}

SELFTEST(record_torn_at_end_of_stream_is_reported,
    "a record cut off by the end of the stream is reported torn");
ATF_TC_BODY(record_torn_at_end_of_stream_is_reported, tc)
{
	struct stream s = {0};
	build(&s, &small_spec, NULL, 0);
	size_t len = ipch_rec_len(&small_spec, 5, 39);
	s.n -= 10; /* writer 5's record 39 is last */
	struct ipch_rec_verifier *v = verify(&small_spec, true, &s);
	char want[160];
	snprintf(want, sizeof(want),
	    "writer 5 record 39: torn: %zu of its %zu bytes, then the end of "
	    "the stream",
	    len - 10, len);
	expect_error(v, want);
	ipch_rec_verifier_free(v);
	free(s.p);
}

SELFTEST(mixed_record_is_reported,
    "a record of at most PIPE_BUF bytes with another writer's record "
    "inside is reported mixed, naming both writers and the place");
ATF_TC_BODY(mixed_record_is_reported, tc)
{
	struct stream s = {0};
	size_t len = ipch_rec_len(&small_spec, 3, 17);
	for (uint32_t q = 0; q < small_spec.records; q++)
		for (unsigned w = 0; w < small_spec.writers; w++) {
			if (w == 3 && q == 17) {
				put_part(&s, &small_spec, 3, 17, 0, len / 2);
				put_rec(&s, &small_spec, 5, 17);
				put_part(&s, &small_spec, 3, 17, len / 2, 0);
			} else if (!(w == 5 && q == 17))
				put_rec(&s, &small_spec, w, q);
		}
	struct ipch_rec_verifier *v = verify(&small_spec, true, &s);
	char want[200];
	snprintf(want, sizeof(want),
	    "writer 3 record 17 (seq 17, %zu bytes): mixed: writer 5's bytes "
	    "came after %zu of them",
	    len, len / 2);
	expect_error(v, want);
	ipch_rec_verifier_free(v);
	free(s.p);
}

SELFTEST(lost_records_are_reported,
    "two records missing from a writer's sequence are reported lost");
ATF_TC_BODY(lost_records_are_reported, tc)
{
	uint32_t w3[40];
	struct stream s = {0};
	build(&s, &small_spec, w3, seqs_without(w3, 40, 17, 19));
	struct ipch_rec_verifier *v = verify(&small_spec, true, &s);
	expect_error(v, "writer 3 record 17: expected sequence 17, got 19 (2 "
	                "lost)");
	ipch_rec_verifier_free(v);
	free(s.p);
}

SELFTEST(records_lost_at_the_end_are_reported,
    "a writer's last record never arriving is reported lost");
ATF_TC_BODY(records_lost_at_the_end_are_reported, tc)
{
	uint32_t w3[40];
	struct stream s = {0};
	build(&s, &small_spec, w3, seqs_without(w3, 40, 39, 40));
	struct ipch_rec_verifier *v = verify(&small_spec, true, &s);
	expect_error(v, "writer 3 record 39: expected sequence 39, got the end "
	                "of the stream (1 lost)");
	ipch_rec_verifier_free(v);
	free(s.p);
}

SELFTEST(duplicate_record_is_reported,
    "a record that arrives twice is reported as a duplicate");
ATF_TC_BODY(duplicate_record_is_reported, tc)
{
	uint32_t w3[41];
	for (uint32_t q = 0, k = 0; q < 40; q++) {
		w3[k++] = q;
		if (q == 17)
			w3[k++] = q;
	}
	struct stream s = {0};
	build(&s, &small_spec, w3, 41);
	struct ipch_rec_verifier *v = verify(&small_spec, true, &s);
	expect_error(v, "writer 3 record 18: expected sequence 18, got 17 "
	                "(duplicate)");
	ipch_rec_verifier_free(v);
	free(s.p);
}

SELFTEST(reordered_pair_is_reported,
    "two records of a writer swapped are reported as reordered, not lost");
ATF_TC_BODY(reordered_pair_is_reported, tc)
{
	uint32_t w3[40];
	for (uint32_t q = 0; q < 40; q++)
		w3[q] = q == 17 ? 18 : q == 18 ? 17 : q;
	struct stream s = {0};
	build(&s, &small_spec, w3, 40);
	struct ipch_rec_verifier *v = verify(&small_spec, true, &s);
	expect_error(v, "writer 3 record 18: expected sequence 19, got 17 "
	                "(reordered: it came after 18)");
	IPCH_EXPECT_EQ("errors", 1, ipch_rec_totals(v)->errors);
	ipch_rec_verifier_free(v);
	free(s.p);
}

SELFTEST(bad_checksum_is_reported,
    "a record with one payload nibble changed is reported with both "
    "checksums");
ATF_TC_BODY(bad_checksum_is_reported, tc)
{
	struct stream s = {0};
	size_t len = ipch_rec_len(&small_spec, 3, 17), at = 0;
	for (uint32_t q = 0; q < small_spec.records; q++)
		for (unsigned w = 0; w < small_spec.writers; w++) {
			if (w == 3 && q == 17)
				at = s.n;
			put_rec(&s, &small_spec, w, q);
		}
	/* The last payload byte's low nibble, tag kept: only the sum sees it.
	 */
	size_t k = at + (len & 1 ? len - 2 : len - 1);
	s.p[k] ^= 0x01;
	struct ipch_rec_verifier *v = verify(&small_spec, true, &s);
	char want[160];
	snprintf(want, sizeof(want),
	    "writer 3 record 17 (seq 17, %zu bytes): bad checksum: computed "
	    "0x",
	    len);
	expect_error(v, want);
	ipch_rec_verifier_free(v);
	free(s.p);
}

SELFTEST(byte_of_no_writer_is_reported,
    "a byte whose tag names no writer is reported with its offset");
ATF_TC_BODY(byte_of_no_writer_is_reported, tc)
{
	struct stream s = {0};
	put_rec(&s, &small_spec, 0, 0);
	size_t off = s.n;
	put(&s, "\xf0", 1);
	struct ipch_rec_verifier *v = verify(&small_spec, false, &s);
	char want[160];
	snprintf(want, sizeof(want),
	    "stream byte %zu: 0xf0 is not a record byte (it names writer 15 "
	    "of 6)",
	    off);
	expect_error(v, want);
	ipch_rec_verifier_free(v);
	free(s.p);
}

SELFTEST(shared_reader_accepts_gaps_but_not_going_back,
    "one of several readers may miss records but must see each writer's "
    "in increasing order");
ATF_TC_BODY(shared_reader_accepts_gaps_but_not_going_back, tc)
{
	uint32_t gaps[] = {0, 2, 5, 9}, back[] = {0, 5, 4};
	struct stream s = {0};
	build(&s, &small_spec, gaps, 4);
	struct ipch_rec_verifier *v = verify(&small_spec, false, &s);
	if (ipch_rec_error(v) != NULL)
		atf_tc_fail("gaps in a shared reader's stream: expected no "
		            "error, got \"%s\"",
		    ipch_rec_error(v));
	ipch_rec_verifier_free(v);
	free(s.p);
	s = (struct stream){0};
	build(&s, &small_spec, back, 3);
	v = verify(&small_spec, false, &s);
	expect_error(v, "writer 3 record 2: expected a sequence above 5, got 4 "
	                "(out of order or duplicate)");
	ipch_rec_verifier_free(v);
	free(s.p);
}

SELFTEST(first_error_in_stream_order_wins,
    "with a loss early and a duplicate late, the message is the loss's");
ATF_TC_BODY(first_error_in_stream_order_wins, tc)
{
	uint32_t w3[40];
	uint32_t n = seqs_without(w3, 39, 4, 5); /* 0..38 without 4 */
	w3[n++] = 30;                            /* duplicate at the end */
	struct stream s = {0};
	build(&s, &small_spec, w3, n);
	struct ipch_rec_verifier *v = verify(&small_spec, true, &s);
	expect_error(v, "writer 3 record 4: expected sequence 4, got 5 (1 "
	                "lost)");
	ipch_rec_verifier_free(v);
	free(s.p);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, every_size_round_trips);
	ATF_TP_ADD_TC(tp, whole_stream_passes_with_totals);
	ATF_TP_ADD_TC(tp, interleaved_large_records_are_counted_not_failed);
	ATF_TP_ADD_TC(tp, torn_record_is_reported);
	ATF_TP_ADD_TC(tp, record_torn_at_end_of_stream_is_reported);
	ATF_TP_ADD_TC(tp, mixed_record_is_reported);
	ATF_TP_ADD_TC(tp, lost_records_are_reported);
	ATF_TP_ADD_TC(tp, records_lost_at_the_end_are_reported);
	ATF_TP_ADD_TC(tp, duplicate_record_is_reported);
	ATF_TP_ADD_TC(tp, reordered_pair_is_reported);
	ATF_TP_ADD_TC(tp, bad_checksum_is_reported);
	ATF_TP_ADD_TC(tp, byte_of_no_writer_is_reported);
	ATF_TP_ADD_TC(tp, shared_reader_accepts_gaps_but_not_going_back);
	ATF_TP_ADD_TC(tp, first_error_in_stream_order_wins);
	return atf_no_error();
}
