/*
 * File hooks: the open family, fopen and creat (sensitive reads, writes under
 * /tmp; enforce mode checks every write against the write: rules), and the
 * chmod family (an execute bit set on a file under /tmp).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "preload.h"

/* Fortified entry points (glibc's bits/fcntl2.h) that callers may bind to. */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);

enum s_verdict { S_PASS, S_RECORD, S_DENY };

/*
 * Classifies an open: S_RECORD fills `rec` (kind, path, flags), S_DENY also
 * means the write is refused, S_PASS means nothing to record.
 */
static enum s_verdict s_classify_open(struct th_record *rec, int dirfd, const char *path, int flags)
{
    char norm[TH_PATH_MAX];
    bool write = th_open_flags_write(flags);
    uint32_t kind = 0;
    bool deny = false;

    if (th_resolve_at(norm, sizeof(norm), dirfd, path) != 0) {
        if (!write || th_allow_write("")) /* unresolvable: only enforce cares */
            return S_PASS;
        deny = true;
        th_text_copy(norm, sizeof(norm), path ? path : "");
    } else {
        deny = write && !th_allow_write(norm);
    }
    if (!write || (flags & O_ACCMODE) == O_RDWR)
        if (th_path_is_sensitive_read(norm))
            kind = TH_KIND_FILE_READ_SENSITIVE;
    if (!kind && write && (deny || th_path_is_under_tmp(norm)))
        kind = TH_KIND_FILE_WRITE_TMP; /* a denied write is kind 7 wherever it was */
    if (!kind)
        return S_PASS;

    th_record_init(rec, kind);
    rec->arg = (uint32_t)flags;
    if (th_text_copy(rec->path, sizeof(rec->path), norm))
        rec->flags |= TH_FLAG_TRUNCATED;
    return deny ? S_DENY : S_RECORD;
}

/* One body for every open-like hook; CALL is the real call returning an int fd. */
#define S_OPEN_HOOK(real_id, dirfd, path, flags, CALL)                                     \
    do {                                                                                   \
        __typeof__(&real_id) real = TH_REAL(real_id);                                      \
        if (!real) {                                                                       \
            errno = ENOSYS;                                                                \
            return -1;                                                                     \
        }                                                                                  \
        if (!th_hook_enter())                                                              \
            return CALL;                                                                   \
        int saved = errno;                                                                 \
        struct th_record rec;                                                              \
        enum s_verdict verdict = s_classify_open(&rec, dirfd, path, flags);                \
        int rc = -1;                                                                       \
        if (verdict == S_DENY) {                                                           \
            th_record_deny(&rec);                                                          \
            saved = EPERM;                                                                 \
        } else {                                                                           \
            errno = saved;                                                                 \
            rc = CALL;                                                                     \
            saved = errno;                                                                 \
            if (verdict == S_RECORD) {                                                     \
                rec.result = rc < 0 ? -saved : 0;                                          \
                th_record_emit(&rec);                                                      \
            }                                                                              \
        }                                                                                  \
        th_hook_leave();                                                                   \
        errno = saved;                                                                     \
        return rc;                                                                         \
    } while (0)

static mode_t s_open_mode(int flags, va_list ap)
{
    return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? (mode_t)va_arg(ap, int) : 0;
}

#define S_VA_MODE(flags, last)          \
    mode_t mode;                        \
    do {                                \
        va_list ap;                     \
        va_start(ap, last);             \
        mode = s_open_mode(flags, ap);  \
        va_end(ap);                     \
    } while (0)

TH_EXPORT int open(const char *path, int flags, ...)
{
    S_VA_MODE(flags, flags);
    S_OPEN_HOOK(open, AT_FDCWD, path, flags, real(path, flags, mode));
}

TH_EXPORT int open64(const char *path, int flags, ...)
{
    S_VA_MODE(flags, flags);
    S_OPEN_HOOK(open64, AT_FDCWD, path, flags, real(path, flags, mode));
}

TH_EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
    S_VA_MODE(flags, flags);
    S_OPEN_HOOK(openat, dirfd, path, flags, real(dirfd, path, flags, mode));
}

TH_EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
    S_VA_MODE(flags, flags);
    S_OPEN_HOOK(openat64, dirfd, path, flags, real(dirfd, path, flags, mode));
}

TH_EXPORT int __open_2(const char *path, int flags)
{
    S_OPEN_HOOK(__open_2, AT_FDCWD, path, flags, real(path, flags));
}

TH_EXPORT int __open64_2(const char *path, int flags)
{
    S_OPEN_HOOK(__open64_2, AT_FDCWD, path, flags, real(path, flags));
}

TH_EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
    S_OPEN_HOOK(__openat_2, dirfd, path, flags, real(dirfd, path, flags));
}

TH_EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
    S_OPEN_HOOK(__openat64_2, dirfd, path, flags, real(dirfd, path, flags));
}

TH_EXPORT int creat(const char *path, mode_t mode)
{
    S_OPEN_HOOK(creat, AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC, real(path, mode));
}

TH_EXPORT int creat64(const char *path, mode_t mode)
{
    S_OPEN_HOOK(creat64, AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC, real(path, mode));
}

static FILE *s_fopen(FILE *(*real)(const char *, const char *), const char *path, const char *mode)
{
    int flags = th_fopen_mode_flags(mode);
    if (flags < 0 || !th_hook_enter())
        return real(path, mode);
    int saved = errno;
    struct th_record rec;
    enum s_verdict verdict = s_classify_open(&rec, AT_FDCWD, path, flags);
    FILE *f = NULL;
    if (verdict == S_DENY) {
        th_record_deny(&rec);
        saved = EPERM;
    } else {
        errno = saved;
        f = real(path, mode);
        saved = errno;
        if (verdict == S_RECORD) {
            rec.result = f ? 0 : -saved;
            th_record_emit(&rec);
        }
    }
    th_hook_leave();
    errno = saved;
    return f;
}

TH_EXPORT FILE *fopen(const char *path, const char *mode)
{
    __typeof__(&fopen) real = TH_REAL(fopen);
    if (!real) {
        errno = ENOSYS;
        return NULL;
    }
    return s_fopen(real, path, mode);
}

TH_EXPORT FILE *fopen64(const char *path, const char *mode)
{
    __typeof__(&fopen64) real = TH_REAL(fopen64);
    if (!real) {
        errno = ENOSYS;
        return NULL;
    }
    return s_fopen(real, path, mode);
}

/* Records the chmod after the call when `resolved` is under /tmp. */
static void s_record_chmod(const char *resolved, mode_t mode, int rc, int err)
{
    struct th_record rec;
    if (!th_path_is_under_tmp(resolved))
        return;
    th_record_init(&rec, TH_KIND_FILE_CHMOD_EXEC);
    rec.arg = (uint32_t)mode;
    rec.result = rc < 0 ? -err : 0;
    if (th_text_copy(rec.path, sizeof(rec.path), resolved))
        rec.flags |= TH_FLAG_TRUNCATED;
    th_record_emit(&rec);
}

/* One body for the chmod family; RESOLVE fills `norm` (0 on success). */
#define S_CHMOD_HOOK(real_id, mode, RESOLVE, CALL)                                         \
    do {                                                                                   \
        __typeof__(&real_id) real = TH_REAL(real_id);                                      \
        if (!real) {                                                                       \
            errno = ENOSYS;                                                                \
            return -1;                                                                     \
        }                                                                                  \
        if (!((mode) & 0111) || !th_hook_enter())                                          \
            return CALL;                                                                   \
        int saved = errno;                                                                 \
        char norm[TH_PATH_MAX];                                                            \
        bool known = (RESOLVE) == 0;                                                       \
        errno = saved;                                                                     \
        int rc = CALL;                                                                     \
        saved = errno;                                                                     \
        if (known)                                                                         \
            s_record_chmod(norm, mode, rc, saved);                                         \
        th_hook_leave();                                                                   \
        errno = saved;                                                                     \
        return rc;                                                                         \
    } while (0)

TH_EXPORT int chmod(const char *path, mode_t mode)
{
    S_CHMOD_HOOK(chmod, mode, th_resolve_at(norm, sizeof(norm), AT_FDCWD, path), real(path, mode));
}

TH_EXPORT int fchmodat(int dirfd, const char *path, mode_t mode, int flags)
{
    S_CHMOD_HOOK(fchmodat, mode, th_resolve_at(norm, sizeof(norm), dirfd, path),
                 real(dirfd, path, mode, flags));
}

TH_EXPORT int fchmod(int fd, mode_t mode)
{
    S_CHMOD_HOOK(fchmod, mode, th_resolve_fd(norm, sizeof(norm), fd), real(fd, mode));
}
