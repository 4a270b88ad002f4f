/*
 * Reading and writing a pipe: blocking, end of file, a missing reader,
 * PIPE_BUF atomicity and partial writes.
 */
#define _GNU_SOURCE /* F_GETPIPE_SZ */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ipch.h"

/* Byte i of every patterned stream: a prime period, so page and PIPE_BUF
 * boundaries fall on different values and a lost or repeated chunk shows. */
static uint8_t
pattern(size_t i)
{
	return (uint8_t)(i % 251);
}

static void
fill_pattern(uint8_t *buf, size_t n, size_t from)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = pattern(from + i);
}

/* Fill a pipe so that not even one more byte fits: whole PIPE_BUF pieces
 * first (fast), then single bytes for whatever room is left. */
static size_t
fill_completely(int w)
{
	ipch_set_nonblock(w, true);
	size_t n = ipch_fill(w, PIPE_BUF);
	n += ipch_fill(w, 1);
	return n;
}

/* ------------------------------------------------------------------ */

static int
read_one_x(void *arg)
{
	int r = *(int *)arg;
	char c;
	ssize_t n = read(r, &c, 1);
	if (n != 1 || c != 'x')
		ipch_child_fail("read: expected 1 byte 'x', got %zd (%s)", n,
		    n == -1 ? ipch_errname(errno) : "no error");
	return 0;
}

IPCH_CASE(read_blocks_until_data_is_written, "conformance",
    "POSIX.1-2017 read(): pipe, O_NONBLOCK clear",
    "a read of an empty pipe with a writer blocks until data is written");
ATF_TC_BODY(read_blocks_until_data_is_written, tc)
{
	int fd[2];
	IPCH_SYS(pipe(fd));
	pid_t pid = ipch_spawn("reader", read_one_x, &fd[0]);
	ipch_expect_blocked(pid, SYS_read, "read() of the empty pipe");
	IPCH_SYS(write(fd[1], "x", 1));
	ipch_reap_ok(pid);
}

IPCH_CASE(read_returns_available_bytes_without_waiting_for_more, "conformance",
    "POSIX.1-2017 read(): fewer than nbyte immediately "
    "available from a pipe",
    "a read asking for more than the pipe holds returns what it holds",
    "timeout", "10");
ATF_TC_BODY(read_returns_available_bytes_without_waiting_for_more, tc)
{
	int fd[2];
	char buf[100];
	IPCH_SYS(pipe(fd));
	IPCH_SYS(write(fd[1], "0123456789", 10));
	IPCH_EXPECT_EQ("bytes read by read(100) from a pipe holding 10", 10,
	    IPCH_SYS(read(fd[0], buf, sizeof(buf))));
}

IPCH_CASE(nonblocking_read_of_empty_pipe_fails_with_eagain, "conformance",
    "POSIX.1-2017 read(): pipe, O_NONBLOCK set, no data, writer open",
    "a non-blocking read of an empty pipe with a writer fails with EAGAIN");
ATF_TC_BODY(nonblocking_read_of_empty_pipe_fails_with_eagain, tc)
{
	int fd[2];
	char c;
	IPCH_SYS(pipe(fd));
	ipch_set_nonblock(fd[0], true);
	IPCH_EXPECT_ERRNO(EAGAIN, read(fd[0], &c, 1));
}

IPCH_CASE(read_returns_eof_after_last_writer_closes, "conformance",
    "POSIX.1-2017 read(): pipe, no process has it open for writing",
    "read() of an empty pipe returns 0 once every write end is closed",
    "timeout", "10");
ATF_TC_BODY(read_returns_eof_after_last_writer_closes, tc)
{
	int fd[2];
	char c;
	IPCH_SYS(pipe(fd));
	IPCH_SYS(close(fd[1]));
	IPCH_EXPECT_EQ("read() after the last writer closed", 0,
	    IPCH_SYS(read(fd[0], &c, 1)));
}

IPCH_CASE(data_written_before_last_writer_closes_is_read_before_eof,
    "conformance", "POSIX.1-2017 read(): pipes; close()",
    "bytes left in the pipe by the last writer are read before EOF", "timeout",
    "10");
ATF_TC_BODY(data_written_before_last_writer_closes_is_read_before_eof, tc)
{
	int fd[2];
	char buf[16];
	IPCH_SYS(pipe(fd));
	IPCH_SYS(write(fd[1], "tail", 4));
	IPCH_SYS(close(fd[1]));
	IPCH_EXPECT_EQ("first read after the writer closed", 4,
	    IPCH_SYS(read(fd[0], buf, sizeof(buf))));
	IPCH_EXPECT_EQ(
	    "second read (EOF)", 0, IPCH_SYS(read(fd[0], buf, sizeof(buf))));
}

struct held_writer {
	int fd[2];
	struct ipch_gate gate;
};

/* Child: hold the write end until the gate opens, then exit (closing it). */
static int
hold_write_end(void *arg)
{
	struct held_writer *h = arg;
	close(h->fd[0]);
	if (ipch_gate_wait(&h->gate) != 0)
		ipch_child_fail("gate broken");
	return 0;
}

IPCH_CASE(read_does_not_return_eof_while_another_writer_is_open, "conformance",
    "POSIX.1-2017 read(): pipe, no process has it open "
    "for writing",
    "closing one of two write ends is not EOF; closing the second is",
    "timeout", "10");
ATF_TC_BODY(read_does_not_return_eof_while_another_writer_is_open, tc)
{
	struct held_writer h;
	char c;
	IPCH_SYS(pipe(h.fd));
	ipch_gate_init(&h.gate);
	pid_t pid = ipch_spawn("second-writer", hold_write_end, &h);
	IPCH_SYS(close(h.fd[1]));
	ipch_set_nonblock(h.fd[0], true);
	errno = 0;
	ssize_t n = read(h.fd[0], &c, 1);
	if (n != -1 || errno != EAGAIN)
		atf_tc_fail("read with one of two writers closed: expected "
		            "EAGAIN (no data, writer open), got %zd%s%s",
		    n, n == -1 ? " with " : "",
		    n == -1 ? ipch_errname(errno) : "");
	ipch_gate_open(&h.gate);
	ipch_reap_ok(pid);
	IPCH_EXPECT_EQ("read after the second writer exited", 0,
	    IPCH_SYS(read(h.fd[0], &c, 1)));
}

/* ------------------------------------------------------------------ */

static int
write_with_default_sigpipe(void *arg)
{
	int w = *(int *)arg;
	sigset_t set;
	signal(SIGPIPE, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	ssize_t n = write(w, "x", 1);
	ipch_child_fail("write without reader: expected death by SIGPIPE, "
	                "got %zd (%s)",
	    n, n == -1 ? ipch_errname(errno) : "success");
}

IPCH_CASE(write_without_reader_raises_sigpipe, "conformance",
    "POSIX.1-2017 write(): pipe not open for reading, SIGPIPE",
    "a write to a pipe with no reader kills a process with the default "
    "SIGPIPE disposition");
ATF_TC_BODY(write_without_reader_raises_sigpipe, tc)
{
	int fd[2];
	IPCH_SYS(pipe(fd));
	IPCH_SYS(close(fd[0]));
	ipch_reap_expect_signal(
	    ipch_spawn("writer", write_with_default_sigpipe, &fd[1]), SIGPIPE);
}

IPCH_CASE(write_without_reader_fails_with_epipe_when_sigpipe_ignored,
    "conformance", "POSIX.1-2017 write(): ERRORS, EPIPE",
    "with SIGPIPE ignored, a write to a pipe with no reader fails with "
    "EPIPE");
ATF_TC_BODY(write_without_reader_fails_with_epipe_when_sigpipe_ignored, tc)
{
	int fd[2];
	IPCH_SYS(pipe(fd));
	IPCH_SYS(close(fd[0]));
	ATF_REQUIRE(signal(SIGPIPE, SIG_IGN) != SIG_ERR);
	IPCH_EXPECT_ERRNO(EPIPE, write(fd[1], "x", 1));
}

/* ------------------------------------------------------------------ */

static int
write_one_z(void *arg)
{
	int w = *(int *)arg;
	ssize_t n = write(w, "Z", 1);
	if (n != 1)
		ipch_child_fail("write of 1 byte into the full pipe: expected "
		                "1, got %zd (%s)",
		    n, n == -1 ? ipch_errname(errno) : "short");
	return 0;
}

IPCH_CASE(write_blocks_while_pipe_is_full, "conformance",
    "POSIX.1-2017 write(): pipe, O_NONBLOCK clear, thread blocked",
    "a blocking write to a full pipe waits until a reader makes room");
ATF_TC_BODY(write_blocks_while_pipe_is_full, tc)
{
	int fd[2];
	IPCH_SYS(pipe(fd));
	size_t held = fill_completely(fd[1]);
	ipch_set_nonblock(fd[1], false);
	pid_t pid = ipch_spawn("writer", write_one_z, &fd[1]);
	ipch_expect_blocked(pid, SYS_write, "write() to the full pipe");
	uint8_t *buf = malloc(held + 1);
	ATF_REQUIRE(buf != NULL);
	size_t got = ipch_read_full(fd[0], buf, held + 1);
	IPCH_EXPECT_EQ(
	    "bytes read: the filled pipe plus the blocked byte", held + 1, got);
	ATF_REQUIRE_MSG(buf[held] == 'Z',
	    "last byte: expected the blocked writer's 'Z', got 0x%02x",
	    buf[held]);
	free(buf);
	ipch_reap_ok(pid);
}

struct big_write {
	int w;
	size_t n;
};

static int
write_big_once(void *arg)
{
	const struct big_write *b = arg;
	uint8_t *buf = malloc(b->n);
	if (buf == NULL)
		ipch_child_fail("malloc %zu failed", b->n);
	fill_pattern(buf, b->n, 0);
	ssize_t k = write(b->w, buf, b->n);
	if (k != (ssize_t)b->n)
		ipch_child_fail("one blocking write of %zu bytes: expected "
		                "%zu, got %zd (%s)",
		    b->n, b->n, k, k == -1 ? ipch_errname(errno) : "short");
	return 0;
}

IPCH_CASE(blocking_write_above_pipe_buf_completes_fully, "conformance",
    "POSIX.1-2017 write(): pipe, O_NONBLOCK clear, nbyte > PIPE_BUF",
    "one blocking write larger than the pipe returns nbyte once a reader "
    "has taken it all");
ATF_TC_BODY(blocking_write_above_pipe_buf_completes_fully, tc)
{
	int fd[2];
	IPCH_SYS(pipe(fd));
	struct big_write b = {fd[1], 1024 * 1024};
	pid_t pid = ipch_spawn("writer", write_big_once, &b);
	IPCH_SYS(close(fd[1]));
	uint8_t *buf = malloc(b.n + 1);
	ATF_REQUIRE(buf != NULL);
	size_t got = ipch_read_full(fd[0], buf, b.n + 1);
	ipch_reap_ok(pid);
	IPCH_EXPECT_EQ("bytes read until EOF", b.n, got);
	for (size_t i = 0; i < got; i++)
		if (buf[i] != pattern(i))
			atf_tc_fail("byte %zu: expected 0x%02x, got 0x%02x", i,
			    pattern(i), buf[i]);
	free(buf);
}

/* Bytes the empty pipe surely cannot hold: twice its capacity where the
 * platform reports it, else 4 MiB. */
static size_t
more_than_capacity(int fd)
{
#ifdef F_GETPIPE_SZ
	int cap = fcntl(fd, F_GETPIPE_SZ);
	if (cap > 0)
		return 2 * (size_t)cap + PIPE_BUF;
#endif
	(void)fd;
	return 4 * 1024 * 1024;
}

IPCH_CASE(nonblocking_write_above_pipe_buf_is_partial_when_room_is_short,
    "conformance",
    "POSIX.1-2017 write(): O_NONBLOCK set, nbyte > PIPE_BUF, "
    "transfer what it can",
    "a non-blocking write larger than the free room writes part and "
    "returns that count, at least PIPE_BUF into an empty pipe");
ATF_TC_BODY(nonblocking_write_above_pipe_buf_is_partial_when_room_is_short, tc)
{
	int fd[2];
	IPCH_SYS(pipe(fd));
	ipch_set_nonblock(fd[0], true);
	ipch_set_nonblock(fd[1], true);
	size_t n = more_than_capacity(fd[1]);
	uint8_t *buf = malloc(n);
	ATF_REQUIRE(buf != NULL);
	fill_pattern(buf, n, 0);
	ssize_t k = IPCH_SYS(write(fd[1], buf, n));
	ATF_REQUIRE_MSG(k >= PIPE_BUF && (size_t)k < n,
	    "write of %zu into an empty pipe: expected a partial count in "
	    "[%d, %zu), got %zd",
	    n, PIPE_BUF, n, k);
	IPCH_EXPECT_EQ("bytes a reader then finds", k, ipch_drain(fd[0]));
	free(buf);
}

IPCH_CASE(nonblocking_write_above_pipe_buf_to_full_pipe_fails_with_eagain,
    "conformance",
    "POSIX.1-2017 write(): O_NONBLOCK set, nbyte > PIPE_BUF, no data "
    "can be written",
    "a non-blocking write larger than PIPE_BUF to a full pipe fails with "
    "EAGAIN");
ATF_TC_BODY(nonblocking_write_above_pipe_buf_to_full_pipe_fails_with_eagain, tc)
{
	int fd[2];
	static char buf[2 * PIPE_BUF];
	IPCH_SYS(pipe(fd));
	fill_completely(fd[1]);
	IPCH_EXPECT_ERRNO(EAGAIN, write(fd[1], buf, sizeof(buf)));
}

static int
write_pipe_buf_once(void *arg)
{
	int w = *(int *)arg;
	static uint8_t rec[PIPE_BUF];
	memset(rec, 'W', sizeof(rec));
	ssize_t k = write(w, rec, sizeof(rec));
	if (k != (ssize_t)sizeof(rec))
		ipch_child_fail(
		    "blocking write of PIPE_BUF bytes: expected %d, "
		    "got %zd (%s)",
		    PIPE_BUF, k, k == -1 ? ipch_errname(errno) : "short");
	return 0;
}

IPCH_CASE(blocked_write_of_pipe_buf_bytes_transfers_nothing_until_all_fit,
    "conformance",
    "POSIX.1-2017 write(): pipes and FIFOs, PIPE_BUF, "
    "O_NONBLOCK clear",
    "a blocking write of PIPE_BUF bytes into a pipe with room for only "
    "part of them waits without writing any");
ATF_TC_BODY(blocked_write_of_pipe_buf_bytes_transfers_nothing_until_all_fit, tc)
{
	int fd[2], held = -1, seen = -1;
	static uint8_t buf[PIPE_BUF];
	IPCH_SYS(pipe(fd));
	/* Leave room for more than half of PIPE_BUF but not all of it (on
	 * Linux: fill, take one page back, put a quarter page in, then probe
	 * with one byte); a platform that leaves room for all is a skip. */
	ipch_set_nonblock(fd[1], true);
	ipch_fill(fd[1], PIPE_BUF);
	IPCH_EXPECT_EQ("bytes taken back from the full pipe", PIPE_BUF,
	    ipch_read_full(fd[0], buf, PIPE_BUF));
	ipch_write_all(fd[1], buf, PIPE_BUF / 4);
	if (write(fd[1], "p", 1) != 1)
		atf_tc_skip("no partial room after the set-up (a 1-byte write "
		            "failed with %s): this platform accounts pipe "
		            "space differently",
		    ipch_errname(errno));
	IPCH_SYS(ioctl(fd[0], FIONREAD, &held));
	ipch_set_nonblock(fd[1], false);
	pid_t pid = ipch_spawn("writer", write_pipe_buf_once, &fd[1]);
	int err = ipch_wait_blocked(pid, SYS_write, 5000), st = 0;
	if (err == ESRCH && (st = ipch_reap(pid), WIFEXITED(st)) &&
	    WEXITSTATUS(st) == 0)
		atf_tc_skip("the PIPE_BUF write completed at once: the set-up "
		            "left room for it on this platform");
	if (err == ENOSYS)
		atf_tc_skip(
		    "cannot observe a blocked write: no /proc/<pid>/stat");
	if (err != 0) {
		char how[64];
		atf_tc_fail("writer (pid %ld): expected it to block in write, "
		            "got %s",
		    (long)pid,
		    err == ESRCH ? ipch_status_str(st, how, sizeof(how))
		                 : "no block within 5 s");
	}
	IPCH_SYS(ioctl(fd[0], FIONREAD, &seen));
	IPCH_EXPECT_EQ("bytes in the pipe while the PIPE_BUF write is blocked "
	               "(FIONREAD)",
	    held, seen);
	ipch_set_nonblock(fd[0], false);
	uint8_t *all = malloc((size_t)held + PIPE_BUF);
	ATF_REQUIRE(all != NULL);
	IPCH_EXPECT_EQ("bytes read: held plus the blocked record",
	    held + PIPE_BUF,
	    ipch_read_full(fd[0], all, (size_t)held + PIPE_BUF));
	for (int i = held; i < held + PIPE_BUF; i++)
		if (all[i] != 'W')
			atf_tc_fail("byte %d: expected the record's 'W', got "
			            "0x%02x",
			    i, all[i]);
	free(all);
	ipch_reap_ok(pid);
}

/* xorshift32: the same sequence on every platform and run. */
static uint32_t
next_rand(uint32_t *s)
{
	uint32_t x = *s;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

IPCH_CASE(nonblocking_write_of_at_most_pipe_buf_is_all_or_eagain, "conformance",
    "POSIX.1-2017 write(): O_NONBLOCK set, nbyte <= PIPE_BUF",
    "a non-blocking write of at most PIPE_BUF bytes writes all of them or "
    "fails with EAGAIN, never part");
ATF_TC_BODY(nonblocking_write_of_at_most_pipe_buf_is_all_or_eagain, tc)
{
	enum { WRITES = 20000 };
	int fd[2];
	static uint8_t out[PIPE_BUF], in[2 * PIPE_BUF];
	uint32_t seed = 0x9e3779b9u;
	size_t written = 0, checked = 0;
	unsigned whole = 0, eagain = 0;

	IPCH_SYS(pipe(fd));
	ipch_set_nonblock(fd[0], true);
	ipch_set_nonblock(fd[1], true);
	for (int i = 0; i < WRITES; i++) {
		size_t n = 1 + next_rand(&seed) % PIPE_BUF;
		fill_pattern(out, n, written);
		errno = 0;
		ssize_t k = write(fd[1], out, n);
		if (k == (ssize_t)n) {
			whole++;
			written += n;
			continue;
		}
		if (k != -1 || errno != EAGAIN)
			atf_tc_fail("write %d of %zu bytes: expected %zu or "
			            "EAGAIN, got %zd%s%s",
			    i, n, n, k, k == -1 ? " with " : "",
			    k == -1 ? ipch_errname(errno) : "");
		eagain++;
		/* Full: take a random bite so the free room takes every
		 * size, including less than the next write. */
		size_t bite = 1 + next_rand(&seed) % sizeof(in);
		ssize_t got = IPCH_SYS(read(fd[0], in, bite));
		for (ssize_t j = 0; j < got; j++, checked++)
			if (in[j] != pattern(checked))
				atf_tc_fail("stream byte %zu: expected 0x%02x, "
				            "got 0x%02x",
				    checked, pattern(checked), in[j]);
	}
	ipch_metric("pipe.all_or_eagain.whole_writes", whole, "writes");
	ipch_metric("pipe.all_or_eagain.eagain_writes", eagain, "writes");
	if (whole == 0 || eagain == 0)
		atf_tc_fail("expected both outcomes among %d writes, got %u "
		            "whole and %u EAGAIN: the check was vacuous",
		    WRITES, whole, eagain);
}

struct tagged_writer {
	int w;
	uint8_t tag;
};

enum { WRITERS = 4, RECORDS = 128 };

static int
write_tagged_records(void *arg)
{
	const struct tagged_writer *t = arg;
	uint8_t rec[PIPE_BUF];
	memset(rec, t->tag, sizeof(rec));
	for (int i = 0; i < RECORDS; i++) {
		ssize_t k = write(t->w, rec, sizeof(rec));
		if (k != (ssize_t)sizeof(rec))
			ipch_child_fail("write %d of PIPE_BUF bytes: expected "
			                "%d, got %zd (%s)",
			    i, PIPE_BUF, k,
			    k == -1 ? ipch_errname(errno) : "short");
	}
	return 0;
}

IPCH_CASE(writes_of_pipe_buf_bytes_from_concurrent_writers_do_not_interleave,
    "conformance", "POSIX.1-2017 write(): pipes and FIFOs, PIPE_BUF",
    "blocking writes of PIPE_BUF bytes by concurrent writers reach the "
    "reader whole, never interleaved");
ATF_TC_BODY(
    writes_of_pipe_buf_bytes_from_concurrent_writers_do_not_interleave, tc)
{
	int fd[2];
	struct tagged_writer t[WRITERS];
	unsigned count[WRITERS] = {0};
	static uint8_t rec[PIPE_BUF];

	IPCH_SYS(pipe(fd));
	for (int i = 0; i < WRITERS; i++) {
		t[i].w = fd[1];
		t[i].tag = (uint8_t)('A' + i);
		ipch_spawn("writer", write_tagged_records, &t[i]);
	}
	IPCH_SYS(close(fd[1]));
	for (unsigned r = 0;; r++) {
		size_t got = ipch_read_full(fd[0], rec, sizeof(rec));
		if (got == 0)
			break;
		IPCH_EXPECT_EQ("bytes of a record before EOF", PIPE_BUF, got);
		int w = rec[0] - 'A';
		if (w < 0 || w >= WRITERS)
			atf_tc_fail("record %u: unknown tag 0x%02x", r, rec[0]);
		for (size_t j = 1; j < sizeof(rec); j++)
			if (rec[j] != rec[0])
				atf_tc_fail("record %u: expected PIPE_BUF "
				            "bytes of '%c', got '%c' at offset "
				            "%zu (interleaved)",
				    r, rec[0], rec[j], j);
		count[w]++;
	}
	ipch_reap_all_ok();
	for (int i = 0; i < WRITERS; i++)
		IPCH_EXPECT_EQ(
		    "whole records read from one writer", RECORDS, count[i]);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, read_blocks_until_data_is_written);
	ATF_TP_ADD_TC(
	    tp, read_returns_available_bytes_without_waiting_for_more);
	ATF_TP_ADD_TC(tp, nonblocking_read_of_empty_pipe_fails_with_eagain);
	ATF_TP_ADD_TC(tp, read_returns_eof_after_last_writer_closes);
	ATF_TP_ADD_TC(
	    tp, data_written_before_last_writer_closes_is_read_before_eof);
	ATF_TP_ADD_TC(
	    tp, read_does_not_return_eof_while_another_writer_is_open);
	ATF_TP_ADD_TC(tp, write_without_reader_raises_sigpipe);
	ATF_TP_ADD_TC(
	    tp, write_without_reader_fails_with_epipe_when_sigpipe_ignored);
	ATF_TP_ADD_TC(tp, write_blocks_while_pipe_is_full);
	ATF_TP_ADD_TC(tp, blocking_write_above_pipe_buf_completes_fully);
	ATF_TP_ADD_TC(
	    tp, nonblocking_write_above_pipe_buf_is_partial_when_room_is_short);
	ATF_TP_ADD_TC(tp,
	    nonblocking_write_above_pipe_buf_to_full_pipe_fails_with_eagain);
	ATF_TP_ADD_TC(
	    tp, nonblocking_write_of_at_most_pipe_buf_is_all_or_eagain);
	ATF_TP_ADD_TC(tp,
	    blocked_write_of_pipe_buf_bytes_transfers_nothing_until_all_fit);
	ATF_TP_ADD_TC(tp,
	    writes_of_pipe_buf_bytes_from_concurrent_writers_do_not_interleave);
	return atf_no_error();
}
