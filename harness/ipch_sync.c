/* Gates and latches are pipes; the barrier is a process-shared mutex and
 * condition variable on CLOCK_MONOTONIC. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS: not in POSIX.1-2008 */
#include "ipch_sync.h"

#include <atf-c.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "ipch_check.h"
#include "ipch_timing.h"

static void
cloexec_pipe(int fd[2])
{
	IPCH_SYS(pipe(fd));
	IPCH_SYS(fcntl(fd[0], F_SETFD, FD_CLOEXEC));
	IPCH_SYS(fcntl(fd[1], F_SETFD, FD_CLOEXEC));
}

void
ipch_gate_init(struct ipch_gate *g)
{
	cloexec_pipe(g->fd);
}

int
ipch_gate_wait(struct ipch_gate *g)
{
	char c;
	ssize_t n;

	if (g->fd[1] != -1) {
		close(g->fd[1]);
		g->fd[1] = -1;
	}
	while ((n = read(g->fd[0], &c, 1)) == -1 && errno == EINTR)
		;
	return n == 0 ? 0 : -1;
}

void
ipch_gate_open(struct ipch_gate *g)
{
	for (int i = 0; i < 2; i++)
		if (g->fd[i] != -1) {
			close(g->fd[i]);
			g->fd[i] = -1;
		}
}

void
ipch_latch_init(struct ipch_latch *l)
{
	cloexec_pipe(l->fd);
}

void
ipch_latch_arrive(struct ipch_latch *l)
{
	char c = 'a';
	while (write(l->fd[1], &c, 1) == -1 && errno == EINTR)
		;
}

int
ipch_latch_wait(struct ipch_latch *l, int n, int timeout_ms)
{
	if (l->fd[1] != -1) {
		close(l->fd[1]);
		l->fd[1] = -1;
	}
	uint64_t deadline = ipch_now_ns() + (uint64_t)timeout_ms * 1000000u;
	int got = 0;
	while (got < n) {
		uint64_t now = ipch_now_ns();
		if (now >= deadline)
			return ETIMEDOUT;
		struct pollfd p = {.fd = l->fd[0], .events = POLLIN};
		int r = poll(&p, 1, (int)((deadline - now) / 1000000u) + 1);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			continue;
		char buf[64];
		ssize_t k = read(l->fd[0], buf,
		    (size_t)(n - got) < sizeof(buf) ? (size_t)(n - got)
		                                    : sizeof(buf));
		if (k == 0)
			return EPIPE; /* every arriver closed its end */
		if (k > 0)
			got += (int)k;
	}
	return 0;
}

struct ipch_barrier {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned n, waiting;
	unsigned long generation;
};

struct ipch_barrier *
ipch_barrier_new(unsigned n)
{
	struct ipch_barrier *b =
	    IPCH_SYS_PTR(mmap(NULL, sizeof(*b), PROT_READ | PROT_WRITE,
	                     MAP_SHARED | MAP_ANONYMOUS, -1, 0),
	        MAP_FAILED);
	pthread_mutexattr_t ma;
	pthread_condattr_t ca;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	pthread_condattr_init(&ca);
	pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (pthread_mutex_init(&b->mu, &ma) != 0 ||
	    pthread_cond_init(&b->cv, &ca) != 0)
		atf_tc_fail(
		    "ipch_barrier_new: process-shared mutex or condition "
		    "variable not supported");
	pthread_mutexattr_destroy(&ma);
	pthread_condattr_destroy(&ca);
	b->n = n;
	b->waiting = 0;
	b->generation = 0;
	return b;
}

int
ipch_barrier_wait(struct ipch_barrier *b, int timeout_ms)
{
	struct timespec dl;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += timeout_ms / 1000;
	dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&b->mu);
	unsigned long gen = b->generation;
	int rc = 0;
	if (++b->waiting == b->n) {
		b->waiting = 0;
		b->generation++;
		pthread_cond_broadcast(&b->cv);
	} else {
		while (gen == b->generation && rc == 0)
			rc = pthread_cond_timedwait(&b->cv, &b->mu, &dl);
		if (gen != b->generation)
			rc = 0;
		else
			b->waiting--; /* give up our place */
	}
	pthread_mutex_unlock(&b->mu);
	return rc;
}

void
ipch_barrier_free(struct ipch_barrier *b)
{
	munmap(b, sizeof(*b));
}
