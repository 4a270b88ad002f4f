/*
 * Looking at processes from outside: identity that survives PID reuse,
 * scheduler state, and "is it blocked in this system call yet", which lets a
 * case order events without sleeping.  Linux reads /proc; elsewhere the
 * functions report ENOSYS and callers skip with that reason.
 */
#ifndef IPCH_PROC_H
#define IPCH_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Read a small file (a /proc entry, a case's output) into buf, NUL
 * terminated: the length, or -1 with errno.  One read(2): /proc entries
 * hand over their whole text in one. */
ssize_t ipch_read_file(const char *path, char *buf, size_t len);

/* Start time of pid in clock ticks since boot (/proc/<pid>/stat field 22);
 * 0 when the process is gone or the platform has no /proc. */
unsigned long long ipch_proc_starttime(pid_t pid);

/* True while pid exists and is the same process (same start time). */
bool ipch_proc_alive(pid_t pid, unsigned long long starttime);

/* One-letter scheduler state ('R', 'S', 'D', 'Z', 'T', ...); 0 if unknown. */
char ipch_proc_state(pid_t pid);

/* Parent pid as /proc reports it, -1 if unknown. */
pid_t ipch_proc_ppid(pid_t pid);

/* Pids whose parent chain reaches `root` (not root itself), from one scan
 * of /proc, breadth first; at most max.  0 where there is no /proc. */
size_t ipch_proc_descendants(pid_t root, pid_t *out, size_t max);

/* Any system call, for ipch_wait_blocked. */
#define IPCH_ANY_SYSCALL (-1L)

/*
 * Wait until pid sleeps inside system call `sysno` (a SYS_* number, or
 * IPCH_ANY_SYSCALL), polling every millisecond up to timeout_ms.  Returns 0,
 * or ETIMEDOUT, ESRCH (it exited), or ENOSYS (no /proc/<pid>/stat).
 */
int ipch_wait_blocked(pid_t pid, long sysno, int timeout_ms);

/* True when the process can observe other processes' state through /proc. */
bool ipch_have_proc(void);

/* 1 when the effective capability set holds `cap` (a CAP_* number from
 * linux/capability.h), 0 when it does not, -1 when it cannot be told. */
int ipch_has_cap(int cap);

/* Linux capability numbers the suite probes, without needing libcap. */
#define IPCH_CAP_DAC_OVERRIDE 1
#define IPCH_CAP_SETGID 6
#define IPCH_CAP_SETUID 7
#define IPCH_CAP_DAC_READ_SEARCH 2
#define IPCH_CAP_SYS_NICE 23
#define IPCH_CAP_SYS_RESOURCE 24
#define IPCH_CAP_SYS_ADMIN 21
#define IPCH_CAP_IPC_OWNER 15

#endif
