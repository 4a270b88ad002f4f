/*
 * SEM_UNDO: a SysV semaphore operation made with SEM_UNDO is recorded in
 * the process's adjustment (semadj) and reversed when the process ends,
 * however it ends; one made without it stays done.  This is what keeps a
 * semaphore used as a lock from being lost with a killed holder.
 */
#include <signal.h>
#include <stdbool.h>
#include <sys/sem.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ipch.h"

/* glibc implements semop() as semtimedop(..., NULL) (strace shows it on
 * x86_64 with 2.36), so a blocked semop() sleeps in semtimedop; a C library
 * that calls semop directly sleeps in that. */
#if defined(__GLIBC__) && defined(SYS_semtimedop)
#define SYSNO_SEMOP SYS_semtimedop
#else
#define SYSNO_SEMOP SYS_semop
#endif

/* The caller defines it (POSIX.1-2017 semctl()). */
union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
};

/* A set of one semaphore holding `value`, removed when the case ends. */
static int
new_sem(int value)
{
	int id = (int)IPCH_SYS(semget(
	    ipch_sysv_key(IPCH_OBJ_SYSV_SEM), 1, IPC_CREAT | IPC_EXCL | 0600));
	union semun arg = {.val = value};
	IPCH_SYS(semctl(id, 0, SETVAL, arg));
	return id;
}

static int
semval(int id)
{
	return (int)IPCH_SYS(semctl(id, 0, GETVAL));
}

struct holder {
	int id;
	short op, flg;          /* the operation the holder performs */
	bool stay;              /* wait to be killed, rather than exit */
	struct ipch_latch done; /* the operation is done */
	struct ipch_gate never; /* kept shut: the holder dies waiting */
};

static int
hold(void *arg)
{
	struct holder *h = arg;
	struct sembuf b = {.sem_num = 0, .sem_op = h->op, .sem_flg = h->flg};
	IPCH_CHILD_SYS(semop(h->id, &b, 1));
	ipch_latch_arrive(&h->done);
	if (!h->stay)
		return 0;
	(void)ipch_gate_wait(&h->never);
	ipch_child_fail("expected to be killed holding the semaphore, got "
	                "the gate opened");
}

/* Start a holder doing `op` with `flg` and return once it has. */
static pid_t
start_holder(struct holder *h, int id, short op, short flg, bool stay)
{
	h->id = id;
	h->op = op;
	h->flg = flg;
	h->stay = stay;
	ipch_latch_init(&h->done);
	ipch_gate_init(&h->never);
	pid_t pid = ipch_spawn("holder", hold, h);
	int rc = ipch_latch_wait(&h->done, 1, 5000);
	if (rc != 0)
		atf_tc_fail("holder: expected its semop to complete, got %s",
		    rc == EPIPE ? "its exit first" : "no completion in 5 s");
	return pid;
}

static void
kill_holder(pid_t pid)
{
	IPCH_SYS(kill(pid, SIGKILL));
	ipch_reap_expect_signal(pid, SIGKILL);
}

struct waiter {
	int id;
	struct ipch_latch took;
};

static int
take_one(void *arg)
{
	struct waiter *w = arg;
	struct sembuf b = {.sem_num = 0, .sem_op = -1, .sem_flg = 0};
	IPCH_CHILD_SYS(semop(w->id, &b, 1));
	ipch_latch_arrive(&w->took);
	return 0;
}

/* ------------------------------------------------------------------ */

IPCH_CASE(sem_undo_restores_value_when_holder_is_killed, "conformance",
    "POSIX.1-2017 semop(): SEM_UNDO; _Exit(): semadj",
    "a semaphore decremented with SEM_UNDO gets its value back when the "
    "process that took it is killed with SIGKILL",
    "timeout", "10");
ATF_TC_BODY(sem_undo_restores_value_when_holder_is_killed, tc)
{
	struct holder h;
	int id = new_sem(1);
	pid_t pid = start_holder(&h, id, -1, SEM_UNDO, true);
	IPCH_EXPECT_EQ("semval while the holder has it", 0, semval(id));
	kill_holder(pid);
	IPCH_EXPECT_EQ("semval after the holder was killed", 1, semval(id));
}

IPCH_CASE(sem_undo_release_wakes_a_blocked_waiter, "conformance",
    "POSIX.1-2017 semop(): SEM_UNDO; semop(): semncnt, suspended until "
    "semval becomes greater than or equal to |sem_op|",
    "a process blocked in semop() on a semaphore taken with SEM_UNDO "
    "proceeds when the holder is killed",
    "timeout", "10");
ATF_TC_BODY(sem_undo_release_wakes_a_blocked_waiter, tc)
{
	struct holder h;
	struct waiter w;
	int id = new_sem(1);
	pid_t holder = start_holder(&h, id, -1, SEM_UNDO, true);
	w.id = id;
	ipch_latch_init(&w.took);
	pid_t waiter = ipch_spawn("waiter", take_one, &w);
	ipch_expect_blocked(
	    waiter, SYSNO_SEMOP, "semop on the taken semaphore");
	IPCH_EXPECT_EQ("semncnt with the waiter blocked", 1,
	    IPCH_SYS(semctl(id, 0, GETNCNT)));
	kill_holder(holder);
	/* Bounded: a waiter left asleep fails here, not at the timeout. */
	int rc = ipch_latch_wait(&w.took, 1, 5000);
	if (rc == ETIMEDOUT)
		atf_tc_fail("waiter: expected its semop to complete once the "
		            "holder was killed, got no completion within 5 s");
	ipch_reap_ok(waiter);
	/* The waiter took it without SEM_UNDO: its exit gives nothing back. */
	IPCH_EXPECT_EQ(
	    "semval after the waiter took it and exited", 0, semval(id));
}

IPCH_CASE(value_stays_taken_without_sem_undo, "conformance",
    "POSIX.1-2017 semop(): SEM_UNDO",
    "a semaphore decremented without SEM_UNDO stays decremented after "
    "the process that took it is killed",
    "timeout", "10");
ATF_TC_BODY(value_stays_taken_without_sem_undo, tc)
{
	struct holder h;
	int id = new_sem(1);
	kill_holder(start_holder(&h, id, -1, 0, true));
	IPCH_EXPECT_EQ("semval after the holder was killed", 0, semval(id));
	struct sembuf b = {.sem_num = 0, .sem_op = -1, .sem_flg = IPC_NOWAIT};
	IPCH_EXPECT_ERRNO(EAGAIN, semop(id, &b, 1));
}

IPCH_CASE(sem_undo_reverts_an_increment, "conformance",
    "POSIX.1-2017 semop(): SEM_UNDO, semadj; _Exit(): semadj",
    "an increment made with SEM_UNDO is taken back when the process is "
    "killed",
    "timeout", "10");
ATF_TC_BODY(sem_undo_reverts_an_increment, tc)
{
	struct holder h;
	int id = new_sem(0);
	pid_t pid = start_holder(&h, id, 2, SEM_UNDO, true);
	IPCH_EXPECT_EQ("semval after +2 with SEM_UNDO", 2, semval(id));
	kill_holder(pid);
	IPCH_EXPECT_EQ(
	    "semval after the incrementer was killed", 0, semval(id));
}

IPCH_CASE(sem_undo_applies_at_normal_exit, "conformance",
    "POSIX.1-2017 _Exit(): semadj",
    "a semaphore decremented with SEM_UNDO gets its value back when the "
    "process that took it exits normally",
    "timeout", "10");
ATF_TC_BODY(sem_undo_applies_at_normal_exit, tc)
{
	struct holder h;
	int id = new_sem(1);
	ipch_reap_ok(start_holder(&h, id, -1, SEM_UNDO, false));
	IPCH_EXPECT_EQ("semval after the holder exited", 1, semval(id));
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, sem_undo_restores_value_when_holder_is_killed);
	ATF_TP_ADD_TC(tp, sem_undo_release_wakes_a_blocked_waiter);
	ATF_TP_ADD_TC(tp, value_stays_taken_without_sem_undo);
	ATF_TP_ADD_TC(tp, sem_undo_reverts_an_increment);
	ATF_TP_ADD_TC(tp, sem_undo_applies_at_normal_exit);
	return atf_no_error();
}
