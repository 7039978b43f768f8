/*
 * Process hooks: the exec family, posix_spawn(p), system and popen.
 *
 * An exec that succeeds never returns, so its record is published before
 * the call (result 0); if the call returns, a second record carries the
 * failure. The guard is released before the real exec so that a vfork()ed
 * child, which shares its parent's thread-local storage, leaves the
 * parent's guard as it found it. The variadic execl* build argv on the
 * stack (mmap past TH_ARGV_STACK entries, E2BIG past TH_ARGV_MAX).
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "preload.h"

extern char **environ;

enum s_exec_how { S_BY_PATH, S_BY_SEARCH, S_BY_FD };

struct s_argv {
    char **v;
    size_t mapped_size;
    char *stack[TH_ARGV_STACK];
};

static int s_call_exec(enum s_exec_how how, int fd, const char *file, char *const argv[],
                       char *const envp[])
{
    void *fn = how == S_BY_PATH     ? th_real(TH_REAL_execve)
               : how == S_BY_SEARCH ? th_real(TH_REAL_execvpe)
                                    : th_real(TH_REAL_fexecve);
    if (!fn) {
        errno = ENOSYS;
        return -1;
    }
    if (how == S_BY_FD)
        return ((__typeof__(&fexecve))fn)(fd, argv, envp);
    return ((__typeof__(&execve))fn)(file, argv, envp);
}

/* The executable as the policy and the record see it: absolute, normalized. */
static void s_exec_target(char *out, size_t cap, enum s_exec_how how, int fd, const char *file)
{
    int rc;
    if (how == S_BY_FD)
        rc = th_resolve_fd(out, cap, fd);
    else if (how == S_BY_SEARCH && file && !strchr(file, '/'))
        rc = th_resolve_search(out, cap, file);
    else
        rc = th_resolve_at(out, cap, AT_FDCWD, file);
    if (rc != 0)
        th_text_copy(out, cap, file ? file : ""); /* not found: as given */
}

static int s_exec(enum s_exec_how how, int fd, const char *file, char *const argv[],
                  char *const envp[])
{
    if (!th_hook_enter())
        return s_call_exec(how, fd, file, argv, envp);

    int saved = errno;
    struct th_record rec;
    char target[TH_PATH_MAX];
    th_record_init(&rec, TH_KIND_PROCESS_EXEC);
    s_exec_target(target, sizeof(target), how, fd, file);
    if (th_text_copy(rec.path, sizeof(rec.path), target) |
        th_text_join_argv(rec.detail, sizeof(rec.detail), argv))
        rec.flags |= TH_FLAG_TRUNCATED;

    if (!th_allow_exec(target)) {
        th_record_deny(&rec);
        th_hook_leave();
        errno = EPERM;
        return -1;
    }
    th_record_emit(&rec);

    struct th_env env;
    char *const *use_env = th_env_fix(&env, envp);
    th_hook_leave();
    errno = saved;
    int rc = s_call_exec(how, fd, file, argv, use_env);
    int err = errno;
    th_env_release(&env);

    if (th_hook_enter()) { /* still here: the exec failed */
        th_record_init(&rec, TH_KIND_PROCESS_EXEC);
        if (th_text_copy(rec.path, sizeof(rec.path), target) |
            th_text_join_argv(rec.detail, sizeof(rec.detail), argv))
            rec.flags |= TH_FLAG_TRUNCATED;
        rec.result = -err;
        th_record_emit(&rec);
        th_hook_leave();
    }
    errno = err;
    return rc;
}

TH_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
    return s_exec(S_BY_PATH, -1, path, argv, envp);
}

TH_EXPORT int execv(const char *path, char *const argv[])
{
    return s_exec(S_BY_PATH, -1, path, argv, environ);
}

TH_EXPORT int execvp(const char *file, char *const argv[])
{
    return s_exec(S_BY_SEARCH, -1, file, argv, environ);
}

TH_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
    return s_exec(S_BY_SEARCH, -1, file, argv, envp);
}

TH_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
    return s_exec(S_BY_FD, fd, NULL, argv, envp);
}

/* Collects arg0 and the following arguments up to NULL; -1 with errno. */
static int s_argv_collect(struct s_argv *out, const char *arg0, va_list ap)
{
    va_list count_ap;
    size_t n = 1;
    va_copy(count_ap, ap);
    while (arg0 && va_arg(count_ap, char *)) {
        if (++n >= TH_ARGV_MAX) {
            va_end(count_ap);
            errno = E2BIG;
            return -1;
        }
    }
    va_end(count_ap);

    out->v = out->stack;
    out->mapped_size = 0;
    if (n + 1 > TH_ARGV_STACK) {
        size_t size = (n + 1) * sizeof(char *);
        void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return -1;
        out->v = p;
        out->mapped_size = size;
    }
    size_t i = 0;
    out->v[i++] = (char *)arg0;
    if (arg0)
        while ((out->v[i++] = va_arg(ap, char *)))
            ;
    out->v[arg0 ? i - 1 : 1] = NULL;
    return 0;
}

static void s_argv_release(struct s_argv *argv)
{
    if (argv->mapped_size)
        munmap(argv->v, argv->mapped_size);
}

/* execl, execlp and execle share one body; `with_envp` reads envp after NULL. */
#define S_EXECL_BODY(how, file, arg, with_envp)                                              \
    do {                                                                                     \
        struct s_argv args;                                                                  \
        va_list ap;                                                                          \
        va_start(ap, arg);                                                                   \
        int rc = s_argv_collect(&args, arg, ap);                                             \
        char *const *envp = environ;                                                         \
        if (rc == 0 && (with_envp))                                                          \
            envp = va_arg(ap, char *const *);                                                \
        va_end(ap);                                                                          \
        if (rc != 0)                                                                         \
            return -1;                                                                       \
        rc = s_exec(how, -1, file, args.v, envp);                                            \
        int err = errno;                                                                     \
        s_argv_release(&args);                                                               \
        errno = err;                                                                         \
        return rc;                                                                           \
    } while (0)

TH_EXPORT int execl(const char *path, const char *arg, ...)
{
    S_EXECL_BODY(S_BY_PATH, path, arg, false);
}

TH_EXPORT int execlp(const char *file, const char *arg, ...)
{
    S_EXECL_BODY(S_BY_SEARCH, file, arg, false);
}

TH_EXPORT int execle(const char *path, const char *arg, ...)
{
    S_EXECL_BODY(S_BY_PATH, path, arg, true);
}

static int s_spawn(bool search, pid_t *pid, const char *file,
                   const posix_spawn_file_actions_t *actions, const posix_spawnattr_t *attr,
                   char *const argv[], char *const envp[])
{
    __typeof__(&posix_spawn) real =
        search ? TH_REAL(posix_spawnp) : TH_REAL(posix_spawn);
    if (!real)
        return ENOSYS;
    if (!th_hook_enter())
        return real(pid, file, actions, attr, argv, envp);

    struct th_record rec;
    char target[TH_PATH_MAX];
    th_record_init(&rec, TH_KIND_PROCESS_SPAWN);
    s_exec_target(target, sizeof(target), search ? S_BY_SEARCH : S_BY_PATH, -1, file);
    if (th_text_copy(rec.path, sizeof(rec.path), target) |
        th_text_join_argv(rec.detail, sizeof(rec.detail), argv))
        rec.flags |= TH_FLAG_TRUNCATED;

    int rc;
    if (!th_allow_exec(target)) {
        th_record_deny(&rec);
        rc = EPERM;
    } else {
        struct th_env env;
        rc = real(pid, file, actions, attr, argv, th_env_fix(&env, envp));
        th_env_release(&env);
        rec.result = -rc;
        th_record_emit(&rec);
    }
    th_hook_leave();
    return rc; /* posix_spawn returns the error number; errno is untouched */
}

TH_EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *actions,
                          const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
    int saved = errno;
    int rc = s_spawn(false, pid, path, actions, attr, argv, envp);
    errno = saved;
    return rc;
}

TH_EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *actions,
                           const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
    int saved = errno;
    int rc = s_spawn(true, pid, file, actions, attr, argv, envp);
    errno = saved;
    return rc;
}

/*
 * system and popen run "/bin/sh -c command": recorded (and checked against
 * the exec policy as /bin/sh) before the call, like exec; a failure adds a
 * second record. They use the process's own environ (see README).
 */
static bool s_shell_begin(struct th_record *rec, const char *command)
{
    th_record_init(rec, TH_KIND_PROCESS_SYSTEM);
    th_text_copy(rec->path, sizeof(rec->path), "/bin/sh");
    if (th_text_copy(rec->detail, sizeof(rec->detail), command))
        rec->flags |= TH_FLAG_TRUNCATED;
    if (!th_allow_exec("/bin/sh")) {
        th_record_deny(rec);
        return false;
    }
    th_record_emit(rec);
    return true;
}

static void s_shell_failed(struct th_record *rec, int err)
{
    struct th_record again = *rec;
    th_record_init(rec, TH_KIND_PROCESS_SYSTEM);
    memcpy(rec->path, again.path, sizeof(rec->path));
    memcpy(rec->detail, again.detail, sizeof(rec->detail));
    rec->flags = again.flags;
    rec->result = -err;
    th_record_emit(rec);
}

TH_EXPORT int system(const char *command)
{
    __typeof__(&system) real = TH_REAL(system);
    if (!real) {
        errno = ENOSYS;
        return -1;
    }
    if (!command || !th_hook_enter())
        return real(command);

    struct th_record rec;
    int rc = -1, err = EPERM, saved = errno;
    if (s_shell_begin(&rec, command)) {
        errno = saved;
        rc = real(command);
        err = errno;
        if (rc == -1)
            s_shell_failed(&rec, err);
    }
    th_hook_leave();
    errno = err;
    return rc;
}

TH_EXPORT FILE *popen(const char *command, const char *type)
{
    __typeof__(&popen) real = TH_REAL(popen);
    if (!real) {
        errno = ENOSYS;
        return NULL;
    }
    if (!command || !th_hook_enter())
        return real(command, type);

    struct th_record rec;
    FILE *f = NULL;
    int err = EPERM, saved = errno;
    if (s_shell_begin(&rec, command)) {
        errno = saved;
        f = real(command, type);
        err = errno;
        if (!f)
            s_shell_failed(&rec, err);
    }
    th_hook_leave();
    errno = err;
    return f;
}
