#ifndef WEFT_CPROCESS_H
#define WEFT_CPROCESS_H

#include <sys/types.h>

/// Spawns `path` with `argv` and `envp` in a new process group (its pid), stdin from /dev/null,
/// stdout and stderr to the given descriptors. Returns 0 and sets *pid, or an errno value.
int weft_spawn(const char *path, char *const argv[], char *const envp[], int stdout_fd, int stderr_fd, pid_t *pid);

/// Waits for `pid` to exit and reaps it. Returns 0 and sets *code (128 + signal number when a
/// signal ended it) and *signal, or -1 with errno on error; also the CPU time (user + system, seconds) and peak resident set (kB) of the process
/// and every descendant it reaped (bwrap, as PID 1 of its namespace, reaps them all).
int weft_wait_usage(pid_t pid, int *code, int *signal, double *cpu_seconds, long *max_rss_kb);

/// pipe2(2) with O_CLOEXEC, so that pipes never leak into other children.
int weft_pipe(int fds[2]);

#endif
