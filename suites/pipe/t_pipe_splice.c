/*
 * Moving data into, out of and between pipes without a user copy:
 * splice(), tee() and vmsplice() (Linux).
 */
#define _GNU_SOURCE /* splice, tee, vmsplice */
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ipch.h"

/* Skip, naming the call, when the kernel lacks it. */
static void
skip_if_enosys(long rv, const char *call)
{
	if (rv == -1 && errno == ENOSYS)
		atf_tc_skip("%s fails with ENOSYS: not in this kernel", call);
}

/* Read what the read end holds, without waiting, and compare it with
 * `want`. */
static void
expect_holds(int r, const char *what, const char *want)
{
	char buf[256];
	size_t n = strlen(want);
	ipch_set_nonblock(r, true);
	errno = 0;
	ssize_t k = read(r, buf, sizeof(buf));
	if (k == -1)
		atf_tc_fail("%s: expected '%s', got no data (%s)", what, want,
		    ipch_errname(errno));
	if ((size_t)k != n || memcmp(buf, want, n) != 0)
		atf_tc_fail(
		    "%s: expected '%s', got '%.*s'", what, want, (int)k, buf);
}

IPCH_CASE(splice_moves_bytes_from_one_pipe_to_another, "conformance",
    "Linux splice(2)",
    "splice() between two pipes moves the bytes: the target holds them "
    "and the source no longer does");
ATF_TC_BODY(splice_moves_bytes_from_one_pipe_to_another, tc)
{
	int a[2], b[2];
	char c;
	IPCH_SYS(pipe(a));
	IPCH_SYS(pipe(b));
	IPCH_SYS(write(a[1], "spliced", 7));
	long n = splice(a[0], NULL, b[1], NULL, 7, 0);
	skip_if_enosys(n, "splice");
	IPCH_EXPECT_EQ("splice() result", 7, IPCH_SYS(n));
	expect_holds(b[0], "target pipe after splice", "spliced");
	ipch_set_nonblock(a[0], true);
	IPCH_EXPECT_ERRNO(EAGAIN, read(a[0], &c, 1));
}

IPCH_CASE(splice_moves_bytes_from_a_file_into_a_pipe, "conformance",
    "Linux splice(2): one of the descriptors a pipe",
    "splice() from a regular file at an offset fills a pipe with the "
    "file's bytes and advances the offset");
ATF_TC_BODY(splice_moves_bytes_from_a_file_into_a_pipe, tc)
{
	char path[PATH_MAX];
	int p[2];
	int f = IPCH_SYS(open(ipch_work_path("src", path, sizeof(path)),
	    O_RDWR | O_CREAT | O_EXCL, 0600));
	ipch_write_all(f, "0123456789", 10);
	IPCH_SYS(pipe(p));
	loff_t off = 2;
	long n = splice(f, &off, p[1], NULL, 5, 0);
	skip_if_enosys(n, "splice");
	IPCH_EXPECT_EQ("splice() result", 5, IPCH_SYS(n));
	IPCH_EXPECT_EQ("offset after splice", 7, off);
	expect_holds(p[0], "pipe after splice from the file", "23456");
}

IPCH_CASE(splice_with_an_offset_for_a_pipe_fails_with_espipe, "conformance",
    "Linux splice(2): ERRORS, ESPIPE",
    "splice() with an offset pointer for the pipe end fails with ESPIPE");
ATF_TC_BODY(splice_with_an_offset_for_a_pipe_fails_with_espipe, tc)
{
	int a[2], b[2];
	loff_t off = 0;
	IPCH_SYS(pipe(a));
	IPCH_SYS(pipe(b));
	IPCH_SYS(write(a[1], "x", 1));
	IPCH_EXPECT_ERRNO(ESPIPE, splice(a[0], &off, b[1], NULL, 1, 0));
}

IPCH_CASE(splice_from_pipe_without_writers_returns_zero, "conformance",
    "Linux splice(2): RETURN VALUE, 0 means end of input",
    "splice() from an empty pipe whose writers all closed returns 0");
ATF_TC_BODY(splice_from_pipe_without_writers_returns_zero, tc)
{
	int a[2], b[2];
	IPCH_SYS(pipe(a));
	IPCH_SYS(pipe(b));
	IPCH_SYS(close(a[1]));
	long n = splice(a[0], NULL, b[1], NULL, 16, SPLICE_F_NONBLOCK);
	skip_if_enosys(n, "splice");
	IPCH_EXPECT_EQ("splice() from a pipe at EOF", 0, IPCH_SYS(n));
}

IPCH_CASE(splice_nonblock_from_empty_pipe_fails_with_eagain, "conformance",
    "Linux splice(2): ERRORS, EAGAIN, SPLICE_F_NONBLOCK",
    "splice(SPLICE_F_NONBLOCK) from an empty pipe with a writer fails "
    "with EAGAIN");
ATF_TC_BODY(splice_nonblock_from_empty_pipe_fails_with_eagain, tc)
{
	int a[2], b[2];
	IPCH_SYS(pipe(a));
	IPCH_SYS(pipe(b));
	IPCH_EXPECT_ERRNO(
	    EAGAIN, splice(a[0], NULL, b[1], NULL, 16, SPLICE_F_NONBLOCK));
}

IPCH_CASE(tee_copies_bytes_without_consuming_them, "conformance",
    "Linux tee(2): does not consume the data",
    "tee() duplicates a pipe's bytes into another pipe and leaves them in "
    "the source");
ATF_TC_BODY(tee_copies_bytes_without_consuming_them, tc)
{
	int a[2], b[2];
	IPCH_SYS(pipe(a));
	IPCH_SYS(pipe(b));
	IPCH_SYS(write(a[1], "teed", 4));
	long n = tee(a[0], b[1], 4, SPLICE_F_NONBLOCK);
	skip_if_enosys(n, "tee");
	IPCH_EXPECT_EQ("tee() result", 4, IPCH_SYS(n));
	expect_holds(a[0], "source pipe after tee", "teed");
	expect_holds(b[0], "target pipe after tee", "teed");
}

IPCH_CASE(tee_with_a_regular_file_fails_with_einval, "conformance",
    "Linux tee(2): ERRORS, EINVAL, not a pipe",
    "tee() with a regular file as the target fails with EINVAL");
ATF_TC_BODY(tee_with_a_regular_file_fails_with_einval, tc)
{
	char path[PATH_MAX];
	int a[2];
	int f = IPCH_SYS(open(ipch_work_path("dst", path, sizeof(path)),
	    O_RDWR | O_CREAT | O_EXCL, 0600));
	IPCH_SYS(pipe(a));
	IPCH_SYS(write(a[1], "x", 1));
	IPCH_EXPECT_ERRNO(EINVAL, tee(a[0], f, 1, SPLICE_F_NONBLOCK));
}

IPCH_CASE(tee_of_a_pipe_into_itself_fails_with_einval, "conformance",
    "Linux tee(2): ERRORS, EINVAL, both refer to the same pipe",
    "tee() from a pipe into the same pipe fails with EINVAL");
ATF_TC_BODY(tee_of_a_pipe_into_itself_fails_with_einval, tc)
{
	int a[2];
	IPCH_SYS(pipe(a));
	IPCH_SYS(write(a[1], "x", 1));
	IPCH_EXPECT_ERRNO(EINVAL, tee(a[0], a[1], 1, SPLICE_F_NONBLOCK));
}

IPCH_CASE(vmsplice_puts_user_buffers_into_a_pipe_in_order, "conformance",
    "Linux vmsplice(2)",
    "vmsplice() of two buffers fills the pipe with their bytes, in order");
ATF_TC_BODY(vmsplice_puts_user_buffers_into_a_pipe_in_order, tc)
{
	int p[2];
	static const char one[] = "user", two[] = "pages";
	struct iovec iov[2] = {
	    {(void *)one, sizeof(one) - 1},
	    {(void *)two, sizeof(two) - 1},
	};
	IPCH_SYS(pipe(p));
	long n = vmsplice(p[1], iov, 2, 0);
	skip_if_enosys(n, "vmsplice");
	IPCH_EXPECT_EQ("vmsplice() result", 9, IPCH_SYS(n));
	expect_holds(p[0], "pipe after vmsplice", "userpages");
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, splice_moves_bytes_from_one_pipe_to_another);
	ATF_TP_ADD_TC(tp, splice_moves_bytes_from_a_file_into_a_pipe);
	ATF_TP_ADD_TC(tp, splice_with_an_offset_for_a_pipe_fails_with_espipe);
	ATF_TP_ADD_TC(tp, splice_from_pipe_without_writers_returns_zero);
	ATF_TP_ADD_TC(tp, splice_nonblock_from_empty_pipe_fails_with_eagain);
	ATF_TP_ADD_TC(tp, tee_copies_bytes_without_consuming_them);
	ATF_TP_ADD_TC(tp, tee_with_a_regular_file_fails_with_einval);
	ATF_TP_ADD_TC(tp, tee_of_a_pipe_into_itself_fails_with_einval);
	ATF_TP_ADD_TC(tp, vmsplice_puts_user_buffers_into_a_pipe_in_order);
	return atf_no_error();
}
