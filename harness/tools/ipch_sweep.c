/*
 * ipch-sweep: remove what killed ipcsuite runs left behind.  Acts only on
 * registries and POSIX names of the suite whose owning process is gone, so
 * it is safe to run beside a live run.
 *
 *   ipch-sweep        remove and list what was removed
 *   ipch-sweep -q     remove quietly, one summary line if anything was found
 *   ipch-sweep -c     (check) also report, as an error, objects of the
 *                     suite still present whose owner is alive: after a run
 *                     nothing may be left
 */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ipch_names.h"

static int
count_ours(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return 0;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
			n++;
	closedir(d);
	return n;
}

int
main(int argc, char **argv)
{
	int quiet = 0, check = 0, opt;
	while ((opt = getopt(argc, argv, "qc")) != -1) {
		switch (opt) {
		case 'q': quiet = 1; break;
		case 'c': check = 1; break;
		default:
			fprintf(stderr, "usage: ipch-sweep [-q] [-c]\n");
			return 2;
		}
	}
	int n = ipch_sweep(quiet ? NULL : stdout);
	if (n > 0)
		fprintf(quiet ? stderr : stdout,
		    "ipch-sweep: removed %d object(s) left by earlier runs\n", n);
	if (!check)
		return 0;
	int left = count_ours(ipch_state_dir(), "owner.") +
	    count_ours("/dev/shm", IPCH_NAME_PREFIX) +
	    count_ours("/dev/shm", "sem." IPCH_NAME_PREFIX) +
	    count_ours("/dev/mqueue", IPCH_NAME_PREFIX);
	if (left > 0) {
		fprintf(stderr,
		    "ipch-sweep: %d object(s) of a live run still present "
		    "(see %s, /dev/shm, /dev/mqueue)\n",
		    left, ipch_state_dir());
		return 1;
	}
	return 0;
}
