/*
 * The hooks end to end: runs hooks_probe through trailhound-wrapper with
 * the library preloaded, once per scenario, then checks that the ring holds
 * exactly the expected records (children included) and counters.
 *
 * Usage: hooks_test BUILD_DIR WRAPPER. LD_PRELOAD, when set (the ASan
 * runtime), is passed on and the wrapper appends the library to it.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "internal.h"

enum who { PROBE, CHILD };

struct expect {
    uint32_t kind;
    enum who who;
    const char *path;   /* exact */
    const char *detail; /* substring, or NULL for any */
    int32_t result;
    bool denied;
    long arg;           /* -1: any */
};

static const char *s_build;
static const char *s_wrapper;
static char s_dir[64];
static int s_listen_fd;
static int s_port;

static void s_listen(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    s_listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (bind(s_listen_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(s_listen_fd, 64) != 0 ||
        getsockname(s_listen_fd, (struct sockaddr *)&sa, &len) != 0) {
        perror("listen");
        exit(1);
    }
    s_port = ntohs(sa.sin_port);
}

/* Runs the probe under the wrapper; returns its pid, checks it exited 0. */
static pid_t s_run_probe(const char *scenario, const char *ring_path)
{
    char lib[512], ring_env[512], lib_env[600], port[16], preload_env[1024], asan_env[512];
    snprintf(lib, sizeof(lib), "%s/libtrailhound.so", s_build);
    snprintf(ring_env, sizeof(ring_env), "TRAILHOUND_RING=%s", ring_path);
    snprintf(lib_env, sizeof(lib_env), "TRAILHOUND_LIB=%s", lib);
    snprintf(port, sizeof(port), "%d", s_port);
    const char *pre = getenv("LD_PRELOAD");
    const char *asan = getenv("ASAN_OPTIONS");
    snprintf(preload_env, sizeof(preload_env), "LD_PRELOAD=%s", pre ? pre : "");
    snprintf(asan_env, sizeof(asan_env), "ASAN_OPTIONS=%s", asan ? asan : "");
    char probe[512];
    snprintf(probe, sizeof(probe), "%s/tests/hooks_probe", s_build);
    char *const argv[] = {(char *)s_wrapper, probe, (char *)scenario, s_dir, port, NULL};
    char *const envp[] = {"PATH=/usr/bin:/bin", ring_env, lib_env, pre ? preload_env : "X=1",
                          asan_env, NULL};
    pid_t pid = fork();
    if (pid == 0) {
        execve(s_wrapper, argv, envp);
        _exit(127);
    }
    int status = -1;
    waitpid(pid, &status, 0);
    TH_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return pid;
}

static bool s_matches(const struct expect *e, const struct th_record *r, pid_t probe)
{
    bool who = e->who == PROBE ? r->pid == probe : (r->pid != probe && r->ppid == probe);
    return r->kind == e->kind && who && strcmp(r->path, e->path) == 0 &&
           (!e->detail || strstr(r->detail, e->detail)) && r->result == e->result &&
           ((r->flags & TH_FLAG_DENIED) != 0) == e->denied && (e->arg < 0 || r->arg == e->arg);
}

/* Every expectation matched by a distinct record, and no record left over. */
static void s_check_ring(const char *ring_path, pid_t probe, const struct expect *exp, size_t n,
                         uint64_t denied)
{
    struct th_ring ring;
    struct th_record recs[64];
    bool used[64] = {false};
    size_t count = 0;
    TH_CHECK(th_ring_open(&ring, ring_path) == 0);
    while (count < 64 && th_ring_read(&ring, &recs[count]) == 0)
        count++;
    for (size_t i = 0; i < n; i++) {
        bool found = false;
        for (size_t j = 0; j < count && !found; j++)
            if (!used[j] && s_matches(&exp[i], &recs[j], probe))
                used[j] = found = true;
        if (!found)
            fprintf(stderr, "missing: kind %u path %s detail %s result %d\n", exp[i].kind,
                    exp[i].path, exp[i].detail ? exp[i].detail : "*", exp[i].result);
        TH_CHECK(found);
    }
    for (size_t j = 0; j < count; j++) {
        if (!used[j])
            fprintf(stderr, "unexpected: kind %u pid %d ppid %d path %s detail %s result %d flags %u\n",
                    recs[j].kind, recs[j].pid, recs[j].ppid, recs[j].path, recs[j].detail,
                    recs[j].result, recs[j].flags);
        TH_CHECK(used[j]);
    }
    struct th_ring_stats st;
    th_ring_stats(&ring, &st);
    TH_CHECK(st.written == n && st.dropped == 0 && st.denied == denied);
    th_ring_close(&ring);
}

static void s_make_ring(const char *path, uint32_t mode, uint32_t fail_mode, const char *policy,
                        size_t len)
{
    struct th_ring ring;
    TH_CHECK(th_ring_create(&ring, path, 256) == 0);
    TH_CHECK(th_ring_configure(&ring, mode, fail_mode, policy, len) == 0);
    th_ring_close(&ring);
}

static void test_monitor(void)
{
    char ring[128], script[128], f2[128];
    snprintf(ring, sizeof(ring), "%s/ring-monitor", s_dir);
    snprintf(script, sizeof(script), "%s/run.sh", s_dir);
    snprintf(f2, sizeof(f2), "%s/f2", s_dir);
    s_make_ring(ring, TH_MODE_MONITOR, TH_FAIL_OPEN, NULL, 0);
    pid_t probe = s_run_probe("monitor", ring);

    const struct expect exp[] = {
        {TH_KIND_PROCESS_SPAWN, PROBE, "/bin/sh", "sh\x1f-c\x1f" "exec /bin/true", 0, false, -1},
        {TH_KIND_PROCESS_EXEC, CHILD, "/bin/true", NULL, 0, false, -1},
        {TH_KIND_NETWORK_CONNECT, PROBE, "127.0.0.1", NULL, 0, false, s_port},
        {TH_KIND_NETWORK_DNS, PROBE, "localhost", "127.0.0.1", 0, false, -1},
        {TH_KIND_FILE_READ_SENSITIVE, PROBE, "/proc/self/environ", NULL, 0, false, O_RDONLY},
        {TH_KIND_FILE_WRITE_TMP, PROBE, script, NULL, 0, false, -1},
        {TH_KIND_FILE_CHMOD_EXEC, PROBE, script, NULL, 0, false, 0755},
        {TH_KIND_PROCESS_EXEC, CHILD, script, NULL, 0, false, -1},
        {TH_KIND_PROCESS_EXEC, CHILD, "/bin/sh", "sh\x1f-c\x1f" "exec /bin/true", 0, false, -1},
        {TH_KIND_PROCESS_EXEC, CHILD, "/bin/true", NULL, 0, false, -1}, /* LD_PRELOAD restored */
        {TH_KIND_PROCESS_EXEC, CHILD, "/bin/true", "true\x1f" "from-execl", 0, false, -1},
        {TH_KIND_PROCESS_EXEC, CHILD, "/usr/bin/true", "true\x1f" "from-execlp", 0, false, -1},
        {TH_KIND_FILE_WRITE_TMP, PROBE, f2, NULL, 0, false, -1},
        {TH_KIND_FILE_CHMOD_EXEC, PROBE, f2, NULL, 0, false, 0700},
        {TH_KIND_PROCESS_SYSTEM, PROBE, "/bin/sh", "exit 0", 0, false, -1},
        {TH_KIND_PROCESS_EXEC, PROBE, "/nonexistent/nope", NULL, 0, false, -1},
        {TH_KIND_PROCESS_EXEC, PROBE, "/nonexistent/nope", NULL, -ENOENT, false, -1},
    };
    s_check_ring(ring, probe, exp, sizeof(exp) / sizeof(exp[0]), 0);
}

static void test_enforce(void)
{
    char ring[128], policy[512], denied[128], allowed[128], allowed_dir[128];
    snprintf(ring, sizeof(ring), "%s/ring-enforce", s_dir);
    snprintf(denied, sizeof(denied), "%s/denied", s_dir);
    snprintf(allowed_dir, sizeof(allowed_dir), "%s/allowed", s_dir);
    snprintf(allowed, sizeof(allowed), "%s/allowed/ok", s_dir);
    mkdir(allowed_dir, 0700);
    int n = snprintf(policy, sizeof(policy), "exec:/bin/true%cconnect:127.0.0.1/32:*%cwrite:%s/%c",
                     0, 0, allowed_dir, 0);
    policy[n++] = '\0';
    s_make_ring(ring, TH_MODE_ENFORCE, TH_FAIL_CLOSED, policy, (size_t)n);
    pid_t probe = s_run_probe("enforce", ring);

    const struct expect exp[] = {
        {TH_KIND_PROCESS_EXEC, CHILD, "/bin/false", NULL, -EPERM, true, -1},
        {TH_KIND_PROCESS_EXEC, CHILD, "/bin/true", NULL, 0, false, -1},
        {TH_KIND_NETWORK_CONNECT, PROBE, "127.0.0.2", NULL, -EPERM, true, s_port},
        {TH_KIND_NETWORK_CONNECT, PROBE, "127.0.0.1", NULL, 0, false, s_port},
        {TH_KIND_FILE_WRITE_TMP, PROBE, denied, NULL, -EPERM, true, -1},
        {TH_KIND_FILE_WRITE_TMP, PROBE, allowed, NULL, 0, false, -1},
        {TH_KIND_PROCESS_SPAWN, PROBE, "/bin/false", NULL, -EPERM, true, -1},
    };
    s_check_ring(ring, probe, exp, sizeof(exp) / sizeof(exp[0]), 4);
}

static const char s_corrupt[] = "exec:/bin/true\0bogus-entry\0\0";

static void test_fail_open(void)
{
    char ring[128];
    snprintf(ring, sizeof(ring), "%s/ring-fail-open", s_dir);
    s_make_ring(ring, TH_MODE_ENFORCE, TH_FAIL_OPEN, s_corrupt, sizeof(s_corrupt));
    pid_t probe = s_run_probe("fail-open", ring);
    const struct expect exp[] = {
        {TH_KIND_PROCESS_EXEC, CHILD, "/bin/false", NULL, 0, false, -1},
        {TH_KIND_NETWORK_CONNECT, PROBE, "127.0.0.1", NULL, 0, false, s_port},
    };
    s_check_ring(ring, probe, exp, sizeof(exp) / sizeof(exp[0]), 0);
}

static void test_fail_closed(void)
{
    char ring[128], path[128];
    snprintf(ring, sizeof(ring), "%s/ring-fail-closed", s_dir);
    snprintf(path, sizeof(path), "%s/x", s_dir);
    s_make_ring(ring, TH_MODE_ENFORCE, TH_FAIL_CLOSED, s_corrupt, sizeof(s_corrupt));
    pid_t probe = s_run_probe("fail-closed", ring);
    const struct expect exp[] = {
        {TH_KIND_PROCESS_EXEC, CHILD, "/bin/true", NULL, -EPERM, true, -1},
        {TH_KIND_NETWORK_CONNECT, PROBE, "127.0.0.1", NULL, -EPERM, true, s_port},
        {TH_KIND_FILE_WRITE_TMP, PROBE, path, NULL, -EPERM, true, -1},
    };
    s_check_ring(ring, probe, exp, sizeof(exp) / sizeof(exp[0]), 3);
}

static void test_missing_ring_fails_open(void)
{
    char ring[128];
    snprintf(ring, sizeof(ring), "%s/no-such-ring", s_dir);
    /* The monitor scenario's own checks must all pass with no ring at all. */
    s_run_probe("monitor", ring);
    TH_CHECK(access(ring, F_OK) != 0);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: hooks_test BUILD_DIR WRAPPER\n");
        return 2;
    }
    s_build = argv[1];
    s_wrapper = argv[2];
    snprintf(s_dir, sizeof(s_dir), "/tmp/th-hooks-XXXXXX");
    if (!mkdtemp(s_dir))
        return 1;
    s_listen();
    TH_RUN(test_monitor);
    TH_RUN(test_enforce);
    TH_RUN(test_fail_open);
    TH_RUN(test_fail_closed);
    TH_RUN(test_missing_ring_fails_open);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", s_dir);
    if (system(cmd) != 0)
        return 1;
    return th_test_report("hooks_test");
}
