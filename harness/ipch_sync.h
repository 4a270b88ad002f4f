/*
 * Ordering events between processes without sleeping.
 *
 * gate:    one-shot broadcast.  Waiters block in read() until the opener
 *          closes the write end; EOF wakes all at once.  Create before fork.
 * latch:   count-down from children to a parent: each child arrives once,
 *          the parent waits for n arrivals (with a deadline, and noticing a
 *          child that died before arriving).
 *          (Gates and latches rely on read(2) returning 0 at EOF: a platform
 *          or fault that hides EOF breaks them too, and the case fails
 *          with "gate broken" rather than at its own check.)
 * barrier: n processes meet repeatedly, in shared memory, with a deadline.
 */
#ifndef IPCH_SYNC_H
#define IPCH_SYNC_H

struct ipch_gate {
	int fd[2];
};

void ipch_gate_init(struct ipch_gate *g);
/* In a waiter (after fork): block until the gate opens.  0, or -1 when the
 * gate was broken (read error). */
int ipch_gate_wait(struct ipch_gate *g);
/* In the opener: wake every waiter, now and later. */
void ipch_gate_open(struct ipch_gate *g);

struct ipch_latch {
	int fd[2];
};

void ipch_latch_init(struct ipch_latch *l);
/* In a child: count one arrival. */
void ipch_latch_arrive(struct ipch_latch *l);
/* In the parent (once, after the forks): close its write end and wait for n
 * arrivals.  0, or ETIMEDOUT, or EPIPE when every arriver is gone first. */
int ipch_latch_wait(struct ipch_latch *l, int n, int timeout_ms);

struct ipch_barrier;

/* A barrier for n processes in shared anonymous memory; create before fork.
 * Fails the case when it cannot be made. */
struct ipch_barrier *ipch_barrier_new(unsigned n);
/* 0 when all n arrived; ETIMEDOUT when timeout_ms passed first. */
int ipch_barrier_wait(struct ipch_barrier *b, int timeout_ms);
void ipch_barrier_free(struct ipch_barrier *b);

#endif
