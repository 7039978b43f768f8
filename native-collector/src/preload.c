/*
 * LD_PRELOAD state: maps the ring once per process (constructor, or lazily
 * from the first hook), compiles the enforce-mode policy, remembers the
 * environment children need, and gives the hooks their shared helpers.
 * Everything a hook calls after initialization is async-signal-safe.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "preload.h"

extern char **environ;

enum { S_UNINIT = 0, S_INITIALIZING, S_READY, S_DISABLED };

static int s_state;
static struct th_ring s_ring;
static uint32_t s_mode;
static uint32_t s_fail_mode;
static bool s_policy_ok;
static struct th_policy s_policy;
static char s_self_path[TH_PATH_MAX];
static char s_env_preload[TH_PATH_MAX]; /* "LD_PRELOAD=..." or "" */
static char s_env_ring[TH_PATH_MAX];    /* "TRAILHOUND_RING=..." or "" */

static TH_TLS int s_guard;
static TH_TLS int s_resolving;

static const char *const s_real_names[TH_REAL_COUNT] = {
#define X(name) #name,
    TH_REAL_FUNCTIONS(X)
#undef X
};
static void *s_real[TH_REAL_COUNT];

void *th_real(enum th_real_id id)
{
    void *fn = __atomic_load_n(&s_real[id], __ATOMIC_ACQUIRE);
    if (fn || s_resolving)
        return fn;
    s_resolving = 1; /* dlsym must not recurse into a hook that resolves */
    fn = dlsym(RTLD_NEXT, s_real_names[id]);
    s_resolving = 0;
    __atomic_store_n(&s_real[id], fn, __ATOMIC_RELEASE);
    return fn;
}

const char *th_getenv(const char *name)
{
    size_t n = strlen(name);
    for (char **e = environ; e && *e; e++)
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
            return *e + n + 1;
    return NULL;
}

static void s_remember_env(char *out, const char *name, const char *value)
{
    size_t n = strlen(name);
    out[0] = '\0';
    if (!value || n + 1 + strlen(value) + 1 > TH_PATH_MAX)
        return;
    memcpy(out, name, n);
    out[n] = '=';
    memcpy(out + n + 1, value, strlen(value) + 1);
}

static void s_init(void)
{
    int expected = S_UNINIT;
    if (!__atomic_compare_exchange_n(&s_state, &expected, S_INITIALIZING, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
        return;
    int saved_errno = errno;
    int state = S_DISABLED;
    s_guard++;

    for (int i = 0; i < TH_REAL_COUNT; i++)
        th_real((enum th_real_id)i);

    const char *ring_path = th_getenv("TRAILHOUND_RING");
    if (th_ring_open(&s_ring, ring_path ? ring_path : "/tmp/.trailhound/ring") != 0)
        goto done; /* fail open: no ring, no hooks */

    s_mode = s_ring.header->mode;
    s_fail_mode = s_ring.header->fail_mode;
    if (s_mode == TH_MODE_ENFORCE)
        s_policy_ok = th_policy_parse(&s_policy, s_ring.header->policy, TH_POLICY_SIZE) == 0;

    Dl_info info;
    if (dladdr((void *)&s_init, &info) && info.dli_fname)
        th_text_copy(s_self_path, sizeof(s_self_path), info.dli_fname);
    const char *preload = th_getenv("LD_PRELOAD");
    s_remember_env(s_env_preload, "LD_PRELOAD", preload ? preload : (s_self_path[0] ? s_self_path : NULL));
    s_remember_env(s_env_ring, "TRAILHOUND_RING", ring_path);
    state = S_READY;

done:
    s_guard--;
    __atomic_store_n(&s_state, state, __ATOMIC_RELEASE);
    errno = saved_errno;
}

__attribute__((constructor)) static void s_constructor(void)
{
    s_init();
}

bool th_hook_enter(void)
{
    if (s_guard)
        return false;
    int state = __atomic_load_n(&s_state, __ATOMIC_ACQUIRE);
    if (state == S_UNINIT) { /* a hook ran before our constructor */
        s_init();
        state = __atomic_load_n(&s_state, __ATOMIC_ACQUIRE);
    }
    if (state != S_READY)
        return false;
    s_guard = 1;
    return true;
}

void th_hook_leave(void)
{
    s_guard = 0;
}

void th_record_init(struct th_record *rec, uint32_t kind)
{
    struct timespec ts;
    memset(rec, 0, sizeof(*rec));
    rec->kind = kind;
    if (clock_gettime(CLOCK_REALTIME, &ts) == 0)
        rec->time_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    rec->pid = (int32_t)getpid();
    rec->ppid = (int32_t)getppid();
}

void th_record_emit(struct th_record *rec)
{
    th_ring_write(&s_ring, rec);
}

void th_record_deny(struct th_record *rec)
{
    rec->flags |= TH_FLAG_DENIED;
    rec->result = -EPERM;
    __atomic_fetch_add(&s_ring.header->denied, 1, __ATOMIC_RELAXED);
    th_ring_write(&s_ring, rec);
}

/* Monitor mode allows all; a corrupt policy allows all only when failing open. */
static bool s_enforce_decides(bool *allowed)
{
    if (s_mode != TH_MODE_ENFORCE) {
        *allowed = true;
        return true;
    }
    if (!s_policy_ok) {
        *allowed = s_fail_mode != TH_FAIL_CLOSED;
        return true;
    }
    return false;
}

bool th_allow_exec(const char *path)
{
    bool allowed;
    return s_enforce_decides(&allowed) ? allowed : th_policy_allows_exec(&s_policy, path);
}

bool th_allow_write(const char *path)
{
    bool allowed;
    return s_enforce_decides(&allowed) ? allowed : th_policy_allows_write(&s_policy, path);
}

bool th_allow_connect(int family, const uint8_t *addr, uint16_t port)
{
    bool allowed;
    return s_enforce_decides(&allowed) ? allowed
                                       : th_policy_allows_connect(&s_policy, family, addr, port);
}

int th_resolve_fd(char *out, size_t cap, int fd)
{
    char link[32] = "/proc/self/fd/";
    if (fd < 0 || th_text_format_u64(link + 14, sizeof(link) - 14, (uint64_t)fd) < 0)
        return -1;
    long n = syscall(SYS_readlinkat, AT_FDCWD, link, out, cap - 1);
    if (n <= 0 || out[0] != '/')
        return -1;
    out[n] = '\0';
    return 0;
}

int th_resolve_at(char *out, size_t cap, int dirfd, const char *path)
{
    char base[TH_PATH_MAX];
    if (!path)
        return -1;
    if (path[0] == '/')
        return th_path_normalize(out, cap, NULL, path);
    if (dirfd == AT_FDCWD) {
        if (syscall(SYS_getcwd, base, sizeof(base)) <= 0 || base[0] != '/')
            return -1;
    } else if (th_resolve_fd(base, sizeof(base), dirfd) != 0) {
        return -1;
    }
    return th_path_normalize(out, cap, base, path);
}

int th_resolve_search(char *out, size_t cap, const char *file)
{
    char candidate[TH_PATH_MAX];
    const char *path = th_getenv("PATH");
    if (!path)
        path = "/bin:/usr/bin"; /* glibc's default */
    size_t file_len = strlen(file);

    for (const char *p = path;; p++) {
        const char *end = strchrnul(p, ':');
        size_t dir_len = (size_t)(end - p);
        if (dir_len + 1 + file_len + 1 <= sizeof(candidate)) {
            memcpy(candidate, p, dir_len);
            if (dir_len == 0) /* an empty entry is the cwd */
                candidate[dir_len++] = '.';
            candidate[dir_len] = '/';
            memcpy(candidate + dir_len + 1, file, file_len + 1);
            if (syscall(SYS_faccessat, AT_FDCWD, candidate, X_OK, 0) == 0)
                return th_resolve_at(out, cap, AT_FDCWD, candidate);
        }
        if (!*end)
            return -1;
        p = end;
    }
}

static bool s_has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* out = a b c, NUL-terminated; false if it does not fit. */
static bool s_concat(char *out, size_t cap, const char *a, const char *b, const char *c)
{
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    if (la + lb + lc + 1 > cap)
        return false;
    memcpy(out, a, la);
    memcpy(out + la, b, lb);
    memcpy(out + la + lb, c, lc + 1);
    return true;
}

char *const *th_env_fix(struct th_env *env, char *const envp[])
{
    const char *const preload_name = "LD_PRELOAD=";
    size_t n = 0;
    long preload_at = -1;
    bool has_ring = false;

    env->mapped = NULL;
    for (; envp && envp[n]; n++) {
        if (s_has_prefix(envp[n], preload_name))
            preload_at = (long)n;
        else if (s_has_prefix(envp[n], "TRAILHOUND_RING="))
            has_ring = true;
    }
    bool fix_preload = s_env_preload[0] && (preload_at < 0 || (s_self_path[0] &&
                                            !strstr(envp[preload_at] + 11, s_self_path)));
    bool fix_ring = s_env_ring[0] && !has_ring;
    if (!fix_preload && !fix_ring)
        return envp;

    char **out = env->ptrs;
    size_t total = n + 3;
    if (total > TH_ENV_STACK) {
        size_t size = total * sizeof(char *);
        void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return envp; /* bounded: run unchanged rather than fail the exec */
        env->mapped = out = p;
        env->mapped_size = size;
    }

    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!(fix_preload && (long)i == preload_at))
            out[k++] = envp[i];
    if (fix_preload) {
        /* What this process was preloaded with, then whatever the caller adds. */
        const char *theirs = preload_at >= 0 ? envp[preload_at] + 11 : "";
        if (s_concat(env->preload, sizeof(env->preload), s_env_preload, *theirs ? ":" : "", theirs))
            out[k++] = env->preload;
        else
            out[k++] = s_env_preload; /* bounded: ours only */
    }
    if (fix_ring)
        out[k++] = s_env_ring;
    out[k] = NULL;
    return out;
}

void th_env_release(struct th_env *env)
{
    if (env->mapped)
        munmap(env->mapped, env->mapped_size);
    env->mapped = NULL;
}
