/*
 * The watchdog: sampling, the "no progress" rule, and the wait-for graph.
 * See ipch_watchdog.h for the rules; this file is Linux-only below the stubs.
 */
#ifdef __linux__
#define _GNU_SOURCE /* gettid, process memory reads, SYS_* numbers */
#endif
#include "ipch_watchdog.h"

#ifndef __linux__

#include <stdio.h>

void
ipch_watchdog_start(void)
{
}

void
ipch_watchdog_stop(void)
{
}

int
ipch_watchdog_describe(pid_t root, pid_t exclude_tid, char *buf, size_t len,
    char *detail, size_t detail_len)
{
	(void)root;
	(void)exclude_tid;
	(void)detail;
	(void)detail_len;
	snprintf(buf, len, "watchdog: not available on this platform");
	return 0;
}

#else

#include <atf-c.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "ipch_names.h"
#include "ipch_proc.h"
#include "ipch_spawn.h"
#include "ipch_timing.h"

enum { MAX_TASKS = 1024, SAMPLE_MS = 100 };

#define SYSNO_RUNNING (-2L) /* /proc/<tid>/syscall says "running" */
#define SYSNO_NONE (-1L)    /* blocked outside a system call */

struct task {
	pid_t pid, tid;
	char state;
	unsigned long long cpu; /* utime + stime, ticks */
	long sysno;
	unsigned long args[6];
};

struct sample {
	size_t n;
	struct task t[MAX_TASKS];
};

/* ------------------------------------------------------------------ */
/* reading /proc */

static bool
read_task(pid_t pid, pid_t tid, struct task *t)
{
	char path[96], buf[1024];
	snprintf(path, sizeof(path), "/proc/%ld/task/%ld/stat", (long)pid,
	    (long)tid);
	if (ipch_read_file(path, buf, sizeof(buf)) <= 0)
		return false;
	char *p = strrchr(buf, ')');
	if (p == NULL || p[1] == '\0')
		return false;
	t->pid = pid;
	t->tid = tid;
	t->state = p[2];
	/* fields after ')': state(3) ppid pgrp session tty tpgid flags minflt
	 * cminflt majflt cmajflt utime(14) stime(15) */
	unsigned long long ut = 0, st = 0;
	char *save = NULL, *tok = strtok_r(p + 2, " ", &save);
	for (int field = 3; tok != NULL && field <= 15;
	     field++, tok = strtok_r(NULL, " ", &save)) {
		if (field == 14)
			ut = strtoull(tok, NULL, 10);
		if (field == 15)
			st = strtoull(tok, NULL, 10);
	}
	t->cpu = ut + st;
	snprintf(path, sizeof(path), "/proc/%ld/task/%ld/syscall", (long)pid,
	    (long)tid);
	memset(t->args, 0, sizeof(t->args));
	if (ipch_read_file(path, buf, sizeof(buf)) <= 0 ||
	    strncmp(buf, "running", 7) == 0)
		t->sysno = SYSNO_RUNNING;
	else {
		char *end;
		t->sysno = strtol(buf, &end, 10);
		for (int i = 0; i < 6 && t->sysno >= 0; i++)
			t->args[i] = strtoul(end, &end, 16);
	}
	return true;
}

/* Every task of root and its descendants, but exclude_tid. */
static void
sample_tree(pid_t root, pid_t exclude_tid, struct sample *s)
{
	static pid_t pids[MAX_TASKS];
	size_t np = 1;
	pids[0] = root;
	np += ipch_proc_descendants(root, pids + 1, MAX_TASKS - 1);
	s->n = 0;
	for (size_t i = 0; i < np && s->n < MAX_TASKS; i++) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%ld/task", (long)pids[i]);
		DIR *d = opendir(path);
		if (d == NULL)
			continue;
		struct dirent *e;
		while ((e = readdir(d)) != NULL && s->n < MAX_TASKS) {
			pid_t tid = (pid_t)strtol(e->d_name, NULL, 10);
			if (tid <= 0 || tid == exclude_tid)
				continue;
			if (read_task(pids[i], tid, &s->t[s->n]) &&
			    s->t[s->n].state != 'Z' && s->t[s->n].state != 'X')
				s->n++;
		}
		closedir(d);
	}
}

/* ------------------------------------------------------------------ */
/* the progress rule */

#define FUTEX_CMD(op) ((op)&127)

/* A wait with a deadline: it ends by itself, so it is progress. */
static bool
timed_wait(const struct task *t)
{
	const unsigned long *a = t->args;
	switch (t->sysno) {
	case SYS_nanosleep:
	case SYS_clock_nanosleep:
	case SYS_restart_syscall: /* only timed calls are restarted so */
		return true;
#ifdef SYS_poll
	case SYS_poll:
		return (int)a[2] >= 0;
#endif
	case SYS_ppoll:
		return a[2] != 0;
#ifdef SYS_select
	case SYS_select:
		return a[4] != 0;
#endif
	case SYS_pselect6:
		return a[4] != 0;
#ifdef SYS_epoll_wait
	case SYS_epoll_wait:
		return (int)a[3] >= 0;
#endif
	case SYS_epoll_pwait:
		return (int)a[3] >= 0;
	case SYS_futex: {
		int cmd = FUTEX_CMD((int)a[1]);
		/* WAIT 0, LOCK_PI 6, WAIT_BITSET 9, WAIT_REQUEUE_PI 11,
		 * LOCK_PI2 13: a[3] is the timeout pointer. */
		if (cmd == 0 || cmd == 6 || cmd == 9 || cmd == 11 || cmd == 13)
			return a[3] != 0;
		return false;
	}
	case SYS_semtimedop:
		return a[3] != 0;
	case SYS_rt_sigtimedwait:
		return a[2] != 0;
	case SYS_mq_timedreceive:
	case SYS_mq_timedsend:
		return a[4] != 0;
	default:
		return false;
	}
}

/* Asleep in an untimed wait (or stopped): cannot progress by itself. */
static bool
stuck(const struct task *t)
{
	if (t->state == 'T' || t->state == 't')
		return true;
	if (t->state != 'S')
		return false; /* R runs; D is I/O, which ends */
	if (t->sysno == SYSNO_RUNNING)
		return false;
	return !timed_wait(t);
}

/* True when nothing changed between a and b and every task is stuck. */
static bool
no_progress(const struct sample *a, const struct sample *b)
{
	if (a->n != b->n || b->n == 0)
		return false;
	for (size_t i = 0; i < b->n; i++) {
		const struct task *x = &a->t[i], *y = &b->t[i];
		if (x->tid != y->tid || x->cpu != y->cpu || !stuck(y))
			return false;
	}
	return true;
}

/* ------------------------------------------------------------------ */
/* the wait-for graph */

struct edge_set {
	pid_t to[32];
	int n;
};

static void
add_edge(struct edge_set *e, pid_t to)
{
	for (int i = 0; i < e->n; i++)
		if (e->to[i] == to)
			return;
	if (e->n < 32)
		e->to[e->n++] = to;
}

static int
appendf(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strlen(buf);
	if (used + 1 >= len)
		return 0;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
	return n;
}

static const char *
who(pid_t pid, pid_t root, char *buf, size_t len)
{
	char path[64], comm[64] = "?";
	if (pid == root) {
		snprintf(buf, len, "pid %ld (case body)", (long)pid);
		return buf;
	}
	const char *name = ipch_child_name(pid);
	if (name == NULL) {
		snprintf(path, sizeof(path), "/proc/%ld/comm", (long)pid);
		if (ipch_read_file(path, comm, sizeof(comm)) > 0)
			comm[strcspn(comm, "\n")] = '\0';
		name = comm;
	}
	snprintf(buf, len, "pid %ld '%s'", (long)pid, name);
	return buf;
}

/* Read len bytes of pid's memory at addr (we are its ancestor). */
static bool
peek(pid_t pid, unsigned long addr, void *out, size_t len)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%ld/mem", (long)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return false;
	ssize_t n = pread(fd, out, len, (off_t)addr);
	close(fd);
	return n == (ssize_t)len;
}

/* The object fd refers to: its link text and identity. */
static bool
fd_object(pid_t pid, long fd, char *name, size_t len, struct stat *st)
{
	char path[96];
	snprintf(path, sizeof(path), "/proc/%ld/fd/%ld", (long)pid, fd);
	ssize_t n = readlink(path, name, len - 1);
	if (n < 0)
		return false;
	name[n] = '\0';
	return stat(path, st) == 0;
}

/* Access mode of pid's fd from fdinfo ("flags: 0100001"). */
static int
fd_accmode(pid_t pid, const char *fd)
{
	char path[64 + NAME_MAX + 2], buf[512];
	snprintf(path, sizeof(path), "/proc/%ld/fdinfo/%s", (long)pid, fd);
	if (ipch_read_file(path, buf, sizeof(buf)) <= 0)
		return -1;
	char *f = strstr(buf, "flags:");
	return f == NULL ? -1 : (int)(strtol(f + 6, NULL, 8) & O_ACCMODE);
}

/* Processes of the tree holding (dev, ino) open with a mode in `modes`
 * (bit O_RDONLY+1, O_WRONLY+1, O_RDWR+1). */
static void
holders(const struct sample *s, dev_t dev, ino_t ino, int modes,
    struct edge_set *out)
{
	pid_t last = -1;
	for (size_t i = 0; i < s->n; i++) {
		pid_t pid = s->t[i].pid;
		if (pid == last)
			continue;
		last = pid;
		char path[64];
		snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pid);
		DIR *d = opendir(path);
		struct dirent *e;
		while (d != NULL && (e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			char fdp[64 + NAME_MAX + 2];
			struct stat st;
			snprintf(fdp, sizeof(fdp), "%s/%s", path, e->d_name);
			if (stat(fdp, &st) != 0 || st.st_dev != dev ||
			    st.st_ino != ino)
				continue;
			int acc = fd_accmode(pid, e->d_name);
			if (acc >= 0 && (modes & (1 << acc)))
				add_edge(out, pid);
		}
		if (d != NULL)
			closedir(d);
	}
}

/* Holders of locks on (dev, ino) from /proc/locks, other than `self`. */
static void
lock_holders(dev_t dev, ino_t ino, pid_t self, const struct sample *s,
    struct edge_set *out)
{
	FILE *f = fopen("/proc/locks", "re");
	char line[256];
	bool unknown_pid = false;
	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		if (strstr(line, "->") != NULL)
			continue; /* a waiter, not a holder */
		char cls[16], adv[16], type[16];
		long pid;
		unsigned maj, min;
		unsigned long lino;
		char *p = strchr(line, ':');
		if (p == NULL ||
		    sscanf(p + 1, "%15s %15s %15s %ld %x:%x:%lu", cls, adv,
		        type, &pid, &maj, &min, &lino) != 7)
			continue;
		if (lino != ino || makedev(maj, min) != dev)
			continue;
		if (pid <= 0)
			unknown_pid = true;
		else if (pid != self)
			add_edge(out, (pid_t)pid);
	}
	if (f != NULL)
		fclose(f);
	/* OFD locks may be listed without a pid: anyone else holding the file
	 * open may own one. */
	if (unknown_pid) {
		struct edge_set all = {.n = 0};
		holders(s, dev, ino, 0x7, &all);
		for (int i = 0; i < all.n; i++)
			if (all.to[i] != self)
				add_edge(out, all.to[i]);
	}
}

static void
list_edges(char *buf, size_t len, const struct edge_set *e, pid_t root,
    const char *none)
{
	char w[96];
	if (e->n == 0) {
		appendf(buf, len, "%s", none);
		return;
	}
	for (int i = 0; i < e->n; i++)
		appendf(buf, len, "%s%s", i ? ", " : "",
		    who(e->to[i], root, w, sizeof(w)));
}

/* Names of the calls a case may sleep in, for messages. */
static const char *
syscall_name(long nr)
{
	static const struct {
		long nr;
		const char *name;
	} names[] = {
	    {SYS_nanosleep, "nanosleep"},
	    {SYS_clock_nanosleep, "clock_nanosleep"},
#ifdef SYS_poll
	    {SYS_poll, "poll"},
#endif
	    {SYS_ppoll, "ppoll"},
#ifdef SYS_select
	    {SYS_select, "select"},
#endif
	    {SYS_pselect6, "pselect6"},
	    {SYS_epoll_pwait, "epoll_pwait"},
	    {SYS_accept4, "accept4"},
	    {SYS_recvfrom, "recvfrom"},
	    {SYS_recvmsg, "recvmsg"},
	    {SYS_sendmsg, "sendmsg"},
	    {SYS_connect, "connect"},
	    {SYS_mq_timedreceive, "mq_timedreceive"},
	    {SYS_mq_timedsend, "mq_timedsend"},
	    {SYS_restart_syscall, "restart_syscall"},
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].nr == nr)
			return names[i].name;
	return NULL;
}

/* What task t waits on, into buf; whom it waits for, into e. */
static void
explain(const struct sample *s, const struct task *t, pid_t root, char *buf,
    size_t len, struct edge_set *e)
{
	char obj[256];
	struct stat st;
	const unsigned long *a = t->args;
	buf[0] = '\0';
	e->n = 0;

	if (t->state == 'T' || t->state == 't') {
		appendf(buf, len, "is stopped (state %c)", t->state);
		return;
	}
	switch (t->sysno) {
	case SYS_read:
	case SYS_readv:
	case SYS_write:
	case SYS_writev: {
		bool rd = t->sysno == SYS_read || t->sysno == SYS_readv;
		if (!fd_object(t->pid, (long)a[0], obj, sizeof(obj), &st)) {
			appendf(buf, len, "waits in %s(fd %lu)",
			    rd ? "read" : "write", a[0]);
			return;
		}
		appendf(buf, len, "waits in %s(fd %lu) on %s%s",
		    rd ? "read" : "write", a[0],
		    S_ISFIFO(st.st_mode) && obj[0] == '/' ? "FIFO " : "", obj);
		if (!S_ISFIFO(st.st_mode))
			return;
		/* A reader waits for writers; a writer for readers. */
		holders(s, st.st_dev, st.st_ino,
		    rd ? (1 << O_WRONLY) | (1 << O_RDWR)
		       : (1 << O_RDONLY) | (1 << O_RDWR),
		    e);
		appendf(buf, len, ", whose %s end is held by ",
		    rd ? "write" : "read");
		list_edges(buf, len, e, root, "no process of the case");
		return;
	}
	case SYS_openat: {
		char path[256] = "?";
		if (peek(t->pid, a[1], path, sizeof(path) - 1))
			path[sizeof(path) - 1] = '\0';
		int acc = (int)(a[2] & O_ACCMODE);
		appendf(buf, len, "waits in open(%s, %s)%s", path,
		    acc == O_RDONLY   ? "O_RDONLY"
		    : acc == O_WRONLY ? "O_WRONLY"
		                      : "O_RDWR",
		    stat(path, &st) == 0 && S_ISFIFO(st.st_mode)
		        ? acc == O_RDONLY ? " for a FIFO writer that no "
		                            "process of the case will be"
		                          : " for a FIFO reader that no "
		                            "process of the case will be"
		        : "");
		return;
	}
	case SYS_fcntl:
	case SYS_flock: {
		bool fl = t->sysno == SYS_flock;
		const char *how = fl                     ? "flock"
		                  : a[1] == F_SETLKW     ? "fcntl(F_SETLKW)"
#ifdef F_OFD_SETLKW
		                  : a[1] == F_OFD_SETLKW ? "fcntl(F_OFD_SETLKW)"
#endif
		                                         : "fcntl";
		if (!fd_object(t->pid, (long)a[0], obj, sizeof(obj), &st)) {
			appendf(buf, len, "waits in %s(fd %lu)", how, a[0]);
			return;
		}
		lock_holders(st.st_dev, st.st_ino, t->pid, s, e);
		appendf(buf, len, "waits in %s on %s (inode %lu), locked by ",
		    how, obj, (unsigned long)st.st_ino);
		list_edges(buf, len, e, root, "no process of the case");
		return;
	}
#ifdef SYS_semop
	case SYS_semop:
#endif
	case SYS_semtimedop: {
		struct sembuf sb;
		int semid = (int)a[0];
		if (!peek(t->pid, a[1], &sb, sizeof(sb))) {
			appendf(buf, len, "waits in semop(semid %d)", semid);
			return;
		}
		int val = semctl(semid, sb.sem_num, GETVAL);
		int last = semctl(semid, sb.sem_num, GETPID);
		appendf(buf, len,
		    "waits in semop(semid %d, sem %u, op %d) at value %d, "
		    "last changed by ",
		    semid, (unsigned)sb.sem_num, (int)sb.sem_op, val);
		if (last > 0 && last != t->pid)
			add_edge(e, (pid_t)last);
		char w[96];
		appendf(buf, len, "%s",
		    last > 0 ? who((pid_t)last, root, w, sizeof(w)) : "nobody");
		return;
	}
	case SYS_futex: {
		/* glibc's pthread_mutex_t: int __lock; unsigned __count;
		 * int __owner.  Robust and PI mutexes keep the owner TID in
		 * __lock itself. */
		int word[3];
		pid_t owner = 0;
		if (peek(t->pid, a[0], word, sizeof(word))) {
			pid_t in_lock = word[0] & 0x3fffffff;
			for (size_t i = 0; i < s->n && owner == 0; i++)
				if (s->t[i].tid == in_lock ||
				    s->t[i].tid == word[2])
					owner = s->t[i].tid;
		}
		appendf(buf, len, "waits in futex(0x%lx)", a[0]);
		if (owner > 0) {
			pid_t opid = owner;
			for (size_t i = 0; i < s->n; i++)
				if (s->t[i].tid == owner)
					opid = s->t[i].pid;
			if (opid != t->pid)
				add_edge(e, opid);
			char w[96];
			appendf(buf, len, ", a mutex owned by %s%s",
			    who(opid, root, w, sizeof(w)),
			    opid == t->pid ? " itself" : "");
		} else
			appendf(buf, len, " (owner not known)");
		return;
	}
	case SYS_wait4:
	case SYS_waitid: {
		long want = t->sysno == SYS_wait4 ? (long)(int)a[0] : -1;
		for (size_t i = 0; i < s->n; i++)
			if (ipch_proc_ppid(s->t[i].pid) == t->pid &&
			    (want <= 0 || want == s->t[i].pid))
				add_edge(e, s->t[i].pid);
		appendf(buf, len, "waits for child ");
		list_edges(buf, len, e, root, "(none in the case)");
		return;
	}
	case SYS_msgrcv:
	case SYS_msgsnd:
		appendf(buf, len, "waits in %s(msqid %d)",
		    t->sysno == SYS_msgrcv ? "msgrcv" : "msgsnd", (int)a[0]);
		return;
#ifdef SYS_pause
	case SYS_pause:
#endif
	case SYS_rt_sigsuspend:
	case SYS_rt_sigtimedwait:
		appendf(
		    buf, len, "waits for a signal nobody in the case sends");
		return;
	case SYSNO_NONE:
		appendf(buf, len, "sleeps outside a system call");
		return;
	default:
		if (syscall_name(t->sysno) != NULL)
			appendf(buf, len, "waits in %s%s",
			    syscall_name(t->sysno),
			    timed_wait(t) ? " (with a deadline)" : "");
		else
			appendf(buf, len, "waits in system call %ld", t->sysno);
		return;
	}
}

/* First cycle reachable in the graph, by depth-first search. */
static int
find_cycle(
    size_t n, const pid_t *node, const struct edge_set *edges, pid_t *cycle)
{
	int color[MAX_TASKS] = {0}, parent[MAX_TASKS];
	int stack[MAX_TASKS], next[MAX_TASKS];
	for (size_t start = 0; start < n; start++) {
		if (color[start] != 0)
			continue;
		int sp = 0;
		stack[sp] = (int)start;
		next[sp] = 0;
		color[start] = 1;
		parent[start] = -1;
		while (sp >= 0) {
			int u = stack[sp];
			if (next[sp] >= edges[u].n) {
				color[u] = 2;
				sp--;
				continue;
			}
			pid_t to = edges[u].to[next[sp]++];
			int v = -1;
			for (size_t k = 0; k < n; k++)
				if (node[k] == to)
					v = (int)k;
			if (v < 0 || color[v] == 2)
				continue;
			if (color[v] == 1) {
				/* back edge u -> v: the cycle is v ... u. */
				int len = 0;
				for (int x = u; x != v && x >= 0; x = parent[x])
					cycle[len++] = node[x];
				cycle[len++] = node[v];
				/* reverse into wait order */
				for (int i = 0; i < len / 2; i++) {
					pid_t tmp = cycle[i];
					cycle[i] = cycle[len - 1 - i];
					cycle[len - 1 - i] = tmp;
				}
				return len;
			}
			color[v] = 1;
			parent[v] = u;
			stack[++sp] = v;
			next[sp] = 0;
		}
	}
	return 0;
}

int
ipch_watchdog_describe(pid_t root, pid_t exclude_tid, char *buf, size_t len,
    char *detail, size_t detail_len)
{
	static struct sample s;
	static pid_t node[MAX_TASKS];
	static struct edge_set edges[MAX_TASKS];
	static char why[MAX_TASKS][384];
	sample_tree(root, exclude_tid, &s);

	/* One node per process; its threads' waits merge into its edges. */
	size_t n = 0;
	for (size_t i = 0; i < s.n; i++) {
		size_t k = 0;
		while (k < n && node[k] != s.t[i].pid)
			k++;
		struct edge_set e;
		char text[384];
		explain(&s, &s.t[i], root, text, sizeof(text), &e);
		if (k == n) {
			node[n] = s.t[i].pid;
			edges[n].n = 0;
			snprintf(why[n], sizeof(why[n]), "%s", text);
			n++;
		}
		for (int j = 0; j < e.n; j++)
			add_edge(&edges[k], e.to[j]);
	}

	pid_t cycle[MAX_TASKS];
	int clen = find_cycle(n, node, edges, cycle);
	char w[96];
	buf[0] = '\0';
	if (clen > 0) {
		appendf(buf, len,
		    "watchdog: deadlock, no progress for %.1f s; "
		    "cycle: ",
		    IPCH_WATCHDOG_WINDOW_MS / 1000.0);
		for (int i = 0; i < clen; i++) {
			size_t k = 0;
			while (node[k] != cycle[i])
				k++;
			appendf(buf, len, "%s%s %s", i ? "; " : "",
			    who(cycle[i], root, w, sizeof(w)), why[k]);
		}
	} else {
		appendf(buf, len,
		    "watchdog: every process blocked with no "
		    "progress for %.1f s, no cycle found: ",
		    IPCH_WATCHDOG_WINDOW_MS / 1000.0);
		for (size_t k = 0; k < n; k++)
			appendf(buf, len, "%s%s %s", k ? "; " : "",
			    who(node[k], root, w, sizeof(w)), why[k]);
	}
	if (detail != NULL) {
		detail[0] = '\0';
		for (size_t k = 0; k < n; k++)
			appendf(detail, detail_len, "  %s %s\n",
			    who(node[k], root, w, sizeof(w)), why[k]);
	}
	return clen > 0;
}

/* ------------------------------------------------------------------ */
/* the thread */

static pthread_t watcher, main_thread;
static pid_t watched;
static atomic_bool running, main_parked;
/* Stopping wakes the watcher at once instead of after its period: a case
 * ends as soon as its body does. */
static pthread_mutex_t stop_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t stop_cv;
static bool stop_requested;

#define PARK_SIGNAL (SIGRTMAX - 1)

static void
park(int sig)
{
	(void)sig;
	/* The case body's main thread waits here while the watchdog writes
	 * the verdict and exits: it must not wake, see its children killed
	 * and write a second, misleading verdict. */
	atomic_store(&main_parked, true);
	for (;;)
		pause();
}

static void
fire(pid_t self_tid)
{
	static char line[4096], detail[16384];
	ipch_watchdog_describe(
	    watched, self_tid, line, sizeof(line), detail, sizeof(detail));

	struct sigaction sa = {.sa_handler = park};
	sigemptyset(&sa.sa_mask);
	sigaction(PARK_SIGNAL, &sa, NULL);
	pthread_kill(main_thread, PARK_SIGNAL);
	for (int i = 0; i < 500 && !atomic_load(&main_parked); i++) {
		const struct timespec t = {0, 1000000};
		nanosleep(&t, NULL);
	}
	fprintf(stderr, "%s\nwait-for graph of the case:\n%s", line, detail);
	fflush(stderr);
	/* Writes the verdict and exits; the exit hooks kill and reap the
	 * tree and remove the case's objects. */
	atf_tc_fail("%s", line);
}

static void *
watch(void *arg)
{
	(void)arg;
	static struct sample prev, cur;
	pid_t self = (pid_t)syscall(SYS_gettid);
	uint64_t quiet_since = ipch_now_ns();
	sample_tree(watched, self, &prev);
	for (;;) {
		/* Sleep one period, or less when asked to stop. */
		struct timespec dl;
		clock_gettime(CLOCK_MONOTONIC, &dl);
		dl.tv_nsec += SAMPLE_MS * 1000000L;
		if (dl.tv_nsec >= 1000000000L) {
			dl.tv_sec++;
			dl.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&stop_mu);
		while (!stop_requested &&
		       pthread_cond_timedwait(&stop_cv, &stop_mu, &dl) == 0)
			;
		bool stop = stop_requested;
		pthread_mutex_unlock(&stop_mu);
		if (stop)
			break;
		sample_tree(watched, self, &cur);
		uint64_t now = ipch_now_ns();
		if (!no_progress(&prev, &cur))
			quiet_since = now;
		else if (now - quiet_since >=
		         (uint64_t)IPCH_WATCHDOG_WINDOW_MS * 1000000u)
			fire(self);
		prev = cur;
	}
	return NULL;
}

void
ipch_watchdog_start(void)
{
	if (atomic_load(&running) || !ipch_have_proc())
		return;
	watched = getpid();
	main_thread = pthread_self();
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&stop_cv, &ca);
	pthread_condattr_destroy(&ca);
	stop_requested = false;
	sigset_t all, old;
	/* The watcher takes no signal meant for the case. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	if (pthread_create(&watcher, NULL, watch, NULL) == 0)
		atomic_store(&running, true);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (atomic_load(&running))
		ipch_at_owner_exit(ipch_watchdog_stop);
}

void
ipch_watchdog_stop(void)
{
	if (!atomic_load(&running) || pthread_equal(pthread_self(), watcher))
		return;
	pthread_mutex_lock(&stop_mu);
	stop_requested = true;
	pthread_cond_signal(&stop_cv);
	pthread_mutex_unlock(&stop_mu);
	pthread_join(watcher, NULL);
	atomic_store(&running, false);
}

#endif
