/*
 * Deadlocks built on purpose, one per kind of wait, for the harness
 * watchdog to diagnose: it must name the cycle -- who waits in which call on
 * which object, and who holds the other end -- kill the tree and fail the
 * case within about a second of the last progress.
 *
 * Every case here ends red by design, so none runs unless asked:
 *   kyua -v test_suites.ipcsuite.deadlock_demos=true test suites/scenario
 * The harness self-test harness/t_watchdog runs them and checks the text.
 */
#define _GNU_SOURCE /* F_OFD_SETLKW */
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ipch.h"

#define DEMO(name, ref, descr)                                                 \
	IPCH_CASE(                                                             \
	    name, "scenario", ref, descr, "require.config", "deadlock_demos")

/* Both children are inside their first step before either takes its
 * second, so the cycle forms every time. */
static struct ipch_barrier *both_ready;

static void
meet(void)
{
	if (ipch_barrier_wait(both_ready, 10000) != 0)
		ipch_child_fail("the other child never arrived");
}

/* --- pipes ------------------------------------------------------------ */

static int p1[2], p2[2];

/* Reads `in` while holding the write end of the pipe the other reads. */
static int
pipe_reader(void *arg)
{
	int *in = arg == NULL ? p1 : p2;
	int *other = arg == NULL ? p2 : p1;
	char c;
	close(in[1]);
	close(other[0]);
	meet();
	IPCH_CHILD_SYS(read(in[0], &c, 1));
	return 0;
}

DEMO(pipe_read_cycle, "ipcsuite watchdog: pipes",
    "two processes each read a pipe whose only writer is the other");
ATF_TC_BODY(pipe_read_cycle, tc)
{
	both_ready = ipch_barrier_new(2);
	IPCH_SYS(pipe(p1));
	IPCH_SYS(pipe(p2));
	ipch_spawn("reader-a", pipe_reader, NULL);
	ipch_spawn("reader-b", pipe_reader, (void *)1);
	/* The body keeps no end, so the cycle is the children's alone. */
	close(p1[0]);
	close(p1[1]);
	close(p2[0]);
	close(p2[1]);
	ipch_reap_all_ok();
}

DEMO(pipe_read_self, "ipcsuite watchdog: pipes",
    "a process reads a pipe whose only writer is itself");
ATF_TC_BODY(pipe_read_self, tc)
{
	char c;
	IPCH_SYS(pipe(p1));
	ipch_watchdog_start(); /* one process: nothing spawned starts it */
	IPCH_SYS(read(p1[0], &c, 1));
}

/* --- FIFOs ------------------------------------------------------------ */

static char f1[PATH_MAX], f2[PATH_MAX];

static int
fifo_reader(void *arg)
{
	const char *in = arg == NULL ? f1 : f2;
	const char *out = arg == NULL ? f2 : f1;
	char c;
	/* Open the read side without waiting, then, once both read sides
	 * exist, the write side of the other FIFO (which has its reader). */
	int r = (int)IPCH_CHILD_SYS(open(in, O_RDONLY | O_NONBLOCK));
	meet();
	int w = (int)IPCH_CHILD_SYS(open(out, O_WRONLY));
	meet();
	IPCH_CHILD_SYS(fcntl(r, F_SETFL, 0));
	IPCH_CHILD_SYS(read(r, &c, 1));
	close(w);
	return 0;
}

DEMO(fifo_read_cycle, "ipcsuite watchdog: FIFOs",
    "two processes each read a FIFO whose only writer is the other");
ATF_TC_BODY(fifo_read_cycle, tc)
{
	both_ready = ipch_barrier_new(2);
	IPCH_SYS(mkfifo(ipch_work_path("fifo-a", f1, sizeof(f1)), 0600));
	IPCH_SYS(mkfifo(ipch_work_path("fifo-b", f2, sizeof(f2)), 0600));
	ipch_spawn("reader-a", fifo_reader, NULL);
	ipch_spawn("reader-b", fifo_reader, (void *)1);
	ipch_reap_all_ok();
}

/* --- OFD locks (Linux detects no deadlock for them) -------------------- */

static char lockfile[PATH_MAX];

static void
ofd_lock(int fd, off_t byte)
{
	struct flock fl = {.l_type = F_WRLCK,
	    .l_whence = SEEK_SET,
	    .l_start = byte,
	    .l_len = 1};
	IPCH_CHILD_SYS(fcntl(fd, F_OFD_SETLKW, &fl));
}

static int
ofd_locker(void *arg)
{
	off_t first = arg == NULL ? 0 : 1;
	int fd = (int)IPCH_CHILD_SYS(open(lockfile, O_RDWR));
	ofd_lock(fd, first);
	meet();
	ofd_lock(fd, 1 - first);
	return 0;
}

DEMO(ofd_lock_cycle, "ipcsuite watchdog: OFD locks",
    "two processes each wait for the OFD lock the other holds");
ATF_TC_BODY(ofd_lock_cycle, tc)
{
	both_ready = ipch_barrier_new(2);
	ipch_work_path("lockfile", lockfile, sizeof(lockfile));
	close((int)IPCH_SYS(open(lockfile, O_RDWR | O_CREAT, 0600)));
	ipch_spawn("locker-a", ofd_locker, NULL);
	ipch_spawn("locker-b", ofd_locker, (void *)1);
	ipch_reap_all_ok();
}

/* --- SysV semaphores ---------------------------------------------------- */

static int semid;

static void
take(unsigned short num)
{
	struct sembuf op = {.sem_num = num, .sem_op = -1, .sem_flg = 0};
	IPCH_CHILD_SYS(semop(semid, &op, 1));
}

static int
sem_taker(void *arg)
{
	unsigned short first = arg == NULL ? 0 : 1;
	take(first);
	meet();
	take((unsigned short)(1 - first));
	return 0;
}

DEMO(sysv_sem_cycle, "ipcsuite watchdog: SysV semaphores",
    "two processes each wait for the semaphore the other took");
ATF_TC_BODY(sysv_sem_cycle, tc)
{
	both_ready = ipch_barrier_new(2);
	semid = (int)IPCH_SYS(semget(
	    ipch_sysv_key(IPCH_OBJ_SYSV_SEM), 2, IPC_CREAT | IPC_EXCL | 0600));
	unsigned short ones[2] = {1, 1};
	IPCH_SYS(semctl(semid, 0, SETALL, ones));
	ipch_spawn("taker-a", sem_taker, NULL);
	ipch_spawn("taker-b", sem_taker, (void *)1);
	ipch_reap_all_ok();
}

/* --- process-shared mutexes (futexes) ----------------------------------- */

static pthread_mutex_t *mutexes;

static int
mutex_taker(void *arg)
{
	int first = arg == NULL ? 0 : 1;
	if (pthread_mutex_lock(&mutexes[first]) != 0)
		ipch_child_fail("first lock failed");
	meet();
	if (pthread_mutex_lock(&mutexes[1 - first]) != 0)
		ipch_child_fail("second lock failed");
	return 0;
}

DEMO(pshared_mutex_cycle, "ipcsuite watchdog: futexes",
    "two processes each wait for the process-shared mutex the other holds");
ATF_TC_BODY(pshared_mutex_cycle, tc)
{
	both_ready = ipch_barrier_new(2);
	mutexes = IPCH_SYS_PTR(
	    mmap(NULL, 2 * sizeof(*mutexes), PROT_READ | PROT_WRITE,
	        MAP_SHARED | MAP_ANONYMOUS, -1, 0),
	    MAP_FAILED);
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	for (int i = 0; i < 2; i++)
		IPCH_EXPECT_EQ("pthread_mutex_init", 0,
		    pthread_mutex_init(&mutexes[i], &a));
	ipch_spawn("taker-a", mutex_taker, NULL);
	ipch_spawn("taker-b", mutex_taker, (void *)1);
	ipch_reap_all_ok();
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, pipe_read_cycle);
	ATF_TP_ADD_TC(tp, pipe_read_self);
	ATF_TP_ADD_TC(tp, fifo_read_cycle);
	ATF_TP_ADD_TC(tp, ofd_lock_cycle);
	ATF_TP_ADD_TC(tp, sysv_sem_cycle);
	ATF_TP_ADD_TC(tp, pshared_mutex_cycle);
	return atf_no_error();
}
