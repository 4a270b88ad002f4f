/*
 * Unique names for IPC objects, and the registry that removes them.
 *
 * Every name and key is unique per case process ("owner": the case body),
 * and every object is registered before or right after it is created in a
 * file named after the owner.  Three things remove what is registered:
 *   - the owner's exit (atexit), for a body that returns or fails;
 *   - the ATF cleanup routine (ipch_cleanup), for a body that was killed;
 *   - the sweeper (ipch_sweep), for a run whose kyua was killed, acting only
 *     on registries and names whose owner process no longer exists.
 */
#ifndef IPCH_NAMES_H
#define IPCH_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

enum ipch_obj {
	IPCH_OBJ_POSIX_SHM, /* shm_open name */
	IPCH_OBJ_POSIX_MQ,  /* mq_open name */
	IPCH_OBJ_POSIX_SEM, /* sem_open name */
	IPCH_OBJ_PATH,      /* a file outside the case's work directory */
	IPCH_OBJ_SYSV_MSG,  /* SysV message queue, by key */
	IPCH_OBJ_SYSV_SEM,  /* SysV semaphore set, by key */
	IPCH_OBJ_SYSV_SHM,  /* SysV shared memory segment, by key */
	IPCH_OBJ_PROC,      /* a process, by pid (start time recorded) */
};

/* Prefix of every POSIX IPC name the suite makes (without the '/'). */
#define IPCH_NAME_PREFIX "ipcsuite."

/*
 * A new POSIX IPC name, "/ipcsuite.<owner>.<start>.<pid>.<n>", registered
 * as `kind` for removal.  `buf` gets the name; its size must be >= 64.
 */
const char *ipch_posix_name(enum ipch_obj kind, char *buf, size_t len);

/* A new SysV key of the given kind, registered for removal by key.  Create
 * with IPC_CREAT | IPC_EXCL: the key is unique by construction, and EXCL
 * turns the unlikely collision with a stranger's key into an error. */
key_t ipch_sysv_key(enum ipch_obj kind);

/* Register an object created without a name or key (IPC_PRIVATE id, a
 * file elsewhere): `value` is the id in decimal or the path. */
void ipch_register(enum ipch_obj kind, const char *value);

/* A path for a file, FIFO or socket inside the case's work directory
 * (which kyua removes), unique within the case: "<cwd>/<tag>.<n>". */
const char *ipch_work_path(const char *tag, char *buf, size_t len);

/*
 * Remove every object the registry of this case lists and the registry
 * itself.  Called by the owner's exit and by the ATF cleanup routine.
 */
void ipch_cleanup(void);

/*
 * Remove what killed runs left: registries whose owner is gone and POSIX
 * names with our prefix whose owner is gone.  Touches nothing else.
 * Logs one line per removed object to `log` (may be NULL); returns how
 * many objects it removed.
 */
int ipch_sweep(FILE *log);

/* Directory holding the registries; IPCH_STATE_DIR overrides the default
 * /tmp/ipcsuite-state.<uid>. */
const char *ipch_state_dir(void);

/* Start the registry for this process as a case owner (idempotent).  Done
 * by the first registration and before ipch_spawn forks, so children share
 * their case's registry. */
void ipch_registry_init(void);

/* True in the case body (the registry's owner), false in its children. */
bool ipch_is_case_owner(void);

/* Hooks run at owner exit before objects are removed (spawn kills its
 * children there).  At most a few; the last registered runs first. */
void ipch_at_owner_exit(void (*fn)(void));

#endif
