/*
 * File-descriptor chores that pipe, FIFO and socket cases share.  Each fails
 * the case (with errno by name) rather than returning an error, except where
 * the return value is the point.
 */
#ifndef IPCH_FD_H
#define IPCH_FD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Set or clear O_NONBLOCK. */
void ipch_set_nonblock(int fd, bool on);

/* True when fd is an open descriptor in this process. */
bool ipch_fd_is_open(int fd);

/* Write `chunk`-byte pieces to a non-blocking fd until EAGAIN; returns the
 * bytes written (the free space as the kernel accounts it, for a pipe). */
size_t ipch_fill(int fd, size_t chunk);

/* Read a non-blocking fd until EAGAIN or EOF; returns the bytes read. */
size_t ipch_drain(int fd);

/* Write all n bytes, retrying short writes and EINTR; fails the case on
 * error.  Not for cases that study short writes. */
void ipch_write_all(int fd, const void *buf, size_t n);

/* Read until n bytes or EOF; returns the bytes read (less than n only at
 * EOF).  Fails the case on error. */
size_t ipch_read_full(int fd, void *buf, size_t n);

/* Read fd to EOF; fail unless exactly `text` came, naming `what`:
 *   bytes read: expected "first,second", got 6 bytes "first," */
void ipch_expect_read_all(int fd, const char *text, const char *what);

/* Child-safe variants: return -1 with errno instead of failing the case. */
ssize_t ipch_write_all_r(int fd, const void *buf, size_t n);
ssize_t ipch_read_full_r(int fd, void *buf, size_t n);

#endif
