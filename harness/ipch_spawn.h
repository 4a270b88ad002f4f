/*
 * Children that are always reaped.
 *
 * A child runs a function and reports through its exit status and, for a
 * reason in words, through ipch_child_fail(), which the parent prints when
 * it judges the child.  Children never call ATF: a child's verdict would be
 * overwritten by the parent's (STYLE.md).
 *
 * When the case ends by any path (pass, fail, skip), every descendant still
 * running is stopped, killed and reaped; when the case body is killed, its
 * children die with it (PR_SET_PDEATHSIG) and the cleanup routine kills any
 * registered process that is left.
 */
#ifndef IPCH_SPAWN_H
#define IPCH_SPAWN_H

#include <errno.h>
#include <stdnoreturn.h>
#include <sys/types.h>

/* Exit status of a child that called ipch_child_fail(). */
#define IPCH_CHILD_FAILED 99

typedef int (*ipch_child_fn)(void *arg);

/* Fork a child named `name` (for messages) that returns fn(arg) as its
 * exit status.  Fails the case if fork fails. */
pid_t ipch_spawn(const char *name, ipch_child_fn fn, void *arg);

/* Like ipch_spawn, but return -1 with errno set when fork fails, for cases
 * that study fork's failure. */
pid_t ipch_try_spawn(const char *name, ipch_child_fn fn, void *arg);

/* In a child: say why, and exit with IPCH_CHILD_FAILED. */
noreturn void ipch_child_fail(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* In a child: fail with `call: failed with EAGAIN` when rv == -1. */
#define IPCH_CHILD_SYS(expr)                                                   \
	ipch_child_sys_((long)(expr), #expr, __FILE__, __LINE__)
long ipch_child_sys_(long rv, const char *expr, const char *file, int line);

/* In a child: fail unless seen == expected ("what: expected 4, got 0"). */
#define IPCH_CHILD_EXPECT_EQ(what, expected, seen)                             \
	ipch_child_expect_eq_((what), (long long)(expected),                   \
	    (long long)(seen), __FILE__, __LINE__)
void ipch_child_expect_eq_(const char *what, long long expected, long long seen,
    const char *file, int line);

/* In a child: the call must fail with -1 and errno experr. */
#define IPCH_CHILD_EXPECT_ERRNO(experr, expr)                                  \
	do {                                                                   \
		errno = 0;                                                     \
		ipch_child_expect_errno_(                                      \
		    (experr), (long)(expr), #expr, __FILE__, __LINE__);        \
	} while (0)
void ipch_child_expect_errno_(
    int experr, long rv, const char *expr, const char *file, int line);

/* In a child: a call returning an error number must return `want`. */
#define IPCH_CHILD_EXPECT_RC(want, expr)                                       \
	ipch_child_expect_rc_((want), (expr), #expr, __FILE__, __LINE__)
void ipch_child_expect_rc_(
    int want, int got, const char *expr, const char *file, int line);

/* Wait for the child; return its wait status.  It is then forgotten. */
int ipch_reap(pid_t pid);

/* Wait for the child; fail the case unless it exited with `code`:
 *   child 'writer-3' (pid 812): expected exit 0, got exit 99: short write */
void ipch_reap_expect_exit(pid_t pid, int code);
#define ipch_reap_ok(pid) ipch_reap_expect_exit((pid), 0)

/* Wait for the child; fail unless it was killed by signal `sig`. */
void ipch_reap_expect_signal(pid_t pid, int sig);

/* The reason a child gave with ipch_child_fail, or NULL; valid after the
 * child was reaped (ipch_reap), for messages of the caller's own. */
const char *ipch_child_reason(pid_t pid);

/* The name a child of this process was spawned with, or NULL. */
const char *ipch_child_name(pid_t pid);

/* How long ipch_expect_blocked waits to see a child block. */
#define IPCH_BLOCK_TIMEOUT_MS 5000

/*
 * A child of this process must come to sleep in system call `sysno`
 * (ipch_wait_blocked), `what` saying in words what it waits for
 * ("open() until a writer opens").  Skips when /proc cannot tell; fails
 * naming the child when it ends instead (with its exit status and reason)
 * or is not seen blocked within IPCH_BLOCK_TIMEOUT_MS.
 */
void ipch_expect_blocked(pid_t pid, long sysno, const char *what);

/* Reap every spawned child, failing on the first that did not exit 0. */
void ipch_reap_all_ok(void);

/* Describe a wait status in words: "exit 3", "signal SIGPIPE". */
const char *ipch_status_str(int status, char *buf, size_t len);

/* Signal name ("SIGPIPE") for messages. */
const char *ipch_signame(int sig);

/* Stop, kill and reap every descendant of this process (children,
 * grandchildren, orphans reparented to it).  Runs at the case's end. */
void ipch_kill_descendants(void);

/* Become the subreaper of everything this process starts from now on
 * (Linux; elsewhere orphans go to init), so that orphans can be reaped
 * here and need not wait for init. */
void ipch_become_subreaper(void);

/* Reap, without blocking, every child that has exited (orphans
 * reparented here included); returns how many. */
int ipch_reap_exited(void);

/* Number of children spawned and not yet reaped. */
int ipch_live_children(void);

#endif
