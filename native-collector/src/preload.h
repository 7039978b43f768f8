/*
 * Shared state of the LD_PRELOAD side: the ring mapping, the per-thread
 * recursion guard, resolved libc functions, enforce-mode decisions and the
 * environment fix-up for exec. Used by the hooks_*.c files only.
 */
#ifndef TRAILHOUND_PRELOAD_H
#define TRAILHOUND_PRELOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

#define TH_EXPORT __attribute__((visibility("default")))
#define TH_PATH_MAX 4096
#define TH_ENV_STACK 256
#define TH_ARGV_STACK 256
#define TH_ARGV_MAX 65536

/* libc functions we interpose, resolved with dlsym(RTLD_NEXT) once. */
#define TH_REAL_FUNCTIONS(X) \
    X(execve) X(execvpe) X(fexecve) X(posix_spawn) X(posix_spawnp) X(system) X(popen) \
    X(connect) X(getaddrinfo) X(open) X(open64) X(openat) X(openat64) X(__open_2) \
    X(__open64_2) X(__openat_2) X(__openat64_2) X(creat) X(creat64) X(fopen) X(fopen64) \
    X(chmod) X(fchmod) X(fchmodat)

enum th_real_id {
#define X(name) TH_REAL_##name,
    TH_REAL_FUNCTIONS(X)
#undef X
    TH_REAL_COUNT
};

/* The real function, or NULL (callers then fail with ENOSYS). */
void *th_real(enum th_real_id id);
#define TH_REAL(name) ((__typeof__(&name))th_real(TH_REAL_##name))

/*
 * Enter a hook: false when the ring is not mapped or this thread is already
 * inside a hook (then the caller just calls the real function). When true,
 * the caller must call th_hook_leave() on every path.
 */
bool th_hook_enter(void);
void th_hook_leave(void);

/* Fills time, pid and ppid; zeroes the rest. */
void th_record_init(struct th_record *rec, uint32_t kind);
/* Publishes to the ring (drops are counted there). */
void th_record_emit(struct th_record *rec);
/* Marks `rec` denied (flag, -EPERM), counts it, publishes it. */
void th_record_deny(struct th_record *rec);

/* Enforce mode: true when the call may proceed (always true in monitor mode). */
bool th_allow_exec(const char *normalized_path);
bool th_allow_write(const char *normalized_path);
bool th_allow_connect(int family, const uint8_t *addr, uint16_t port);

/* Resolves `path` relative to `dirfd` (AT_FDCWD: the cwd) and normalizes it. */
int th_resolve_at(char *out, size_t cap, int dirfd, const char *path);
/* The path of an open descriptor, via readlink of /proc/self/fd/N. */
int th_resolve_fd(char *out, size_t cap, int fd);
/* execvp-style search of PATH for `file` (no '/'); -1 if not found. */
int th_resolve_search(char *out, size_t cap, const char *file);

/*
 * An envp for exec that still carries LD_PRELOAD (with this library) and
 * TRAILHOUND_RING. Returns `envp` itself when nothing is missing; otherwise
 * a copy on the stack (in `env`) or, past TH_ENV_STACK entries, in an
 * mmap'ed array released by th_env_release.
 */
struct th_env {
    char **mapped;
    size_t mapped_size;
    char *ptrs[TH_ENV_STACK];
    char preload[TH_PATH_MAX];
};
char *const *th_env_fix(struct th_env *env, char *const envp[]);
void th_env_release(struct th_env *env);

/* The process's environment variable, read without libc's getenv. */
const char *th_getenv(const char *name);

#endif /* TRAILHOUND_PRELOAD_H */
