/*
 * Bounded string helpers and path classification for the hooks. Everything
 * here is async-signal-safe: no allocation, no stdio, no locale.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>

#include "internal.h"

bool th_text_copy(char *out, size_t cap, const char *src)
{
    size_t n = src ? strnlen(src, cap) : 0;
    bool truncated = n == cap;
    if (truncated)
        n = cap - 1;
    memcpy(out, src ? src : "", n);
    out[n] = '\0';
    return truncated;
}

bool th_text_append(char *out, size_t cap, char sep, const char *item)
{
    size_t used = strnlen(out, cap);
    if (used >= cap - 1)
        return true;
    if (used > 0)
        out[used++] = sep;
    return th_text_copy(out + used, cap - used, item);
}

bool th_text_join_argv(char *out, size_t cap, char *const argv[])
{
    out[0] = '\0';
    if (!argv)
        return false;
    for (size_t i = 0; argv[i]; i++) {
        size_t used = strnlen(out, cap);
        if (i > 0) {
            if (used + 1 >= cap)
                return true;
            out[used++] = '\x1f';
            out[used] = '\0';
        }
        if (th_text_copy(out + used, cap - used, argv[i]))
            return true;
    }
    return false;
}

int th_text_format_u64(char *out, size_t cap, uint64_t v)
{
    char digits[20];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    if (n + 1 > cap)
        return -1;
    for (size_t i = 0; i < n; i++)
        out[i] = digits[n - 1 - i];
    out[n] = '\0';
    return (int)n;
}

static size_t s_format_v4(char *p, const uint8_t *a)
{
    char *start = p;
    for (int i = 0; i < 4; i++) {
        if (i)
            *p++ = '.';
        p += th_text_format_u64(p, 4, a[i]);
    }
    *p = '\0';
    return (size_t)(p - start);
}

static size_t s_format_hex16(char *p, unsigned v)
{
    static const char hex[] = "0123456789abcdef";
    char *start = p;
    bool started = false;
    for (int shift = 12; shift >= 0; shift -= 4) {
        unsigned d = (v >> shift) & 0xf;
        if (d || started || shift == 0) {
            *p++ = hex[d];
            started = true;
        }
    }
    return (size_t)(p - start);
}

int th_text_format_addr(char *out, size_t cap, int family, const void *addr)
{
    char buf[64];
    char *p = buf;
    const uint8_t *a = addr;

    if (family == AF_INET) {
        p += s_format_v4(p, a);
    } else if (family == AF_INET6) {
        unsigned w[8];
        for (int i = 0; i < 8; i++)
            w[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
        /* The longest run (>= 2) of zero words becomes "::" (RFC 5952). */
        int best = -1, best_len = 0;
        for (int i = 0; i < 8;) {
            int j = i;
            while (j < 8 && w[j] == 0)
                j++;
            if (j - i > best_len && j - i >= 2) {
                best = i;
                best_len = j - i;
            }
            i = j > i ? j : i + 1;
        }
        /* ::ffff:a.b.c.d and ::a.b.c.d print the tail as IPv4, like glibc. */
        bool v4_tail = best == 0 && (best_len == 6 || (best_len == 5 && w[5] == 0xffff));
        for (int i = 0; i < 8; i++) {
            if (i == best) {
                *p++ = ':';
                if (i == 0)
                    *p++ = ':';
                i += best_len - 1;
                continue;
            }
            if (v4_tail && i == 6) {
                p += s_format_v4(p, a + 12);
                break;
            }
            p += s_format_hex16(p, w[i]);
            if (i < 7)
                *p++ = ':';
        }
        *p = '\0';
    } else {
        return th_raise_error(TH_ERROR_INVALID_ARGUMENT);
    }
    if ((size_t)(p - buf) + 1 > cap)
        return th_raise_error(TH_ERROR_INVALID_ARGUMENT);
    memcpy(out, buf, (size_t)(p - buf) + 1);
    return 0;
}

int th_path_normalize(char *out, size_t cap, const char *base, const char *path)
{
    size_t n = 0;

    if (cap < 2 || !path)
        return th_raise_error(TH_ERROR_INVALID_ARGUMENT);
    out[n++] = '/';
    /* Two passes over the same component logic: base (if relative), then path. */
    const char *parts[2] = {path[0] == '/' ? NULL : base, path};
    for (int k = 0; k < 2; k++) {
        const char *s = parts[k];
        if (!s)
            continue;
        if (k == 0 && s[0] != '/')
            return th_raise_error(TH_ERROR_INVALID_ARGUMENT);
        while (*s) {
            while (*s == '/')
                s++;
            const char *end = s;
            while (*end && *end != '/')
                end++;
            size_t len = (size_t)(end - s);
            if (len == 0 || (len == 1 && s[0] == '.')) {
                /* skip */
            } else if (len == 2 && s[0] == '.' && s[1] == '.') {
                if (n > 1) {
                    n--; /* drop the trailing '/' then the component */
                    while (n > 1 && out[n - 1] != '/')
                        n--;
                }
            } else {
                if (n + len + 2 > cap)
                    return th_raise_error(TH_ERROR_INVALID_ARGUMENT);
                memcpy(out + n, s, len);
                n += len;
                out[n++] = '/';
            }
            s = end;
        }
    }
    if (n > 1)
        n--; /* no trailing slash */
    out[n] = '\0';
    return 0;
}

static bool s_has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* "<digits>/" at s; returns the position after the slash, or NULL. */
static const char *s_skip_pid(const char *s)
{
    const char *p = s;
    while (*p >= '0' && *p <= '9')
        p++;
    return (p != s && *p == '/') ? p + 1 : NULL;
}

bool th_path_is_sensitive_read(const char *path)
{
    if (s_has_prefix(path, "/proc/")) {
        const char *rest = path + 6;
        if (s_has_prefix(rest, "self/"))
            rest += 5;
        else if (s_has_prefix(rest, "thread-self/"))
            rest += 12;
        else if (!(rest = s_skip_pid(rest)))
            return false;
        if (s_has_prefix(rest, "task/") && !(rest = s_skip_pid(rest + 5)))
            return false;
        return strcmp(rest, "environ") == 0;
    }
    return strstr(path, "/.aws/credentials") != NULL || strstr(path, "/var/run/secrets/") != NULL ||
           s_has_prefix(path, "/run/secrets/");
}

bool th_path_is_under_tmp(const char *path)
{
    return s_has_prefix(path, "/tmp/");
}

bool th_open_flags_write(int flags)
{
    if ((flags & O_PATH) == O_PATH)
        return false;
    return (flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC)) != 0 ||
           (flags & O_TMPFILE) == O_TMPFILE;
}

int th_fopen_mode_flags(const char *mode)
{
    int flags;
    switch (mode ? mode[0] : 0) {
    case 'r': flags = O_RDONLY; break;
    case 'w': flags = O_WRONLY | O_CREAT | O_TRUNC; break;
    case 'a': flags = O_WRONLY | O_CREAT | O_APPEND; break;
    default: return -1;
    }
    for (const char *m = mode + 1; *m && *m != ','; m++) {
        if (*m == '+')
            flags = (flags & ~O_ACCMODE) | O_RDWR;
        else if (*m == 'e')
            flags |= O_CLOEXEC;
        else if (*m == 'x')
            flags |= O_EXCL;
    }
    return flags;
}
