/*
 * Names, keys and the per-case registry of what to remove.
 *
 * Registry file: <state dir>/owner.<pid>.<starttime>, one object a line:
 *   shm /ipcsuite.…      mq /ipcsuite.…      sem /ipcsuite.…
 *   path /abs/file       proc <pid> <starttime>
 *   sysv_msg key 0x…     sysv_msg id <n>      (likewise sysv_sem, sysv_shm)
 * Lines are appended with one write(2) each, so children of the case can
 * append concurrently.  Removing an object that is already gone is fine:
 * every remover ignores ENOENT/EINVAL.
 */

#include "ipch_names.h"

#include <atf-c.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <mqueue.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ipch_proc.h"

#define LINK_NAME "ipch-registry"

static const char *const kind_words[] = {
    [IPCH_OBJ_POSIX_SHM] = "shm",
    [IPCH_OBJ_POSIX_MQ] = "mq",
    [IPCH_OBJ_POSIX_SEM] = "sem",
    [IPCH_OBJ_PATH] = "path",
    [IPCH_OBJ_SYSV_MSG] = "sysv_msg",
    [IPCH_OBJ_SYSV_SEM] = "sysv_sem",
    [IPCH_OBJ_SYSV_SHM] = "sysv_shm",
    [IPCH_OBJ_PROC] = "proc",
};

static pid_t owner_pid;
static unsigned long long owner_start;
static char registry_path[PATH_MAX + 64];
static char link_path[PATH_MAX + 32];
static unsigned long name_seq;

static void (*exit_hooks[4])(void);
static int n_exit_hooks;

const char *
ipch_state_dir(void)
{
	static char dir[PATH_MAX];
	const char *env = getenv("IPCH_STATE_DIR");

	if (env != NULL && *env != '\0')
		return env;
	if (dir[0] == '\0')
		snprintf(dir, sizeof(dir), "/tmp/ipcsuite-state.%ld",
		    (long)getuid());
	return dir;
}

static void
die(const char *what)
{
	/* The registry is what makes the no-leftovers promise hold; a case
	 * that cannot keep it must not run. */
	fprintf(stderr, "ipch: %s: %s\n", what, strerror(errno));
	atf_tc_fail("harness registry: %s: %s (check %s is writable)", what,
	    strerror(errno), ipch_state_dir());
}

/* The state dir must be a directory of ours, not something planted in /tmp. */
static int
make_state_dir(void)
{
	const char *dir = ipch_state_dir();
	struct stat st;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		return -1;
	if (lstat(dir, &st) == -1)
		return -1;
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid()) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

static void
run_owner_exit(void)
{
	if (getpid() != owner_pid)
		return; /* a child that called exit(): not the owner */
	/* Last registered runs first, as with atexit: the watchdog (started
	 * after the spawn hook) stops before the tree is killed. */
	for (int i = n_exit_hooks - 1; i >= 0; i--)
		exit_hooks[i]();
	ipch_cleanup();
}

bool
ipch_is_case_owner(void)
{
	return registry_path[0] != '\0' && getpid() == owner_pid;
}

void
ipch_at_owner_exit(void (*fn)(void))
{
	for (int i = 0; i < n_exit_hooks; i++)
		if (exit_hooks[i] == fn)
			return;
	if (n_exit_hooks < (int)(sizeof(exit_hooks) / sizeof(exit_hooks[0])))
		exit_hooks[n_exit_hooks++] = fn;
}

void
ipch_registry_init(void)
{
	if (registry_path[0] != '\0')
		return;
	owner_pid = getpid();
	owner_start = ipch_proc_starttime(owner_pid);
	for (int tries = 0;; tries++) {
		if (make_state_dir() == -1)
			die("cannot make the state directory");
		snprintf(registry_path, sizeof(registry_path),
		    "%s/owner.%ld.%llu", ipch_state_dir(), (long)owner_pid,
		    owner_start);
		int fd = open(registry_path,
		    O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (fd >= 0) {
			close(fd);
			break;
		}
		/* A sweeper may have removed the empty directory between
		 * mkdir and open: make it again. */
		if (errno != ENOENT || tries > 10)
			die("cannot create the registry");
	}
	char cwd[PATH_MAX];
	if (getcwd(cwd, sizeof(cwd)) != NULL) {
		snprintf(link_path, sizeof(link_path), "%s/%s", cwd, LINK_NAME);
		/* Best effort: without the link only the owner's exit and the
		 * sweeper can clean, which still covers every exit but a kill.
		 */
		(void)unlink(link_path);
		if (symlink(registry_path, link_path) == -1)
			link_path[0] = '\0';
	}
	atexit(run_owner_exit);
}

static void
append(const char *line)
{
	ipch_registry_init();
	int fd = open(registry_path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd == -1)
		die("cannot open the registry");
	size_t len = strlen(line);
	if (write(fd, line, len) != (ssize_t)len)
		die("cannot append to the registry");
	close(fd);
}

void
ipch_register(enum ipch_obj kind, const char *value)
{
	char line[PATH_MAX + 96];
	if (kind == IPCH_OBJ_SYSV_MSG || kind == IPCH_OBJ_SYSV_SEM ||
	    kind == IPCH_OBJ_SYSV_SHM)
		snprintf(
		    line, sizeof(line), "%s id %s\n", kind_words[kind], value);
	else
		snprintf(
		    line, sizeof(line), "%s %s\n", kind_words[kind], value);
	append(line);
}

const char *
ipch_posix_name(enum ipch_obj kind, char *buf, size_t len)
{
	ipch_registry_init();
	snprintf(buf, len, "/" IPCH_NAME_PREFIX "%ld.%llu.%ld.%lu",
	    (long)owner_pid, owner_start, (long)getpid(), ++name_seq);
	ipch_register(kind, buf);
	return buf;
}

static uint32_t
mix(uint32_t h, uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		h ^= (uint32_t)(v & 0xff);
		h *= 16777619u; /* FNV-1a */
		v >>= 8;
	}
	return h;
}

key_t
ipch_sysv_key(enum ipch_obj kind)
{
	ipch_registry_init();
	uint32_t h = 2166136261u;
	h = mix(h, (uint64_t)owner_pid);
	h = mix(h, owner_start);
	h = mix(h, (uint64_t)getpid());
	h = mix(h, ++name_seq);
	key_t key = (key_t)(h & 0x7fffffff);
	if (key == IPC_PRIVATE)
		key = 1;
	char line[64];
	snprintf(line, sizeof(line), "%s key 0x%lx\n", kind_words[kind],
	    (unsigned long)key);
	append(line);
	return key;
}

const char *
ipch_work_path(const char *tag, char *buf, size_t len)
{
	char cwd[PATH_MAX];
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		die("getcwd");
	/* len is the caller's; truncation would only shorten a work path. */
	snprintf(
	    buf, len, "%s/%s.%ld.%lu", cwd, tag, (long)getpid(), ++name_seq);
	return buf;
}

/* Remove a SysV object given "key 0x…" or "id N" (already split). */
static int
remove_sysv(const char *kind, const char *how, const char *val)
{
	long v = strtol(val, NULL, 0);
	int id = (int)v;
	if (strcmp(how, "key") == 0) {
		key_t key = (key_t)v;
		if (strcmp(kind, "sysv_msg") == 0)
			id = msgget(key, 0);
		else if (strcmp(kind, "sysv_sem") == 0)
			id = semget(key, 0, 0);
		else
			id = shmget(key, 0, 0);
		if (id == -1)
			return -1;
	}
	if (strcmp(kind, "sysv_msg") == 0)
		return msgctl(id, IPC_RMID, NULL);
	if (strcmp(kind, "sysv_sem") == 0)
		return semctl(id, 0, IPC_RMID);
	return shmctl(id, IPC_RMID, NULL);
}

/* Remove one registered object; 1 when something was removed. */
static int
remove_line(char *line, FILE *log)
{
	char *save = NULL;
	char *kind = strtok_r(line, " \n", &save);
	char *a = strtok_r(NULL, " \n", &save);
	char *b = strtok_r(NULL, " \n", &save);
	int rc = -1;

	if (kind == NULL || a == NULL)
		return 0;
	if (strcmp(kind, "shm") == 0)
		rc = shm_unlink(a);
	else if (strcmp(kind, "mq") == 0)
		rc = mq_unlink(a);
	else if (strcmp(kind, "sem") == 0)
		rc = sem_unlink(a);
	else if (strcmp(kind, "path") == 0)
		rc = unlink(a) == 0 ? 0 : rmdir(a);
	else if (strncmp(kind, "sysv_", 5) == 0 && b != NULL)
		rc = remove_sysv(kind, a, b);
	else if (strcmp(kind, "proc") == 0 && b != NULL) {
		pid_t pid = (pid_t)strtol(a, NULL, 10);
		if (pid > 1 && pid != getpid() &&
		    ipch_proc_alive(pid, strtoull(b, NULL, 10)))
			rc = kill(pid, SIGKILL);
	}
	if (rc == 0 && log != NULL)
		fprintf(log, "removed %s %s%s%s\n", kind, a, b ? " " : "",
		    b ? b : "");
	return rc == 0;
}

/* Processes first, so nothing recreates an object as it is removed. */
static int
remove_registry(const char *path, FILE *log)
{
	int removed = 0;
	for (int pass = 0; pass < 2; pass++) {
		FILE *f = fopen(path, "re");
		if (f == NULL)
			return removed;
		char line[PATH_MAX + 64];
		while (fgets(line, sizeof(line), f) != NULL) {
			int is_proc = strncmp(line, "proc ", 5) == 0;
			if (is_proc == (pass == 0))
				removed += remove_line(line, log);
		}
		fclose(f);
	}
	unlink(path);
	rmdir(ipch_state_dir()); /* only succeeds when empty */
	return removed;
}

void
ipch_cleanup(void)
{
	char target[PATH_MAX];

	if (registry_path[0] != '\0' && getpid() == owner_pid) {
		/* The link stays, dangling, in the work dir kyua removes: it
		 * marks the dir as a finished ipcsuite case's for ipch-sweep,
		 * should kyua be killed before removing it. */
		remove_registry(registry_path, NULL);
		return;
	}
	/* The ATF cleanup routine: a fresh process in the same work dir. */
	ssize_t n = readlink(LINK_NAME, target, sizeof(target) - 1);
	if (n <= 0)
		return;
	target[n] = '\0';
	remove_registry(target, NULL);
	unlink(LINK_NAME);
}

/* Parse "<pid>.<start>" at s; true when that owner is gone. */
static bool
owner_gone(const char *s)
{
	char *end;
	long pid = strtol(s, &end, 10);
	if (*end != '.' || pid <= 0)
		return false;
	unsigned long long start = strtoull(end + 1, &end, 10);
	if (*end != '.' && *end != '\0')
		return false;
	return !ipch_proc_alive((pid_t)pid, start);
}

/* Remove POSIX names of ours in dir whose owner is gone.  prefix is what a
 * directory entry starts with ("ipcsuite." or "sem.ipcsuite."). */
static int
sweep_names(const char *dir, const char *prefix, int (*rm)(const char *),
    const char *what, FILE *log)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return 0;
	int removed = 0;
	size_t plen = strlen(prefix);
	const char *skip = prefix + plen - strlen(IPCH_NAME_PREFIX);
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, prefix, plen) != 0 ||
		    !owner_gone(e->d_name + plen))
			continue;
		char name[NAME_MAX + 2];
		snprintf(
		    name, sizeof(name), "/%s", e->d_name + (skip - prefix));
		if (rm(name) == 0) {
			removed++;
			if (log != NULL)
				fprintf(log, "removed %s %s\n", what, name);
		}
	}
	closedir(d);
	return removed;
}

int
ipch_sweep(FILE *log)
{
	int removed = 0;
	const char *dir = ipch_state_dir();
	DIR *d = opendir(dir);

	if (d != NULL) {
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			if (strncmp(e->d_name, "owner.", 6) != 0 ||
			    !owner_gone(e->d_name + 6))
				continue;
			char path[PATH_MAX + NAME_MAX + 2];
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			removed += remove_registry(path, log);
		}
		closedir(d);
		rmdir(dir);
	}
	removed +=
	    sweep_names("/dev/shm", IPCH_NAME_PREFIX, shm_unlink, "shm", log);
	removed += sweep_names(
	    "/dev/shm", "sem." IPCH_NAME_PREFIX, sem_unlink, "sem", log);
	removed +=
	    sweep_names("/dev/mqueue", IPCH_NAME_PREFIX, mq_unlink, "mq", log);
	return removed;
}
