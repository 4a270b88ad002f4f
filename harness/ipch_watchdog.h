/*
 * Deadlock diagnosis for a case's process tree.
 *
 * A thread in the case body samples every task of the tree (the body and
 * all its descendants) ten times a second from /proc: scheduler state, CPU
 * time and the system call it sleeps in.  When every task has slept in an
 * untimed wait without using CPU for a whole window (1 s), the watchdog
 * builds the wait-for graph -- who holds the other end of the pipe or FIFO,
 * the fcntl/OFD/flock lock (/proc/locks), the SysV semaphore (last pid to
 * change it), the futex-based mutex (its owner TID), the child waited for --
 * prints it, names the cycle, kills the tree and fails the case: in about a
 * second instead of at kyua's timeout, and with the reason.
 *
 * Timed waits (nanosleep, poll or futex with a timeout, semtimedop, ...)
 * count as progress, so sleeps, polling loops and slow-but-live cases never
 * raise a false alarm.  Uninterruptible sleeps (D) count as progress too:
 * they are I/O, not the waits a case can deadlock in.
 *
 * Started automatically by the first ipch_spawn of a case body; a case of a
 * single process that could block on itself starts it by hand.  Linux only;
 * elsewhere it is a no-op and kyua's timeout remains.
 */
#ifndef IPCH_WATCHDOG_H
#define IPCH_WATCHDOG_H

#include <stddef.h>
#include <sys/types.h>

/* Start watching this process's tree (idempotent; only in a case body). */
void ipch_watchdog_start(void);

/* Stop watching, for a case that blocks on purpose in a way that looks
 * like a deadlock (waiting for something outside its tree). */
void ipch_watchdog_stop(void);

/* Window of no progress after which the tree is declared deadlocked. */
#define IPCH_WATCHDOG_WINDOW_MS 1000

/*
 * Describe what every task of root's tree waits on, and the first cycle of
 * the wait-for graph, into buf (one line; details on further lines after
 * `detail`, which may be NULL).  Returns 1 when a cycle was found.  Used by
 * the watchdog and its self-tests.
 */
int ipch_watchdog_describe(pid_t root, pid_t exclude_tid, char *buf, size_t len,
    char *detail, size_t detail_len);

#endif
