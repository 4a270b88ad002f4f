/* errno values by name, for messages a reader can act on. */
#include "ipch_check.h"

#include <stdio.h>

#define E(name)                                                                \
	{                                                                      \
		name, #name                                                    \
	}

static const struct {
	int value;
	const char *name;
} errnames[] = {
    E(E2BIG),
    E(EACCES),
    E(EADDRINUSE),
    E(EADDRNOTAVAIL),
    E(EAFNOSUPPORT),
    E(EAGAIN),
    E(EALREADY),
    E(EBADF),
    E(EBADMSG),
    E(EBUSY),
    E(ECANCELED),
    E(ECHILD),
    E(ECONNABORTED),
    E(ECONNREFUSED),
    E(ECONNRESET),
    E(EDEADLK),
    E(EDESTADDRREQ),
    E(EDOM),
    E(EDQUOT),
    E(EEXIST),
    E(EFAULT),
    E(EFBIG),
    E(EHOSTUNREACH),
    E(EIDRM),
    E(EILSEQ),
    E(EINPROGRESS),
    E(EINTR),
    E(EINVAL),
    E(EIO),
    E(EISCONN),
    E(EISDIR),
    E(ELOOP),
    E(EMFILE),
    E(EMLINK),
    E(EMSGSIZE),
    E(ENAMETOOLONG),
    E(ENETDOWN),
    E(ENETUNREACH),
    E(ENFILE),
    E(ENOBUFS),
    E(ENODEV),
    E(ENOENT),
    E(ENOEXEC),
    E(ENOLCK),
    E(ENOMEM),
    E(ENOMSG),
    E(ENOSPC),
    E(ENOSYS),
    E(ENOTCONN),
    E(ENOTDIR),
    E(ENOTEMPTY),
    E(ENOTRECOVERABLE),
    E(ENOTSOCK),
    E(ENOTSUP),
    E(ENOTTY),
    E(ENXIO),
    E(EOVERFLOW),
    E(EOWNERDEAD),
    E(EPERM),
    E(EPIPE),
    E(EPROTO),
    E(EPROTONOSUPPORT),
    E(EPROTOTYPE),
    E(ERANGE),
    E(EROFS),
    E(ESPIPE),
    E(ESRCH),
    E(ETIMEDOUT),
    E(ETXTBSY),
    E(EXDEV),
#ifdef ENODATA
    E(ENODATA),
#endif
#ifdef ETIME
    E(ETIME),
#endif
#ifdef ENOSR
    E(ENOSR),
#endif
#ifdef ENOSTR
    E(ENOSTR),
#endif
};

const char *
ipch_errname(int err)
{
	/* EWOULDBLOCK and EOPNOTSUPP alias others on Linux; the table's first
	 * match (EAGAIN, ENOTSUP) is the name POSIX uses in the clauses. */
	for (size_t i = 0; i < sizeof(errnames) / sizeof(errnames[0]); i++)
		if (errnames[i].value == err)
			return errnames[i].name;
	if (err == 0)
		return "no error (errno 0)";
	static _Thread_local char buf[32];
	snprintf(buf, sizeof(buf), "errno %d", err);
	return buf;
}

long
ipch_sys_(long rv, const char *expr, const char *file, int line)
{
	/* errno is read before anything else can touch it: the arguments were
	 * evaluated, the call returned, and nothing ran in between. */
	int err = errno;

	if (rv == -1)
		atf_tc_fail_requirement(file, (size_t)line,
		    "%s: failed with %s", expr, ipch_errname(err));
	return rv;
}

void *
ipch_sys_ptr_(
    void *p, void *failed, const char *expr, const char *file, int line)
{
	int err = errno;

	if (p == failed)
		atf_tc_fail_requirement(file, (size_t)line,
		    "%s: failed with %s", expr, ipch_errname(err));
	return p;
}

void
ipch_expect_errno_(
    int experr, long rv, const char *expr, const char *file, int line)
{
	int err = errno;

	if (rv != -1)
		atf_tc_fail_requirement(file, (size_t)line,
		    "%s: expected %s, got %ld (success)", expr,
		    ipch_errname(experr), rv);
	if (err != experr) {
		/* ipch_errname may use a static buffer: copy the first name. */
		char want[32];
		snprintf(want, sizeof(want), "%s", ipch_errname(experr));
		atf_tc_fail_requirement(file, (size_t)line,
		    "%s: expected %s, got -1 with %s", expr, want,
		    ipch_errname(err));
	}
}

void
ipch_expect_eq_(const char *what, long long expected, long long seen,
    const char *file, int line)
{
	if (expected != seen)
		atf_tc_fail_requirement(file, (size_t)line,
		    "%s: expected %lld, got %lld", what, expected, seen);
}

const char *
ipch_rcname(int rc)
{
	return rc == 0 ? "0 (success)" : ipch_errname(rc);
}

void
ipch_expect_rc_(int want, int got, const char *expr, const char *file, int line)
{
	if (got != want) {
		char w[32];
		snprintf(w, sizeof(w), "%s", ipch_rcname(want));
		atf_tc_fail_requirement(file, (size_t)line,
		    "%s: expected %s, got %s", expr, w, ipch_rcname(got));
	}
}
