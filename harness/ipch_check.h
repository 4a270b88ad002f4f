/*
 * Checks whose failure messages name errno values (EAGAIN, not "Resource
 * temporarily unavailable") and say expected versus seen.
 */
#ifndef IPCH_CHECK_H
#define IPCH_CHECK_H

#include <atf-c.h>
#include <errno.h>

/* "EAGAIN" for EAGAIN; "errno 1234" for a value the table does not know. */
const char *ipch_errname(int err);

/*
 * IPCH_SYS(call): the call returns -1 on failure; fail the case naming the
 * call and errno when it does, yield its value otherwise.
 *   IPCH_SYS(pipe(fds));  n = IPCH_SYS(read(fd, buf, sizeof(buf)));
 */
#define IPCH_SYS(expr) ipch_sys_((long)(expr), #expr, __FILE__, __LINE__)
long ipch_sys_(long rv, const char *expr, const char *file, int line);

/* The same for calls that return a pointer; `failed` is NULL or MAP_FAILED. */
#define IPCH_SYS_PTR(expr, failed)                                             \
	ipch_sys_ptr_((expr), (failed), #expr, __FILE__, __LINE__)
void *ipch_sys_ptr_(
    void *p, void *failed, const char *expr, const char *file, int line);

/*
 * The call must fail with -1 and exactly the expected errno; otherwise:
 *   write(...): expected EPIPE, got 24 (success)
 *   write(...): expected EPIPE, got -1 with EAGAIN
 */
#define IPCH_EXPECT_ERRNO(experr, expr)                                        \
	do {                                                                   \
		errno = 0;                                                     \
		ipch_expect_errno_(                                            \
		    (experr), (long)(expr), #expr, __FILE__, __LINE__);        \
	} while (0)
void ipch_expect_errno_(
    int experr, long rv, const char *expr, const char *file, int line);

/*
 * For calls that return an error number instead of setting errno (pthread_*,
 * posix_spawn*): the call must return `want` (0 or an E* value):
 *   pthread_mutex_lock(m): expected EOWNERDEAD, got 0 (success)
 */
#define IPCH_EXPECT_RC(want, expr)                                             \
	ipch_expect_rc_((want), (expr), #expr, __FILE__, __LINE__)
void ipch_expect_rc_(
    int want, int got, const char *expr, const char *file, int line);

/* "0 (success)" for 0, else the errno name: for error-number returns. */
const char *ipch_rcname(int rc);

/* Integer equality with both values in the message. */
#define IPCH_EXPECT_EQ(what, expected, seen)                                   \
	ipch_expect_eq_((what), (long long)(expected), (long long)(seen),      \
	    __FILE__, __LINE__)
void ipch_expect_eq_(const char *what, long long expected, long long seen,
    const char *file, int line);

#endif
