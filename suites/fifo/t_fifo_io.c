/*
 * Data through a FIFO: order, end-of-file, EPIPE and SIGPIPE, PIPE_BUF
 * atomicity with several writers, exactly-once delivery with several
 * readers, the life of the data and of the name, and lseek().
 */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ipch.h"

/* Make a FIFO in the work directory and open both ends without blocking
 * (reader first, with O_NONBLOCK so that it does not wait for a writer);
 * the reader is left non-blocking, the writer blocking. */
static void
open_fifo(char *path, size_t len, int *rfd, int *wfd)
{
	ipch_work_path("fifo", path, len);
	IPCH_SYS(mkfifo(path, 0600));
	*rfd = (int)IPCH_SYS(open(path, O_RDONLY | O_NONBLOCK));
	*wfd = (int)IPCH_SYS(open(path, O_WRONLY));
}

IPCH_CASE(bytes_are_read_in_the_order_written, "conformance",
    "POSIX.1-2017 Base Definitions 3.163 FIFO Special File",
    "bytes written to a FIFO in several writes are read in the same order");
ATF_TC_BODY(bytes_are_read_in_the_order_written, tc)
{
	char path[PATH_MAX];
	int rfd, wfd;
	open_fifo(path, sizeof(path), &rfd, &wfd);
	ipch_write_all(wfd, "first,", 6);
	ipch_write_all(wfd, "second,", 7);
	ipch_write_all(wfd, "third", 5);
	IPCH_SYS(close(wfd));
	ipch_set_nonblock(rfd, false);
	ipch_expect_read_all(rfd, "first,second,third", "bytes read");
	IPCH_SYS(close(rfd));
}

IPCH_CASE(read_returns_eof_after_last_writer_closes, "conformance",
    "POSIX.1-2017 read(): empty FIFO, no process has it open for writing",
    "once the only writer has closed and the data is read, read() returns "
    "0 (end-of-file)");
ATF_TC_BODY(read_returns_eof_after_last_writer_closes, tc)
{
	char path[PATH_MAX], buf[8];
	int rfd, wfd;
	open_fifo(path, sizeof(path), &rfd, &wfd);
	ipch_write_all(wfd, "abc", 3);
	IPCH_SYS(close(wfd));
	ipch_set_nonblock(rfd, false);
	IPCH_EXPECT_EQ("first read after the writer closed", 3,
	    IPCH_SYS(read(rfd, buf, sizeof(buf))));
	IPCH_EXPECT_EQ("second read (end-of-file)", 0,
	    IPCH_SYS(read(rfd, buf, sizeof(buf))));
	IPCH_SYS(close(rfd));
}

IPCH_CASE(closing_one_of_two_writers_is_not_eof, "conformance",
    "POSIX.1-2017 read(): empty FIFO with O_NONBLOCK, open for writing",
    "with two writers open, closing one leaves the FIFO open for writing: "
    "a non-blocking read of the empty FIFO fails with EAGAIN, not 0, and "
    "end-of-file comes after the second closes");
ATF_TC_BODY(closing_one_of_two_writers_is_not_eof, tc)
{
	char path[PATH_MAX], c;
	int rfd, w1;
	open_fifo(path, sizeof(path), &rfd, &w1);
	int w2 = (int)IPCH_SYS(open(path, O_WRONLY));
	IPCH_SYS(close(w1));
	IPCH_EXPECT_ERRNO(EAGAIN, read(rfd, &c, 1));
	IPCH_SYS(close(w2));
	IPCH_EXPECT_EQ("read after the second writer closed (end-of-file)", 0,
	    IPCH_SYS(read(rfd, &c, 1)));
	IPCH_SYS(close(rfd));
}

IPCH_CASE(read_nonblocking_from_empty_fifo_fails_eagain, "conformance",
    "POSIX.1-2017 read(): EAGAIN (O_NONBLOCK, FIFO open for writing)",
    "a non-blocking read of an empty FIFO that a writer holds open fails "
    "with EAGAIN");
ATF_TC_BODY(read_nonblocking_from_empty_fifo_fails_eagain, tc)
{
	char path[PATH_MAX], c;
	int rfd, wfd;
	open_fifo(path, sizeof(path), &rfd, &wfd);
	IPCH_EXPECT_ERRNO(EAGAIN, read(rfd, &c, 1));
	IPCH_SYS(close(wfd));
	IPCH_SYS(close(rfd));
}

IPCH_CASE(write_fails_epipe_without_reader_when_sigpipe_ignored, "conformance",
    "POSIX.1-2017 write(): EPIPE (FIFO not open for reading)",
    "with SIGPIPE ignored, write() to a FIFO whose last reader has closed "
    "fails with EPIPE");
ATF_TC_BODY(write_fails_epipe_without_reader_when_sigpipe_ignored, tc)
{
	char path[PATH_MAX];
	int rfd, wfd;
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		atf_tc_fail("signal(SIGPIPE, SIG_IGN): failed with %s",
		    ipch_errname(errno));
	open_fifo(path, sizeof(path), &rfd, &wfd);
	IPCH_SYS(close(rfd));
	IPCH_EXPECT_ERRNO(EPIPE, write(wfd, "x", 1));
	IPCH_SYS(close(wfd));
}

static int
sigpipe_writer_child(void *arg)
{
	const char *path = arg;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	IPCH_CHILD_SYS(sigprocmask(SIG_UNBLOCK, &set, NULL));
	if (signal(SIGPIPE, SIG_DFL) == SIG_ERR)
		ipch_child_fail("signal(SIGPIPE, SIG_DFL): failed with %s",
		    ipch_errname(errno));
	int rfd = (int)IPCH_CHILD_SYS(open(path, O_RDONLY | O_NONBLOCK));
	int wfd = (int)IPCH_CHILD_SYS(open(path, O_WRONLY));
	IPCH_CHILD_SYS(close(rfd));
	ssize_t n = write(wfd, "x", 1);
	ipch_child_fail("write() with no reader: expected death by SIGPIPE, "
	                "got %zd (%s)",
	    n, n == -1 ? ipch_errname(errno) : "success");
}

IPCH_CASE(write_without_reader_kills_writer_with_sigpipe, "conformance",
    "POSIX.1-2017 write(): SIGPIPE (FIFO not open for reading)",
    "write() to a FIFO whose last reader has closed sends SIGPIPE to the "
    "writer, whose default action kills it");
ATF_TC_BODY(write_without_reader_kills_writer_with_sigpipe, tc)
{
	char path[PATH_MAX];
	ipch_work_path("fifo", path, sizeof(path));
	IPCH_SYS(mkfifo(path, 0600));
	ipch_reap_expect_signal(
	    ipch_spawn("writer", sigpipe_writer_child, path), SIGPIPE);
}

IPCH_CASE(lseek_on_fifo_fails_espipe, "conformance",
    "POSIX.1-2017 lseek(): ESPIPE",
    "lseek() on either end of a FIFO fails with ESPIPE");
ATF_TC_BODY(lseek_on_fifo_fails_espipe, tc)
{
	char path[PATH_MAX];
	int rfd, wfd;
	open_fifo(path, sizeof(path), &rfd, &wfd);
	IPCH_EXPECT_ERRNO(ESPIPE, lseek(rfd, 0, SEEK_CUR));
	IPCH_EXPECT_ERRNO(ESPIPE, lseek(wfd, 0, SEEK_SET));
	IPCH_SYS(close(wfd));
	IPCH_SYS(close(rfd));
}

IPCH_CASE(unlinked_fifo_keeps_carrying_data, "conformance",
    "POSIX.1-2017 unlink(): file remains while open",
    "after unlink() of an open FIFO the name is gone, and bytes written to "
    "the open writer still reach the open reader");
ATF_TC_BODY(unlinked_fifo_keeps_carrying_data, tc)
{
	char path[PATH_MAX];
	struct stat st;
	int rfd, wfd;
	open_fifo(path, sizeof(path), &rfd, &wfd);
	IPCH_SYS(unlink(path));
	IPCH_EXPECT_ERRNO(ENOENT, lstat(path, &st));
	ipch_write_all(wfd, "after unlink", 12);
	IPCH_SYS(close(wfd));
	ipch_set_nonblock(rfd, false);
	ipch_expect_read_all(
	    rfd, "after unlink", "bytes through the unlinked FIFO");
	IPCH_SYS(close(rfd));
}

IPCH_CASE(mkfifo_at_unlinked_path_makes_a_distinct_fifo, "conformance",
    "POSIX.1-2017 unlink(): file remains while open",
    "a FIFO made at the path of an unlinked FIFO that is still open is a "
    "different file: another inode, and no reader of its own");
ATF_TC_BODY(mkfifo_at_unlinked_path_makes_a_distinct_fifo, tc)
{
	char path[PATH_MAX];
	struct stat old_st, new_st;
	int rfd, wfd;
	open_fifo(path, sizeof(path), &rfd, &wfd);
	IPCH_SYS(unlink(path));
	IPCH_SYS(mkfifo(path, 0600));
	IPCH_SYS(fstat(rfd, &old_st));
	IPCH_SYS(stat(path, &new_st));
	if (old_st.st_dev == new_st.st_dev && old_st.st_ino == new_st.st_ino)
		atf_tc_fail("new FIFO at the same path: expected another "
		            "inode than the open one, got the same (%llu)",
		    (unsigned long long)new_st.st_ino);
	/* The old FIFO has a reader; the new one must not share it. */
	IPCH_EXPECT_ERRNO(ENXIO, open(path, O_WRONLY | O_NONBLOCK));
	IPCH_SYS(close(wfd));
	IPCH_SYS(close(rfd));
}

IPCH_CASE(data_is_discarded_when_last_descriptor_closes, "conformance",
    "POSIX.1-2017 close(): remaining FIFO data discarded",
    "bytes left in a FIFO when every descriptor on it closes are gone: a "
    "new reader and writer find it empty");
ATF_TC_BODY(data_is_discarded_when_last_descriptor_closes, tc)
{
	char path[PATH_MAX], buf[8];
	int rfd, wfd;
	open_fifo(path, sizeof(path), &rfd, &wfd);
	ipch_write_all(wfd, "stale", 5);
	IPCH_SYS(close(wfd));
	IPCH_SYS(close(rfd));
	rfd = (int)IPCH_SYS(open(path, O_RDONLY | O_NONBLOCK));
	wfd = (int)IPCH_SYS(open(path, O_WRONLY | O_NONBLOCK));
	/* Empty, with a writer: EAGAIN; stale bytes would be a count. */
	IPCH_EXPECT_ERRNO(EAGAIN, read(rfd, buf, sizeof(buf)));
	IPCH_SYS(close(wfd));
	IPCH_SYS(close(rfd));
}

IPCH_CASE(nonblocking_write_of_pipe_buf_bytes_is_all_or_nothing, "conformance",
    "POSIX.1-2017 write(): O_NONBLOCK set, nbyte <= PIPE_BUF",
    "a non-blocking write of PIPE_BUF bytes to a nearly full FIFO either "
    "writes all of them or fails with EAGAIN, never part");
ATF_TC_BODY(nonblocking_write_of_pipe_buf_bytes_is_all_or_nothing, tc)
{
	char path[PATH_MAX];
	static char buf[PIPE_BUF];
	int rfd, wfd;
	open_fifo(path, sizeof(path), &rfd, &wfd);
	ipch_set_nonblock(wfd, true);
	/* Full, then room for one PIPE_BUF write, then half of that taken:
	 * less room than PIPE_BUF but more than nothing, where a write that
	 * is not atomic would store a part. */
	size_t filled = ipch_fill(wfd, PIPE_BUF);
	IPCH_EXPECT_EQ("bytes read back from the full FIFO", PIPE_BUF,
	    ipch_read_full(rfd, buf, PIPE_BUF));
	ipch_write_all(wfd, buf, PIPE_BUF / 2);
	memset(buf, 'p', sizeof(buf));
	ssize_t n = write(wfd, buf, PIPE_BUF);
	int err = errno;
	ipch_metric(
	    "fifo_capacity_in_pipe_buf_writes", (double)filled, "bytes");
	if (n == -1 && err != EAGAIN)
		atf_tc_fail("write of PIPE_BUF (%d) bytes: expected %d or "
		            "EAGAIN, got -1 with %s",
		    PIPE_BUF, PIPE_BUF, ipch_errname(err));
	if (n != -1 && n != PIPE_BUF)
		atf_tc_fail("write of PIPE_BUF (%d) bytes: expected %d or "
		            "EAGAIN, got a partial write of %zd",
		    PIPE_BUF, PIPE_BUF, n);
	IPCH_SYS(close(wfd));
	IPCH_SYS(close(rfd));
}

/* Several writers: records of PIPE_BUF bytes, each one write(). */
#define NWRITERS 4
#define NRECORDS 64

struct writers_arg {
	const char *path;
	int rfd;
	int id;
	struct ipch_latch *opened;
	struct ipch_gate *go;
};

static int
record_writer_child(void *arg)
{
	struct writers_arg *a = arg;
	static char rec[PIPE_BUF];
	IPCH_CHILD_SYS(close(a->rfd));
	int fd = (int)IPCH_CHILD_SYS(open(a->path, O_WRONLY));
	ipch_latch_arrive(a->opened);
	if (ipch_gate_wait(a->go) != 0)
		ipch_child_fail("writer %d: the start gate broke", a->id);
	memset(rec, 'a' + a->id, sizeof(rec));
	rec[0] = (char)a->id;
	for (uint32_t seq = 0; seq < NRECORDS; seq++) {
		memcpy(rec + 1, &seq, sizeof(seq));
		ssize_t n = write(fd, rec, sizeof(rec));
		if (n != (ssize_t)sizeof(rec))
			ipch_child_fail("writer %d, record %u: expected a "
			                "write of %zu, got %zd (%s)",
			    a->id, seq, sizeof(rec), n,
			    n == -1 ? ipch_errname(errno) : "short");
	}
	return 0;
}

IPCH_CASE(several_writers_deliver_every_record_unmixed, "conformance",
    "POSIX.1-2017 write(): nbyte <= PIPE_BUF not interleaved",
    "records of PIPE_BUF bytes written at once by several writers all "
    "arrive, each whole, each writer's in its order");
ATF_TC_BODY(several_writers_deliver_every_record_unmixed, tc)
{
	char path[PATH_MAX];
	static char rec[PIPE_BUF];
	struct writers_arg args[NWRITERS];
	struct ipch_latch opened;
	struct ipch_gate go;
	uint32_t next[NWRITERS] = {0};
	int rfd, wfd;

	open_fifo(path, sizeof(path), &rfd, &wfd);
	IPCH_SYS(close(wfd));
	ipch_latch_init(&opened);
	ipch_gate_init(&go);
	for (int i = 0; i < NWRITERS; i++) {
		args[i] = (struct writers_arg){path, rfd, i, &opened, &go};
		ipch_spawn("writer", record_writer_child, &args[i]);
	}
	/* Every writer holds the FIFO open before the first read, so EOF
	 * means all of them closed. */
	int rc = ipch_latch_wait(&opened, NWRITERS, 5000);
	if (rc != 0)
		ipch_reap_all_ok();
	if (rc != 0)
		atf_tc_fail("writers opening the FIFO: expected %d, got %s",
		    NWRITERS, ipch_errname(rc));
	ipch_set_nonblock(rfd, false);
	ipch_gate_open(&go);
	for (long nrec = 0;; nrec++) {
		size_t n = ipch_read_full(rfd, rec, sizeof(rec));
		if (n == 0)
			break;
		if (n != sizeof(rec))
			atf_tc_fail("record %ld: expected %zu bytes, got %zu "
			            "before end-of-file",
			    nrec, sizeof(rec), n);
		int id = (unsigned char)rec[0];
		if (id >= NWRITERS)
			atf_tc_fail("record %ld: expected a writer id below %d "
			            "in its first byte, got %d (mixed data)",
			    nrec, NWRITERS, id);
		uint32_t seq;
		memcpy(&seq, rec + 1, sizeof(seq));
		if (seq != next[id])
			atf_tc_fail("record %ld from writer %d: expected its "
			            "record %u, got %u",
			    nrec, id, next[id], seq);
		next[id]++;
		for (size_t k = 1 + sizeof(seq); k < sizeof(rec); k++)
			if (rec[k] != (char)('a' + id))
				atf_tc_fail("record %ld from writer %d: byte "
				            "%zu expected '%c', got 0x%02x "
				            "(records interleaved)",
				    nrec, id, k, 'a' + id,
				    (unsigned char)rec[k]);
	}
	ipch_reap_all_ok();
	for (int i = 0; i < NWRITERS; i++)
		if (next[i] != NRECORDS)
			atf_tc_fail("records from writer %d: expected %d, "
			            "got %u",
			    i, NRECORDS, next[i]);
	IPCH_SYS(close(rfd));
}

/* Several readers: 8-byte sequence numbers, each reader saves what it got
 * in its own file in the work directory. */
#define NREADERS 4
#define NSEQ 16384
#define SEQ_PER_READ 64

struct readers_arg {
	const char *path;
	char out[PATH_MAX];
	struct ipch_latch *opened;
};

static int
seq_reader_child(void *arg)
{
	struct readers_arg *a = arg;
	static uint64_t buf[SEQ_PER_READ];
	int fd = (int)IPCH_CHILD_SYS(open(a->path, O_RDONLY));
	ipch_latch_arrive(a->opened);
	int out = (int)IPCH_CHILD_SYS(
	    open(a->out, O_WRONLY | O_CREAT | O_EXCL, 0600));
	for (;;) {
		ssize_t n = IPCH_CHILD_SYS(read(fd, buf, sizeof(buf)));
		if (n == 0)
			break;
		if (n % (ssize_t)sizeof(buf[0]) != 0)
			ipch_child_fail("read: expected a multiple of %zu "
			                "bytes, got %zd",
			    sizeof(buf[0]), n);
		IPCH_CHILD_SYS(ipch_write_all_r(out, buf, (size_t)n));
	}
	IPCH_CHILD_SYS(close(out));
	return 0;
}

IPCH_CASE(several_readers_receive_every_byte_exactly_once, "conformance",
    "POSIX.1-2017 read(): data read is removed from the FIFO",
    "with several readers on one FIFO, every byte written is read by "
    "exactly one of them: none lost, none duplicated");
ATF_TC_BODY(several_readers_receive_every_byte_exactly_once, tc)
{
	char path[PATH_MAX];
	static struct readers_arg args[NREADERS];
	static unsigned char seen[NSEQ];
	static uint64_t batch[PIPE_BUF / sizeof(uint64_t)];
	const size_t per_batch = sizeof(batch) / sizeof(batch[0]);
	struct ipch_latch opened;

	ipch_work_path("fifo", path, sizeof(path));
	IPCH_SYS(mkfifo(path, 0600));
	ipch_latch_init(&opened);
	for (int i = 0; i < NREADERS; i++) {
		args[i].path = path;
		args[i].opened = &opened;
		ipch_work_path("reader-out", args[i].out, sizeof(args[i].out));
		ipch_spawn("reader", seq_reader_child, &args[i]);
	}
	int wfd = (int)IPCH_SYS(open(path, O_WRONLY));
	/* No reader may still be opening when the writer closes: it would
	 * then wait for a writer that never comes. */
	int rc = ipch_latch_wait(&opened, NREADERS, 5000);
	if (rc != 0)
		ipch_reap_all_ok();
	if (rc != 0)
		atf_tc_fail("readers opening the FIFO: expected %d, got %s",
		    NREADERS, ipch_errname(rc));
	for (uint64_t seq = 0; seq < NSEQ;) {
		size_t k = 0;
		for (; k < per_batch && seq < NSEQ; k++)
			batch[k] = seq++;
		ipch_write_all(wfd, batch, k * sizeof(batch[0]));
	}
	IPCH_SYS(close(wfd));
	ipch_reap_all_ok();

	long total = 0;
	for (int i = 0; i < NREADERS; i++) {
		int fd = (int)IPCH_SYS(open(args[i].out, O_RDONLY));
		uint64_t v;
		long got = 0;
		while (ipch_read_full(fd, &v, sizeof(v)) == sizeof(v)) {
			if (v >= NSEQ)
				atf_tc_fail("reader %d: expected sequence "
				            "numbers below %d, got %llu",
				    i, NSEQ, (unsigned long long)v);
			if (seen[v]++ != 0)
				atf_tc_fail("sequence number %llu: expected "
				            "to be read once, read again by "
				            "reader %d",
				    (unsigned long long)v, i);
			got++;
		}
		IPCH_SYS(close(fd));
		char name[64];
		snprintf(name, sizeof(name), "fifo_reader_%d_share", i);
		ipch_metric(name, (double)got, "records");
		total += got;
	}
	for (long v = 0; v < NSEQ; v++)
		if (seen[v] == 0)
			atf_tc_fail("sequence number %ld: expected to be read "
			            "once, read by no reader (%ld of %d "
			            "delivered)",
			    v, total, NSEQ);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, bytes_are_read_in_the_order_written);
	ATF_TP_ADD_TC(tp, read_returns_eof_after_last_writer_closes);
	ATF_TP_ADD_TC(tp, closing_one_of_two_writers_is_not_eof);
	ATF_TP_ADD_TC(tp, read_nonblocking_from_empty_fifo_fails_eagain);
	ATF_TP_ADD_TC(
	    tp, write_fails_epipe_without_reader_when_sigpipe_ignored);
	ATF_TP_ADD_TC(tp, write_without_reader_kills_writer_with_sigpipe);
	ATF_TP_ADD_TC(tp, lseek_on_fifo_fails_espipe);
	ATF_TP_ADD_TC(tp, unlinked_fifo_keeps_carrying_data);
	ATF_TP_ADD_TC(tp, mkfifo_at_unlinked_path_makes_a_distinct_fifo);
	ATF_TP_ADD_TC(tp, data_is_discarded_when_last_descriptor_closes);
	ATF_TP_ADD_TC(
	    tp, nonblocking_write_of_pipe_buf_bytes_is_all_or_nothing);
	ATF_TP_ADD_TC(tp, several_writers_deliver_every_record_unmixed);
	ATF_TP_ADD_TC(tp, several_readers_receive_every_byte_exactly_once);
	return atf_no_error();
}
