/*
 * Self-describing records for the many-writer pipe and FIFO stress cases:
 * their format, their generation, a streaming verifier, and the driver that
 * runs writers and readers over a pipe or a FIFO.
 *
 * Format.  A record is a logical header and payload:
 *
 *   magic u32 | writer u16 | flags u16 | seq u32 | len u32 | sum u32 | payload
 *
 * (little-endian; len is the record's size on the wire, sum is FNV-1a over
 * the header with sum = 0 and the payload).  On the wire every logical byte
 * becomes two bytes, (writer << 4 | high nibble), (writer << 4 | low
 * nibble), and an odd len ends with one pad byte (writer << 4).  So every
 * byte of the stream names its writer: a reader can take apart a stream in
 * which records interleave at any byte (POSIX allows it above PIPE_BUF),
 * follow each writer's records, and tell exactly where another writer's
 * bytes fell inside one of them.  The price is 16 writers per channel and
 * twice the bytes; the smallest record is IPCH_REC_MIN_LEN bytes (a header
 * and one payload byte: below that a record cannot say who wrote it, which
 * one it is and whether it is intact).
 *
 * Payload bytes are below 0x80 and two bytes of the magic are not, so a
 * magic found inside a record is the start of another one (a torn record).
 */
#ifndef IPCH_RECORDS_H
#define IPCH_RECORDS_H

#include <atf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IPCH_REC_MAGIC 0xa55ac33cu
#define IPCH_REC_HDR 20 /* logical header bytes */
#define IPCH_REC_MIN_LEN (2 * (IPCH_REC_HDR + 1))
#define IPCH_REC_MAX_WRITERS 16
#define IPCH_REC_MAX_READERS 8

/* What the writers write: the same description drives the generator in
 * each writer and the verifier in each reader. */
struct ipch_rec_spec {
	unsigned writers; /* 1 .. IPCH_REC_MAX_WRITERS */
	uint32_t records; /* per writer */
	size_t min_len;   /* wire sizes of ordinary records, */
	size_t max_len;   /* from min_len to max_len inclusive */
	size_t large_min; /* wire sizes of large records (0: none) */
	size_t large_max;
	unsigned large_pct; /* share of large records, percent */
	uint32_t seed;
};

/* Wire size of record `seq` of writer `w`: the same on every call. */
size_t ipch_rec_len(const struct ipch_rec_spec *s, unsigned w, uint32_t seq);

/* Largest wire size the spec produces. */
size_t ipch_rec_max_len(const struct ipch_rec_spec *s);

/* Write record `seq` of writer `w`, `len` wire bytes, into out (len bytes
 * of room; len >= IPCH_REC_MIN_LEN). */
void ipch_rec_encode(uint8_t *out, unsigned w, uint32_t seq, size_t len);

/* Totals of one verifier, summed by the driver over readers. */
struct ipch_rec_totals {
	uint64_t records;           /* intact records (checksum good) */
	uint64_t bytes;             /* their wire bytes */
	uint64_t large_records;     /* of those, above PIPE_BUF */
	uint64_t large_interleaved; /* ... with another writer's bytes inside */
	uint64_t errors;
};

struct ipch_rec_verifier;

/*
 * A verifier for one reader's stream.  `exclusive`: the only reader, which
 * must see every record of every writer in order; otherwise one of several
 * readers, which sees a strictly increasing subset of each writer's records
 * (the driver checks exactly-once delivery across readers).
 * on_record, if not NULL, is told of every intact record.
 */
struct ipch_rec_verifier *ipch_rec_verifier_new(const struct ipch_rec_spec *s,
    bool exclusive,
    void (*on_record)(void *ctx, unsigned w, uint32_t seq, size_t len),
    void *ctx);
void ipch_rec_verifier_free(struct ipch_rec_verifier *v);

/* The next n bytes of the stream, as they came. */
void ipch_rec_feed(struct ipch_rec_verifier *v, const void *buf, size_t n);

/* End of stream: records cut off, records never seen (exclusive). */
void ipch_rec_finish(struct ipch_rec_verifier *v);

/* Record an error found outside the verifier (a short read), at the
 * current stream offset, so that the first error wins the message. */
void ipch_rec_error_add(struct ipch_rec_verifier *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

const struct ipch_rec_totals *ipch_rec_totals(
    const struct ipch_rec_verifier *v);

/* The first error in stream order, one line, or NULL:
 *   writer 3 record 17: expected sequence 17, got 19 (2 lost) */
const char *ipch_rec_error(const struct ipch_rec_verifier *v);

/* ---- the driver --------------------------------------------------- */

enum ipch_rec_channel { IPCH_REC_PIPE, IPCH_REC_FIFO };

struct ipch_rec_run {
	enum ipch_rec_channel channel;
	const char *label; /* metric prefix, "pipe.small" */
	struct ipch_rec_spec spec;
	/* 1: one reader reads with large reads; more: each reads exactly
	 * spec.max_len bytes at a time, and spec must have min_len ==
	 * max_len == PIPE_BUF (see ipch_records.c for why). */
	unsigned readers;
	/* Writers set O_NONBLOCK; readers start only once every writer has
	 * seen EAGAIN (or finished), so both outcomes of a write are seen. */
	bool nonblocking;
};

/*
 * Run writers and readers over a new pipe or FIFO, then check the sums
 * (records and bytes written against records and bytes verified, every
 * record read exactly once) and report metrics.  Fails the case with the
 * first reader's diagnosis.
 */
void ipch_rec_run(const atf_tc_t *tc, const struct ipch_rec_run *r);

/* ---- configuration ------------------------------------------------ */

/* Records per case: stress_records when set (checked), else def_short or
 * def_long by stress. */
uint32_t ipch_rec_volume(
    const atf_tc_t *tc, uint32_t def_short, uint32_t def_long);

/* Writers per channel: stress_writers when set (1..16), else four per
 * online CPU, at most IPCH_REC_MAX_WRITERS. */
unsigned ipch_rec_writers(const atf_tc_t *tc);

/* ---- the stress scenarios, shared by the pipe and FIFO programs ---- */

enum ipch_rec_scenario {
	IPCH_REC_SMALL,       /* 42 .. PIPE_BUF bytes, one reader */
	IPCH_REC_LARGE,       /* a quarter up to 32 * PIPE_BUF, counted */
	IPCH_REC_NONBLOCKING, /* O_NONBLOCK writers against a full channel */
	IPCH_REC_READERS,     /* PIPE_BUF records, three PIPE_BUF readers */
};

/*
 * Run one scenario on a pipe or a FIFO, sized by stress / stress_records /
 * stress_writers, with metrics labelled "<pipe|fifo>.stress.<scenario>".
 */
void ipch_rec_scenario(const atf_tc_t *tc, enum ipch_rec_channel channel,
    enum ipch_rec_scenario scenario);

#endif
