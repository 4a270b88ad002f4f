/*
 * CPU placement and CPU time, for cases that make processes compete for one
 * CPU (the sched family's shares) or that want work kept on a known CPU.
 *
 * Linux: sched_setaffinity(2) and /proc/<pid>/schedstat (nanoseconds), with
 * /proc/<pid>/stat utime+stime (clock ticks) when schedstat is missing.
 * Elsewhere the functions report ENOSYS and callers skip with that reason.
 */
#ifndef IPCH_CPU_H
#define IPCH_CPU_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

/* The CPUs this process may run on, lowest first, at most `max` of them;
 * returns how many are allowed (may exceed max), or -1 with errno. */
int ipch_cpu_allowed(int *cpus, int max);

/* Pin process `pid` (0: the caller) to the single CPU `cpu`.  Returns 0 or
 * an errno value; safe in a child. */
int ipch_cpu_pin(pid_t pid, int cpu);

/* CPU time process `pid` (0: the caller) has used so far, in nanoseconds, into
 * *ns. Returns 0 or an errno value (ESRCH when it is gone, ENOSYS without
 * /proc).  Safe in a child. */
int ipch_cpu_time_ns(pid_t pid, uint64_t *ns);

/*
 * Spin on the CPU, making no system call, until *stop is non-zero or the
 * CLOCK_MONOTONIC time deadline_ns passes, whichever is first; returns the
 * loop iterations done.  stop may be NULL.  The deadline is what keeps a
 * real-time spinner from owning its CPU for ever.
 */
unsigned long long ipch_cpu_spin(const atomic_int *stop, uint64_t deadline_ns);

/* One competitor of ipch_cpu_compete. */
struct ipch_spinner {
	const char *name; /* for messages */
	int policy;       /* SCHED_OTHER, SCHED_BATCH, SCHED_IDLE, SCHED_FIFO,
	                     SCHED_RR */
	int prio;         /* nice value (OTHER, BATCH), priority (FIFO, RR);
	                     ignored for SCHED_IDLE */
	uint64_t cpu_ns;  /* out: CPU time used during the window */
};

/*
 * Make n spinners compete for the one CPU `cpu`: spawn them pinned there,
 * each set to its policy and priority, start them together (a latch and a
 * gate, not a sleep), let them run warmup_ms, then measure each one's CPU
 * time over a window.  The window ends once the spinners together have
 * used cpu_ms of CPU time, or after window_ms of wall time, whichever
 * comes first (cpu_ms 0: a window of exactly window_ms).  Ending on CPU
 * time keeps the precision of a share the same on a loaded machine, where
 * other load leaves the spinners a small part of the CPU: the error of a
 * share comes from the scheduler's slices, so from how much CPU time was
 * shared, not from the wall time.  Stops and reaps the spinners; returns
 * the window's wall length in nanoseconds.
 *
 * The calling process moves off `cpu` for the duration when another CPU is
 * allowed, so that it neither competes nor starves behind a real-time
 * spinner; a real-time spinner with no other CPU left fails the case.
 * Every spinner stops itself 2 s after the longest window could have
 * ended, and a real-time one also runs under RLIMIT_RTTIME, so none can
 * hang the machine.  A spinner that cannot be set up (EPERM, say) fails
 * the case naming it: probe privileges first.
 */
uint64_t ipch_cpu_compete(int cpu, struct ipch_spinner *s, int n, int warmup_ms,
    int cpu_ms, int window_ms);

#endif
