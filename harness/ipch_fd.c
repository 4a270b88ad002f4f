#include "ipch_fd.h"

#include <atf-c.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "ipch_check.h"

void
ipch_set_nonblock(int fd, bool on)
{
	int fl = (int)IPCH_SYS(fcntl(fd, F_GETFL));
	fl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
	IPCH_SYS(fcntl(fd, F_SETFL, fl));
}

bool
ipch_fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1 || errno != EBADF;
}

size_t
ipch_fill(int fd, size_t chunk)
{
	char buf[65536] = {0};
	size_t total = 0;
	if (chunk == 0 || chunk > sizeof(buf))
		atf_tc_fail(
		    "ipch_fill: chunk %zu not in [1, %zu]", chunk, sizeof(buf));
	for (;;) {
		ssize_t n = write(fd, buf, chunk);
		if (n > 0) {
			total += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return total;
		atf_tc_fail("ipch_fill: write: expected a count or EAGAIN, got "
		            "%zd with %s",
		    n, ipch_errname(errno));
	}
}

size_t
ipch_drain(int fd)
{
	char buf[65536];
	size_t total = 0;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n > 0) {
			total += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == 0 || errno == EAGAIN)
			return total;
		atf_tc_fail(
		    "ipch_drain: read: failed with %s", ipch_errname(errno));
	}
}

ssize_t
ipch_write_all_r(int fd, const void *buf, size_t n)
{
	size_t done = 0;
	while (done < n) {
		ssize_t k = write(fd, (const char *)buf + done, n - done);
		if (k == -1 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		done += (size_t)k;
	}
	return (ssize_t)done;
}

ssize_t
ipch_read_full_r(int fd, void *buf, size_t n)
{
	size_t done = 0;
	while (done < n) {
		ssize_t k = read(fd, (char *)buf + done, n - done);
		if (k == -1 && errno == EINTR)
			continue;
		if (k == -1)
			return -1;
		if (k == 0)
			break;
		done += (size_t)k;
	}
	return (ssize_t)done;
}

void
ipch_write_all(int fd, const void *buf, size_t n)
{
	if (ipch_write_all_r(fd, buf, n) == -1)
		atf_tc_fail(
		    "ipch_write_all: write of %zu bytes: failed with %s", n,
		    ipch_errname(errno));
}

size_t
ipch_read_full(int fd, void *buf, size_t n)
{
	ssize_t k = ipch_read_full_r(fd, buf, n);
	if (k == -1)
		atf_tc_fail("ipch_read_full: read: failed with %s",
		    ipch_errname(errno));
	return (size_t)k;
}

void
ipch_expect_read_all(int fd, const char *text, const char *what)
{
	char buf[4096];
	size_t n = ipch_read_full(fd, buf, sizeof(buf) - 1);
	buf[n] = '\0';
	if (n != strlen(text) || memcmp(buf, text, n) != 0)
		atf_tc_fail("%s: expected \"%s\", got %zu bytes \"%s\"", what,
		    text, n, buf);
}
