/*
 * Records, their verifier and the many-writer driver (ipch_records.h).
 *
 * What the checks rest on:
 *   - POSIX.1-2017 write(): a write of at most PIPE_BUF bytes to a pipe or
 *     FIFO is not interleaved with data from other writers; above PIPE_BUF
 *     it may be, at any byte.  Non-blocking, at most PIPE_BUF: all of it is
 *     written or none (EAGAIN), never part.
 *   - POSIX says nothing about read atomicity: a read may return part of a
 *     record and another reader the rest.  With one reader that does not
 *     matter (the verifier works on the stream, not on reads).  With several
 *     readers the driver uses records of exactly PIPE_BUF bytes and reads of
 *     exactly PIPE_BUF bytes and requires each read to return one whole
 *     record.  That is Linux behaviour, not POSIX: a PIPE_BUF write fills
 *     pipe buffers only in whole PIPE_BUF pieces and pipe_read() holds the
 *     pipe lock while it copies (Linux pipe(7), fs/pipe.c).  The cases that
 *     use it say so in their X-ref.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS: not in POSIX.1-2008 */
#include "ipch_records.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdnoreturn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ipch_check.h"
#include "ipch_config.h"
#include "ipch_names.h"
#include "ipch_spawn.h"
#include "ipch_sync.h"
#include "ipch_timing.h"

/* ---- format and generation ---------------------------------------- */

static uint64_t
mix64(uint64_t x)
{
	/* splitmix64's finaliser: every input bit moves every output bit. */
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint64_t
rec_hash(uint32_t seed, unsigned w, uint32_t seq)
{
	return mix64(((uint64_t)seed << 32) ^ ((uint64_t)w << 24) ^ mix64(seq));
}

size_t
ipch_rec_len(const struct ipch_rec_spec *s, unsigned w, uint32_t seq)
{
	uint64_t h = rec_hash(s->seed, w, seq);
	if (s->large_min != 0 && h % 100 < s->large_pct)
		return s->large_min +
		       (size_t)((h >> 8) % (s->large_max - s->large_min + 1));
	/* The edges (smallest, PIPE_BUF) each an eighth of the time: they
	 * are where an off-by-one in the kernel or here would show. */
	switch ((h >> 8) % 16) {
	case 0:
		return s->max_len;
	case 1:
		return s->min_len;
	default:
		return s->min_len +
		       (size_t)((h >> 16) % (s->max_len - s->min_len + 1));
	}
}

size_t
ipch_rec_max_len(const struct ipch_rec_spec *s)
{
	return s->large_min != 0 && s->large_max > s->max_len ? s->large_max
	                                                      : s->max_len;
}

static uint32_t
fnv_byte(uint32_t h, uint8_t b)
{
	return (h ^ b) * 16777619u;
}

#define FNV_INIT 2166136261u

static void
put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void
put32(uint8_t *p, uint32_t v)
{
	put16(p, v);
	put16(p + 2, v >> 16);
}

static uint32_t
get16(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t
get32(const uint8_t *p)
{
	return get16(p) | get16(p + 2) << 16;
}

void
ipch_rec_encode(uint8_t *out, unsigned w, uint32_t seq, size_t len)
{
	uint8_t hdr[IPCH_REC_HDR] = {0};
	uint8_t tag = (uint8_t)(w << 4);
	size_t nlog = len / 2, k = 0;

	put32(hdr, IPCH_REC_MAGIC);
	put16(hdr + 4, w);
	put32(hdr + 8, seq);
	put32(hdr + 12, (uint32_t)len);
	uint32_t sum = FNV_INIT;
	for (int i = 0; i < IPCH_REC_HDR; i++)
		sum = fnv_byte(sum, hdr[i]); /* sum field still 0 */
	k = 2 * IPCH_REC_HDR;
	uint64_t st = rec_hash(~seq, w, seq), r = 0;
	for (size_t i = IPCH_REC_HDR; i < nlog; i++) {
		if ((i - IPCH_REC_HDR) % 8 == 0)
			r = st = mix64(st);
		uint8_t b = (uint8_t)(r & 0x7f); /* never a magic byte */
		r >>= 8;
		sum = fnv_byte(sum, b);
		out[k++] = tag | b >> 4;
		out[k++] = tag | (b & 0xf);
	}
	put32(hdr + 16, sum);
	for (int i = 0; i < IPCH_REC_HDR; i++) {
		out[2 * i] = tag | hdr[i] >> 4;
		out[2 * i + 1] = tag | (hdr[i] & 0xf);
	}
	if (len & 1)
		out[len - 1] = tag; /* pad */
}

/* ---- the verifier -------------------------------------------------- */

#define MAX_GAPS 32

struct gap {
	uint32_t from, to; /* missing [from, to) */
	uint64_t index;    /* of the record that showed it */
	uint64_t off;
};

struct wstate {
	uint8_t *buf; /* logical bytes of the record in progress */
	size_t nlog;
	int half;    /* pending high nibble, or -1 */
	size_t phys; /* its wire bytes so far */
	size_t want; /* its wire size, once the header is in */
	uint32_t seq;
	uint64_t start_off;
	bool mixed; /* another writer's byte came inside it */
	size_t mixed_at;
	unsigned mixed_by;
	bool lost_sync; /* after a framing error: ignore the rest */
	bool started;
	uint64_t index; /* records of this writer begun before this one */
	uint32_t next;  /* exclusive: expected seq; shared: lowest allowed */
	struct gap gaps[MAX_GAPS];
	unsigned ngaps;
};

struct ipch_rec_verifier {
	struct ipch_rec_spec spec;
	bool exclusive;
	void (*on_record)(void *, unsigned, uint32_t, size_t);
	void *ctx;
	uint64_t off;
	int prev_tag;
	struct wstate w[IPCH_REC_MAX_WRITERS];
	struct ipch_rec_totals tot;
	bool has_err;
	uint64_t err_off;
	char err[256];
};

static void
verr_at(struct ipch_rec_verifier *v, uint64_t off, const char *fmt, va_list ap)
{
	v->tot.errors++;
	if (v->has_err && off >= v->err_off)
		return;
	v->has_err = true;
	v->err_off = off;
	vsnprintf(v->err, sizeof(v->err), fmt, ap);
}

static void __attribute__((format(printf, 3, 4)))
verr(struct ipch_rec_verifier *v, uint64_t off, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	verr_at(v, off, fmt, ap);
	va_end(ap);
}

void
ipch_rec_error_add(struct ipch_rec_verifier *v, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	verr_at(v, v->off, fmt, ap);
	va_end(ap);
}

struct ipch_rec_verifier *
ipch_rec_verifier_new(const struct ipch_rec_spec *s, bool exclusive,
    void (*on_record)(void *, unsigned, uint32_t, size_t), void *ctx)
{
	struct ipch_rec_verifier *v = calloc(1, sizeof(*v));
	if (v == NULL)
		return NULL;
	v->spec = *s;
	v->exclusive = exclusive;
	v->on_record = on_record;
	v->ctx = ctx;
	v->prev_tag = -1;
	size_t cap = ipch_rec_max_len(s) / 2 + 1;
	for (unsigned i = 0; i < s->writers && i < IPCH_REC_MAX_WRITERS; i++) {
		v->w[i].half = -1;
		if ((v->w[i].buf = malloc(cap)) == NULL) {
			ipch_rec_verifier_free(v);
			return NULL;
		}
	}
	return v;
}

void
ipch_rec_verifier_free(struct ipch_rec_verifier *v)
{
	if (v == NULL)
		return;
	for (unsigned i = 0; i < IPCH_REC_MAX_WRITERS; i++)
		free(v->w[i].buf);
	free(v);
}

const struct ipch_rec_totals *
ipch_rec_totals(const struct ipch_rec_verifier *v)
{
	return &v->tot;
}

const char *
ipch_rec_error(const struct ipch_rec_verifier *v)
{
	return v->has_err ? v->err : NULL;
}

/* Wire offset (in this writer's bytes of the record) where another
 * record's magic starts inside the record, or 0: a torn record is
 * followed by the next record's header, at any nibble. */
static size_t
magic_inside(const struct wstate *ws)
{
	uint8_t m[4];
	put32(m, IPCH_REC_MAGIC);
	size_t nn = 2 * ws->nlog;
	for (size_t k = 1; k + 8 <= nn; k++) {
		int i = 0;
		for (; i < 8; i++) {
			size_t q = k + (size_t)i;
			unsigned got =
			    q % 2 ? ws->buf[q / 2] & 0xf : ws->buf[q / 2] >> 4;
			unsigned exp = i % 2 ? m[i / 2] & 0xf : m[i / 2] >> 4;
			if (got != exp)
				break;
		}
		if (i == 8)
			return k;
	}
	return 0;
}

static void
reset_record(struct wstate *ws)
{
	ws->nlog = 0;
	ws->half = -1;
	ws->phys = 0;
	ws->want = 0;
	ws->mixed = false;
	ws->index++;
}

static void
header_in(struct ipch_rec_verifier *v, struct wstate *ws, unsigned t)
{
	const uint8_t *h = ws->buf;
	unsigned long long idx = ws->index;
	uint32_t magic = get32(h), seq = get32(h + 8), len = get32(h + 12);
	if (magic != IPCH_REC_MAGIC) {
		verr(v, ws->start_off,
		    "writer %u record %llu: expected magic 0x%08x at its "
		    "start, got 0x%08x (stream byte %llu)",
		    t, idx, IPCH_REC_MAGIC, magic,
		    (unsigned long long)ws->start_off);
		ws->lost_sync = true;
		return;
	}
	if (get16(h + 4) != t) {
		verr(v, ws->start_off,
		    "writer %u record %llu: its header names writer %u", t, idx,
		    get16(h + 4));
		ws->lost_sync = true;
		return;
	}
	if (seq >= v->spec.records) {
		verr(v, ws->start_off,
		    "writer %u record %llu: sequence %u, but it writes %u "
		    "records",
		    t, idx, seq, v->spec.records);
		ws->lost_sync = true;
		return;
	}
	size_t exp = ipch_rec_len(&v->spec, t, seq);
	if (len != exp) {
		verr(v, ws->start_off,
		    "writer %u record %llu (seq %u): length %u, expected %zu",
		    t, idx, seq, len, exp);
		ws->lost_sync = true;
		return;
	}
	ws->want = len;
	ws->seq = seq;
}

static void
check_sequence(struct ipch_rec_verifier *v, struct wstate *ws, unsigned t)
{
	unsigned long long idx = ws->index;
	uint32_t s = ws->seq;

	if (!v->exclusive) {
		/* One of several readers: reads are sequential and the
		 * channel is first in, first out, so what this reader gets of
		 * each writer is a strictly increasing subsequence. */
		if (ws->started && s < ws->next)
			verr(v, ws->start_off,
			    "writer %u record %llu: expected a sequence above "
			    "%u, got %u (out of order or duplicate)",
			    t, idx, ws->next - 1, s);
		else
			ws->next = s + 1;
		ws->started = true;
		return;
	}
	if (s == ws->next) {
		ws->next++;
		return;
	}
	if (s > ws->next) {
		/* Lost, or ahead of one that comes later (reordered): tell
		 * at the end, or when the missing one turns up. */
		if (ws->ngaps == MAX_GAPS)
			verr(v, ws->start_off,
			    "writer %u record %llu: expected sequence %u, got "
			    "%u (%u lost)",
			    t, idx, ws->next, s, s - ws->next);
		else
			ws->gaps[ws->ngaps++] =
			    (struct gap){ws->next, s, ws->index, ws->start_off};
		ws->next = s + 1;
		return;
	}
	for (unsigned i = 0; i < ws->ngaps; i++) {
		struct gap *g = &ws->gaps[i];
		if (s >= g->from && s < g->to) {
			verr(v, ws->start_off,
			    "writer %u record %llu: expected sequence %u, got "
			    "%u (reordered: it came after %u)",
			    t, idx, ws->next, s, g->to);
			*g = ws->gaps[--ws->ngaps];
			return;
		}
	}
	verr(v, ws->start_off,
	    "writer %u record %llu: expected sequence %u, got %u (duplicate)",
	    t, idx, ws->next, s);
}

static void
record_done(struct ipch_rec_verifier *v, struct wstate *ws, unsigned t)
{
	unsigned long long idx = ws->index;
	const uint8_t *b = ws->buf;
	uint32_t sum = FNV_INIT;
	for (size_t i = 0; i < ws->nlog; i++)
		sum = fnv_byte(sum, i >= 16 && i < 20 ? 0 : b[i]);
	if (sum != get32(b + 16)) {
		size_t k = magic_inside(ws);
		if (k != 0)
			verr(v, ws->start_off,
			    "writer %u record %llu (seq %u): torn: %zu of its "
			    "%zu bytes, then the start of another record",
			    t, idx, ws->seq, k, ws->want);
		else
			verr(v, ws->start_off,
			    "writer %u record %llu (seq %u, %zu bytes): bad "
			    "checksum: computed 0x%08x, header says 0x%08x",
			    t, idx, ws->seq, ws->want, sum, get32(b + 16));
		ws->lost_sync = true;
		return;
	}
	bool large = ws->want > PIPE_BUF;
	v->tot.records++;
	v->tot.bytes += ws->want;
	if (large) {
		v->tot.large_records++;
		if (ws->mixed)
			v->tot.large_interleaved++;
	} else if (ws->mixed) {
		verr(v, ws->start_off,
		    "writer %u record %llu (seq %u, %zu bytes): mixed: writer "
		    "%u's bytes came after %zu of them, but a write of at most "
		    "PIPE_BUF (%d) is atomic",
		    t, idx, ws->seq, ws->want, ws->mixed_by, ws->mixed_at,
		    PIPE_BUF);
	}
	check_sequence(v, ws, t);
	if (v->on_record != NULL)
		v->on_record(v->ctx, t, ws->seq, ws->want);
	reset_record(ws);
}

static void
byte_in(struct ipch_rec_verifier *v, uint8_t b)
{
	unsigned t = b >> 4;
	uint64_t off = v->off++;
	int prev = v->prev_tag;
	v->prev_tag = (int)t;
	if (t >= v->spec.writers) {
		verr(v, off,
		    "stream byte %llu: 0x%02x is not a record byte (it names "
		    "writer %u of %u)",
		    (unsigned long long)off, b, t, v->spec.writers);
		return;
	}
	struct wstate *ws = &v->w[t];
	if (ws->lost_sync)
		return;
	if (ws->phys == 0)
		ws->start_off = off;
	else if (prev != (int)t && !ws->mixed) {
		ws->mixed = true;
		ws->mixed_at = ws->phys;
		ws->mixed_by = prev < 0 ? 0 : (unsigned)prev;
	}
	ws->phys++;
	if (ws->want != 0 && ws->phys == ws->want && (ws->want & 1)) {
		record_done(v, ws, t); /* the pad byte ends it */
		return;
	}
	if (ws->half < 0) {
		ws->half = b & 0xf;
		return;
	}
	ws->buf[ws->nlog++] = (uint8_t)(ws->half << 4 | (b & 0xf));
	ws->half = -1;
	if (ws->nlog == IPCH_REC_HDR)
		header_in(v, ws, t);
	else if (ws->want != 0 && ws->phys == ws->want)
		record_done(v, ws, t);
}

void
ipch_rec_feed(struct ipch_rec_verifier *v, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	for (size_t i = 0; i < n; i++)
		byte_in(v, p[i]);
}

void
ipch_rec_finish(struct ipch_rec_verifier *v)
{
	for (unsigned t = 0; t < v->spec.writers; t++) {
		struct wstate *ws = &v->w[t];
		if (ws->lost_sync)
			continue;
		if (ws->phys > 0) {
			char of[32] = "its header";
			if (ws->want != 0)
				snprintf(of, sizeof(of), "its %zu", ws->want);
			verr(v, ws->start_off,
			    "writer %u record %llu: torn: %zu of %s bytes, "
			    "then the end of the stream",
			    t, (unsigned long long)ws->index, ws->phys, of);
			continue;
		}
		if (!v->exclusive)
			continue;
		for (unsigned i = 0; i < ws->ngaps; i++) {
			const struct gap *g = &ws->gaps[i];
			verr(v, g->off,
			    "writer %u record %llu: expected sequence %u, got "
			    "%u (%u lost)",
			    t, (unsigned long long)g->index, g->from, g->to,
			    g->to - g->from);
		}
		if (ws->next < v->spec.records)
			verr(v, v->off,
			    "writer %u record %llu: expected sequence %u, got "
			    "the end of the stream (%u lost)",
			    t, (unsigned long long)ws->index, ws->next,
			    v->spec.records - ws->next);
	}
}

/* ---- configuration ------------------------------------------------- */

uint32_t
ipch_rec_volume(const atf_tc_t *tc, uint32_t def_short, uint32_t def_long)
{
	uint32_t def = ipch_stress_long(tc) ? def_long : def_short;
	return (uint32_t)ipch_config_long(
	    tc, "stress_records", def, 16, 100000000);
}

unsigned
ipch_rec_writers(const atf_tc_t *tc)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	long def = 4 * (ncpu > 0 ? ncpu : 1);
	if (def > IPCH_REC_MAX_WRITERS)
		def = IPCH_REC_MAX_WRITERS;
	return (unsigned)ipch_config_long(
	    tc, "stress_writers", def, 1, IPCH_REC_MAX_WRITERS);
}

/* ---- the driver ---------------------------------------------------- */

struct shared {
	struct ipch_rec_totals rd[IPCH_REC_MAX_READERS];
	uint64_t w_records[IPCH_REC_MAX_WRITERS];
	uint64_t w_bytes[IPCH_REC_MAX_WRITERS];
	uint64_t w_whole[IPCH_REC_MAX_WRITERS];  /* non-blocking: complete */
	uint64_t w_eagain[IPCH_REC_MAX_WRITERS]; /* non-blocking: EAGAIN */
	atomic_uchar seen[];                     /* [writer][seq]: reads */
};

struct ctx {
	const struct ipch_rec_run *r;
	struct shared *sh;
	size_t sh_len;
	char path[PATH_MAX]; /* FIFO */
	int fd[2];           /* pipe ends, or the FIFO holder in fd[0] */
	struct ipch_latch opened, full;
	struct ipch_gate go_write, go_read;
	unsigned id; /* of the child, set before each spawn */
};

/* The child's own end: inherited (pipe) or opened by itself (FIFO, the
 * way unrelated processes use one); the ends it must not hold, closed, so
 * EOF and EPIPE mean what they say. */
static int
child_end(struct ctx *c, bool writer)
{
	/* The gate this child does not wait at: a write end held here would
	 * keep it shut for those that do. */
	struct ipch_gate *other = writer ? &c->go_read : &c->go_write;
	IPCH_CHILD_SYS(close(other->fd[0]));
	IPCH_CHILD_SYS(close(other->fd[1]));
	if (c->r->channel == IPCH_REC_PIPE) {
		IPCH_CHILD_SYS(close(c->fd[writer ? 0 : 1]));
		return c->fd[writer ? 1 : 0];
	}
	int fd;
	if (writer)
		fd = (int)IPCH_CHILD_SYS(open(c->path, O_WRONLY));
	else {
		/* Non-blocking so the open does not wait for a writer; the
		 * start gate opens only once every writer has it open. */
		fd = (int)IPCH_CHILD_SYS(open(c->path, O_RDONLY | O_NONBLOCK));
		int fl = (int)IPCH_CHILD_SYS(fcntl(fd, F_GETFL));
		IPCH_CHILD_SYS(fcntl(fd, F_SETFL, fl & ~O_NONBLOCK));
	}
	IPCH_CHILD_SYS(close(c->fd[0]));
	return fd;
}

/* A writer's failure: arrive at the `full` latch first if it has not, so
 * the case body is not left waiting for it and reports the reason now. */
static noreturn void __attribute__((format(printf, 3, 4)))
writer_fail(struct ctx *c, bool told_full, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->r->nonblocking && !told_full)
		ipch_latch_arrive(&c->full);
	ipch_child_fail("%s", msg);
}

static int
writer_main(void *arg)
{
	struct ctx *c = arg;
	const struct ipch_rec_spec *s = &c->r->spec;
	unsigned w = c->id;
	bool nb = c->r->nonblocking, told_full = false;
	uint64_t bytes = 0, whole = 0, eagain = 0;

	int fd = child_end(c, true);
	uint8_t *buf = malloc(ipch_rec_max_len(s));
	if (buf == NULL)
		ipch_child_fail("writer %u: out of memory", w);
	ipch_latch_arrive(&c->opened);
	if (ipch_gate_wait(&c->go_write) != 0)
		ipch_child_fail("writer %u: start gate broken", w);
	if (nb) {
		int fl = (int)IPCH_CHILD_SYS(fcntl(fd, F_GETFL));
		IPCH_CHILD_SYS(fcntl(fd, F_SETFL, fl | O_NONBLOCK));
	}
	for (uint32_t seq = 0; seq < s->records; seq++) {
		size_t len = ipch_rec_len(s, w, seq), done = 0;
		ipch_rec_encode(buf, w, seq, len);
		while (done < len) {
			ssize_t n = write(fd, buf + done, len - done);
			if (n == -1 && errno == EINTR)
				continue;
			if (nb && n == -1 && errno == EAGAIN) {
				eagain++;
				if (!told_full) {
					ipch_latch_arrive(&c->full);
					told_full = true;
				}
				struct pollfd p = {fd, POLLOUT, 0};
				IPCH_CHILD_SYS(poll(&p, 1, -1));
				continue;
			}
			if (n == -1)
				writer_fail(c, told_full,
				    "writer %u record %u: write of %zu bytes "
				    "failed with %s",
				    w, seq, len - done, ipch_errname(errno));
			if ((size_t)n != len - done && len <= PIPE_BUF)
				writer_fail(c, told_full,
				    "writer %u record %u: %s write of %zu "
				    "bytes "
				    "returned %zd: expected %s",
				    w, seq, nb ? "non-blocking" : "blocking",
				    len, n,
				    nb ? "all of them or EAGAIN"
				       : "all of them");
			if ((size_t)n != len - done && !nb)
				writer_fail(c, told_full,
				    "writer %u record %u: blocking write of "
				    "%zu "
				    "bytes returned %zd with no signal",
				    w, seq, len - done, n);
			if ((size_t)n == len - done && done == 0)
				whole++;
			done += (size_t)n;
		}
		bytes += len;
	}
	if (nb && !told_full)
		ipch_latch_arrive(&c->full);
	c->sh->w_records[w] = s->records;
	c->sh->w_bytes[w] = bytes;
	c->sh->w_whole[w] = whole;
	c->sh->w_eagain[w] = eagain;
	IPCH_CHILD_SYS(close(fd));
	free(buf);
	return 0;
}

static void
mark_seen(void *arg, unsigned w, uint32_t seq, size_t len)
{
	struct ctx *c = arg;
	(void)len;
	atomic_fetch_add_explicit(
	    &c->sh->seen[(size_t)w * c->r->spec.records + seq], 1,
	    memory_order_relaxed);
}

static int
reader_main(void *arg)
{
	struct ctx *c = arg;
	unsigned id = c->id;
	bool several = c->r->readers > 1;
	/* One reader: large reads, the verifier follows the stream.  Several:
	 * one record per read (see the top of this file). */
	size_t chunk = several ? c->r->spec.max_len : 65536;
	uint64_t reads = 0;

	int fd = child_end(c, false);
	uint8_t *buf = malloc(chunk);
	struct ipch_rec_verifier *v =
	    ipch_rec_verifier_new(&c->r->spec, !several, mark_seen, c);
	if (buf == NULL || v == NULL)
		ipch_child_fail("reader %u: out of memory", id);
	ipch_latch_arrive(&c->opened);
	if (ipch_gate_wait(&c->go_read) != 0)
		ipch_child_fail("reader %u: start gate broken", id);
	for (;; reads++) {
		ssize_t n = read(fd, buf, chunk);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			ipch_child_fail("reader %u: read failed with %s", id,
			    ipch_errname(errno));
		if (n == 0)
			break;
		if (several && (size_t)n != chunk)
			ipch_rec_error_add(v,
			    "read %llu returned %zd bytes, expected one whole "
			    "%zu-byte record (Linux pipe_read)",
			    (unsigned long long)reads, n, chunk);
		/* Verify as it arrives; after an error, keep draining so the
		 * writers finish and the first error is what the case says. */
		ipch_rec_feed(v, buf, (size_t)n);
	}
	ipch_rec_finish(v);
	c->sh->rd[id] = *ipch_rec_totals(v);
	if (ipch_rec_error(v) != NULL)
		ipch_child_fail("reader %u: %s (%llu errors)", id,
		    ipch_rec_error(v),
		    (unsigned long long)ipch_rec_totals(v)->errors);
	ipch_rec_verifier_free(v);
	free(buf);
	IPCH_CHILD_SYS(close(fd));
	return 0;
}

static void
metric(const char *label, const char *name, double value, const char *unit)
{
	char full[128];
	snprintf(full, sizeof(full), "%s.%s", label, name);
	ipch_metric(full, value, unit);
}

static noreturn void
child_failed(const char *name, pid_t pid, int status)
{
	char how[64];
	const char *why = ipch_child_reason(pid);
	atf_tc_fail("child '%s' (pid %ld): expected exit 0, got %s%s%s", name,
	    (long)pid, ipch_status_str(status, how, sizeof(how)),
	    why ? ": " : "", why ? why : "");
}

void
ipch_rec_run(const atf_tc_t *tc, const struct ipch_rec_run *r)
{
	const struct ipch_rec_spec *s = &r->spec;
	pid_t writers[IPCH_REC_MAX_WRITERS], readers[IPCH_REC_MAX_READERS];
	struct ctx c = {.r = r};
	(void)tc;

	if (s->writers < 1 || s->writers > IPCH_REC_MAX_WRITERS ||
	    r->readers < 1 || r->readers > IPCH_REC_MAX_READERS ||
	    s->records < 1 || s->min_len < IPCH_REC_MIN_LEN ||
	    s->max_len < s->min_len ||
	    (s->large_min != 0 && s->large_max < s->large_min) ||
	    (r->readers > 1 &&
	        (s->min_len != PIPE_BUF || s->max_len != PIPE_BUF ||
	            s->large_min != 0)))
		atf_tc_fail("ipch_rec_run: bad spec (%u writers, %u readers, "
		            "%u records, sizes %zu..%zu)",
		    s->writers, r->readers, s->records, s->min_len, s->max_len);
	c.sh_len = sizeof(*c.sh) + (size_t)s->writers * s->records;
	c.sh = IPCH_SYS_PTR(mmap(NULL, c.sh_len, PROT_READ | PROT_WRITE,
	                        MAP_SHARED | MAP_ANONYMOUS, -1, 0),
	    MAP_FAILED);
	if (r->channel == IPCH_REC_PIPE)
		IPCH_SYS(pipe(c.fd));
	else {
		ipch_work_path("fifo", c.path, sizeof(c.path));
		IPCH_SYS(mkfifo(c.path, 0600));
		/* Held open for reading so the writers' opens do not wait;
		 * closed once every child has its own end. */
		c.fd[0] = (int)IPCH_SYS(open(c.path, O_RDONLY | O_NONBLOCK));
		c.fd[1] = -1;
	}
	ipch_latch_init(&c.opened);
	ipch_latch_init(&c.full);
	ipch_gate_init(&c.go_write);
	ipch_gate_init(&c.go_read);
	for (c.id = 0; c.id < r->readers; c.id++)
		readers[c.id] = ipch_spawn("reader", reader_main, &c);
	for (c.id = 0; c.id < s->writers; c.id++)
		writers[c.id] = ipch_spawn("writer", writer_main, &c);
	IPCH_SYS(close(c.fd[0]));
	if (c.fd[1] != -1)
		IPCH_SYS(close(c.fd[1]));

	int rc =
	    ipch_latch_wait(&c.opened, (int)(s->writers + r->readers), 10000);
	if (rc != 0) {
		ipch_reap_all_ok();
		atf_tc_fail("children opening the %s: expected %u, got %s",
		    r->channel == IPCH_REC_PIPE ? "pipe" : "FIFO",
		    s->writers + r->readers, ipch_errname(rc));
	}
	uint64_t t0 = ipch_now_ns();
	ipch_gate_open(&c.go_write);
	if (r->nonblocking) {
		/* Nobody reads until every writer has met a full channel:
		 * EAGAIN is then certain, not a matter of scheduling. */
		rc = ipch_latch_wait(&c.full, (int)s->writers, 10000);
		if (rc != 0) {
			ipch_gate_open(&c.go_read);
			ipch_reap_all_ok();
			atf_tc_fail("writers meeting a full channel: expected "
			            "%u, got %s",
			    s->writers, ipch_errname(rc));
		}
	} else {
		ipch_latch_wait(&c.full, 0, 0); /* close our end */
	}
	ipch_gate_open(&c.go_read);
	int rst[IPCH_REC_MAX_READERS], wst[IPCH_REC_MAX_WRITERS];
	for (unsigned i = 0; i < r->readers; i++)
		rst[i] = ipch_reap(readers[i]);
	double secs = (double)(ipch_now_ns() - t0) / 1e9;
	for (unsigned i = 0; i < s->writers; i++)
		wst[i] = ipch_reap(writers[i]);
	/* Which failure explains the others: a reader killed by a signal
	 * (the writers then fail with EPIPE), else a writer's own report (a
	 * partial write: the readers then see a torn record), else what a
	 * reader verified. */
	for (unsigned i = 0; i < r->readers; i++)
		if (!WIFEXITED(rst[i]))
			child_failed("reader", readers[i], rst[i]);
	for (unsigned i = 0; i < s->writers; i++)
		if (!WIFEXITED(wst[i]) || WEXITSTATUS(wst[i]) != 0)
			child_failed("writer", writers[i], wst[i]);
	for (unsigned i = 0; i < r->readers; i++)
		if (WEXITSTATUS(rst[i]) != 0)
			child_failed("reader", readers[i], rst[i]);

	struct ipch_rec_totals sum = {0};
	uint64_t w_rec = 0, w_bytes = 0, whole = 0, eagain = 0;
	for (unsigned i = 0; i < r->readers; i++) {
		sum.records += c.sh->rd[i].records;
		sum.bytes += c.sh->rd[i].bytes;
		sum.large_records += c.sh->rd[i].large_records;
		sum.large_interleaved += c.sh->rd[i].large_interleaved;
	}
	for (unsigned i = 0; i < s->writers; i++) {
		w_rec += c.sh->w_records[i];
		w_bytes += c.sh->w_bytes[i];
		whole += c.sh->w_whole[i];
		eagain += c.sh->w_eagain[i];
	}
	for (unsigned w = 0; w < s->writers; w++)
		for (uint32_t q = 0; q < s->records; q++) {
			unsigned k = c.sh->seen[(size_t)w * s->records + q];
			if (k != 1)
				atf_tc_fail("writer %u record %u: read %u "
				            "times by the %u reader(s), "
				            "expected once",
				    w, q, k, r->readers);
		}
	if (sum.records != w_rec || sum.bytes != w_bytes)
		atf_tc_fail("totals: writers wrote %llu records (%llu "
		            "bytes), readers verified %llu (%llu bytes)",
		    (unsigned long long)w_rec, (unsigned long long)w_bytes,
		    (unsigned long long)sum.records,
		    (unsigned long long)sum.bytes);

	metric(r->label, "records", (double)sum.records, "records");
	metric(r->label, "mib_per_s", (double)sum.bytes / 1048576.0 / secs,
	    "MiB/s");
	metric(
	    r->label, "records_per_s", (double)sum.records / secs, "records/s");
	if (s->large_min != 0) {
		metric(r->label, "large_records", (double)sum.large_records,
		    "records");
		metric(r->label, "large_interleaved",
		    (double)sum.large_interleaved, "records");
		metric(r->label, "large_interleaved_pct",
		    sum.large_records ? 100.0 * (double)sum.large_interleaved /
		                            (double)sum.large_records
		                      : 0.0,
		    "percent");
	}
	if (r->nonblocking) {
		metric(r->label, "whole_writes", (double)whole, "writes");
		metric(r->label, "eagain_writes", (double)eagain, "writes");
		if (whole == 0 || eagain == 0)
			atf_tc_fail("non-blocking writes: expected both "
			            "outcomes, got %llu whole and %llu EAGAIN: "
			            "the check was vacuous",
			    (unsigned long long)whole,
			    (unsigned long long)eagain);
	}
	munmap(c.sh, c.sh_len);
}

/* ---- the stress scenarios ------------------------------------------ */

void
ipch_rec_scenario(const atf_tc_t *tc, enum ipch_rec_channel channel,
    enum ipch_rec_scenario scenario)
{
	static const struct {
		const char *name;
		uint32_t records; /* under stress=short; 25 times that long */
	} sc[] = {
	    [IPCH_REC_SMALL] = {"small", 12000},
	    [IPCH_REC_LARGE] = {"large", 3000},
	    [IPCH_REC_NONBLOCKING] = {"nonblocking", 12000},
	    [IPCH_REC_READERS] = {"readers", 6000},
	};
	char label[64];
	snprintf(label, sizeof(label), "%s.stress.%s",
	    channel == IPCH_REC_PIPE ? "pipe" : "fifo", sc[scenario].name);
	struct ipch_rec_run r = {
	    .channel = channel,
	    .label = label,
	    .readers = 1,
	};
	/* Short budgets keep the four scenarios near a second in all on two
	 * CPUs. */
	r.spec.writers = ipch_rec_writers(tc);
	uint32_t total = ipch_rec_volume(
	    tc, sc[scenario].records, 25 * sc[scenario].records);
	r.spec.records = total / r.spec.writers ? total / r.spec.writers : 1;
	r.spec.min_len = IPCH_REC_MIN_LEN;
	r.spec.max_len = PIPE_BUF;
	r.spec.seed = 0x5eed0000u + r.spec.writers;
	switch (scenario) {
	case IPCH_REC_SMALL:
		break;
	case IPCH_REC_LARGE:
		/* A quarter of the records larger than PIPE_BUF, up to twice a
		 * default Linux pipe (16 pages): such a write has to wait for
		 * the reader part way, which is where other writers get in. */
		r.spec.large_min = PIPE_BUF + 1;
		r.spec.large_max = 32 * PIPE_BUF;
		r.spec.large_pct = 25;
		break;
	case IPCH_REC_NONBLOCKING:
		r.nonblocking = true;
		break;
	case IPCH_REC_READERS:
		/* POSIX promises nothing about how reads cut the stream; whole
		 * records per read is what Linux does for PIPE_BUF writes
		 * read PIPE_BUF at a time (see the reader above). */
		r.spec.min_len = r.spec.max_len = PIPE_BUF;
		r.readers = 3;
		break;
	}
	ipch_rec_run(tc, &r);
}
