/*
 * What a pipe is and is not: a FIFO to fstat, not seekable, one-way ends,
 * ordered bytes, and pipe() under descriptor exhaustion.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ipch.h"

IPCH_CASE(fstat_reports_a_pipe_as_a_fifo, "conformance",
    "POSIX.1-2017 pipe(); fstat(): S_ISFIFO",
    "fstat() on either end of a pipe reports a FIFO");
ATF_TC_BODY(fstat_reports_a_pipe_as_a_fifo, tc)
{
	int fd[2];
	struct stat st;
	IPCH_SYS(pipe(fd));
	for (int i = 0; i < 2; i++) {
		IPCH_SYS(fstat(fd[i], &st));
		if (!S_ISFIFO(st.st_mode))
			atf_tc_fail("fstat(fildes[%d]): expected S_IFIFO, got "
			            "file type 0%o",
			    i, (unsigned)(st.st_mode & S_IFMT));
	}
}

IPCH_CASE(lseek_on_a_pipe_fails_with_espipe, "conformance",
    "POSIX.1-2017 lseek(): ERRORS, ESPIPE",
    "lseek() on a pipe fails with ESPIPE");
ATF_TC_BODY(lseek_on_a_pipe_fails_with_espipe, tc)
{
	int fd[2];
	IPCH_SYS(pipe(fd));
	IPCH_SYS(write(fd[1], "abc", 3));
	IPCH_EXPECT_ERRNO(ESPIPE, lseek(fd[0], 0, SEEK_SET));
	IPCH_EXPECT_ERRNO(ESPIPE, lseek(fd[1], 0, SEEK_CUR));
}

IPCH_CASE(pread_on_a_pipe_fails_with_espipe, "conformance",
    "POSIX.1-2017 pread(): ERRORS, ESPIPE",
    "pread() on the read end of a pipe fails with ESPIPE");
ATF_TC_BODY(pread_on_a_pipe_fails_with_espipe, tc)
{
	int fd[2];
	char c;
	IPCH_SYS(pipe(fd));
	IPCH_SYS(write(fd[1], "abc", 3));
	IPCH_EXPECT_ERRNO(ESPIPE, pread(fd[0], &c, 1, 0));
}

IPCH_CASE(write_to_the_read_end_fails_with_ebadf, "conformance",
    "POSIX.1-2017 write(): ERRORS, EBADF not open for writing",
    "write() on a pipe's read end fails with EBADF");
ATF_TC_BODY(write_to_the_read_end_fails_with_ebadf, tc)
{
	int fd[2];
	IPCH_SYS(pipe(fd));
	IPCH_EXPECT_ERRNO(EBADF, write(fd[0], "x", 1));
}

IPCH_CASE(read_from_the_write_end_fails_with_ebadf, "conformance",
    "POSIX.1-2017 read(): ERRORS, EBADF not open for reading",
    "read() on a pipe's write end fails with EBADF");
ATF_TC_BODY(read_from_the_write_end_fails_with_ebadf, tc)
{
	int fd[2];
	char c;
	IPCH_SYS(pipe(fd));
	IPCH_SYS(write(fd[1], "x", 1));
	IPCH_EXPECT_ERRNO(EBADF, read(fd[1], &c, 1));
}

/* Byte i of the stream; the period is prime so that it does not line up
 * with pages or PIPE_BUF. */
static uint8_t
stream_byte(size_t i)
{
	return (uint8_t)((i * 7 + i / 251) % 251);
}

enum { STREAM = 1 << 20 };

static int
write_stream(void *arg)
{
	int w = *(int *)arg;
	uint8_t chunk[3001];
	size_t pos = 0;
	while (pos < STREAM) {
		size_t n =
		    sizeof(chunk) < STREAM - pos ? sizeof(chunk) : STREAM - pos;
		for (size_t i = 0; i < n; i++)
			chunk[i] = stream_byte(pos + i);
		if (ipch_write_all_r(w, chunk, n) == -1)
			ipch_child_fail("write at offset %zu: %s", pos,
			    ipch_errname(errno));
		pos += n;
	}
	return 0;
}

IPCH_CASE(bytes_are_read_in_the_order_written, "conformance",
    "POSIX.1-2017 pipe(); XBD 3.265 Pipe: first-in-first-out",
    "a reader sees a writer's 1 MiB stream unchanged and in order");
ATF_TC_BODY(bytes_are_read_in_the_order_written, tc)
{
	int fd[2];
	IPCH_SYS(pipe(fd));
	pid_t pid = ipch_spawn("writer", write_stream, &fd[1]);
	IPCH_SYS(close(fd[1]));
	uint8_t *buf = malloc(STREAM + 1);
	ATF_REQUIRE(buf != NULL);
	/* Odd-sized reads, so reads and writes never line up. */
	size_t got = 0;
	for (;;) {
		size_t want =
		    got + 1777 <= STREAM + 1 ? 1777 : STREAM + 1 - got;
		size_t n = ipch_read_full(fd[0], buf + got, want);
		got += n;
		if (n < want)
			break;
	}
	ipch_reap_ok(pid);
	IPCH_EXPECT_EQ("bytes read before EOF", STREAM, got);
	for (size_t i = 0; i < got; i++)
		if (buf[i] != stream_byte(i))
			atf_tc_fail("byte %zu: expected 0x%02x, got 0x%02x", i,
			    stream_byte(i), buf[i]);
	free(buf);
}

IPCH_CASE(pipe_fails_with_emfile_when_one_descriptor_is_free, "conformance",
    "POSIX.1-2017 pipe(): ERRORS, EMFILE",
    "pipe() with only one descriptor left under RLIMIT_NOFILE fails with "
    "EMFILE and takes none");
ATF_TC_BODY(pipe_fails_with_emfile_when_one_descriptor_is_free, tc)
{
	enum { LIMIT = 64 };
	struct rlimit rl;
	int held[LIMIT], nheld = 0, fd[2] = {-1, -1};

	IPCH_SYS(getrlimit(RLIMIT_NOFILE, &rl));
	if (rl.rlim_cur < LIMIT)
		atf_tc_skip("RLIMIT_NOFILE soft limit %llu is below %d",
		    (unsigned long long)rl.rlim_cur, LIMIT);
	rl.rlim_cur = LIMIT;
	IPCH_SYS(setrlimit(RLIMIT_NOFILE, &rl));
	/* Take every free descriptor below the limit, then give one back. */
	for (;;) {
		int d = dup(STDERR_FILENO);
		if (d == -1)
			break;
		if (nheld == LIMIT)
			atf_tc_fail("dup: more than %d descriptors below a "
			            "limit of %d",
			    LIMIT, LIMIT);
		held[nheld++] = d;
	}
	int dup_err = errno;
	if (nheld == 0)
		atf_tc_skip("no descriptor free below a limit of %d", LIMIT);
	IPCH_SYS(close(held[--nheld]));
	errno = 0;
	int rv = pipe(fd);
	int pipe_err = errno;
	/* A probe that the one free descriptor is still free. */
	int probe = dup(STDERR_FILENO);
	int probe_err = errno;
	/* Give everything back before any check can fail: failing needs a
	 * descriptor for the result file. */
	for (int i = 0; i < nheld; i++)
		close(held[i]);
	if (probe != -1)
		close(probe);
	if (rv == 0) {
		close(fd[0]);
		close(fd[1]);
	}
	IPCH_EXPECT_EQ("dup errno at the limit (EMFILE)", EMFILE, dup_err);
	if (rv != -1 || pipe_err != EMFILE)
		atf_tc_fail("pipe() with one descriptor free: expected EMFILE, "
		            "got %s",
		    rv == 0 ? "success" : ipch_errname(pipe_err));
	ATF_REQUIRE_MSG(probe != -1,
	    "dup after the failed pipe: expected the free descriptor, got "
	    "%s (pipe took it)",
	    ipch_errname(probe_err));
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, fstat_reports_a_pipe_as_a_fifo);
	ATF_TP_ADD_TC(tp, lseek_on_a_pipe_fails_with_espipe);
	ATF_TP_ADD_TC(tp, pread_on_a_pipe_fails_with_espipe);
	ATF_TP_ADD_TC(tp, write_to_the_read_end_fails_with_ebadf);
	ATF_TP_ADD_TC(tp, read_from_the_write_end_fails_with_ebadf);
	ATF_TP_ADD_TC(tp, bytes_are_read_in_the_order_written);
	ATF_TP_ADD_TC(tp, pipe_fails_with_emfile_when_one_descriptor_is_free);
	return atf_no_error();
}
