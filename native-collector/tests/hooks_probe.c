/*
 * Runs under LD_PRELOAD=libtrailhound.so (started by hooks_test) and makes
 * the calls the collector must see. Usage: hooks_probe SCENARIO DIR PORT
 * where PORT is a listening loopback port of hooks_test. Exit 0 when every
 * return value it checks was as expected; hooks_test then checks the ring.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int s_failures;

#define EXPECT(cond)                                                               \
    do {                                                                           \
        if (!(cond)) {                                                             \
            fprintf(stderr, "hooks_probe:%d: %s (errno %d)\n", __LINE__, #cond, errno); \
            s_failures++;                                                          \
        }                                                                          \
    } while (0)

/* Runs fn in a child and returns its exit status (or -1). */
static int s_in_child(void (*fn)(const char *), const char *arg)
{
    pid_t pid = fork();
    if (pid == 0) {
        fn(arg);
        _exit(97);
    }
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

static void s_exec_path(const char *path)
{
    char *const argv[] = {(char *)path, NULL};
    execv(path, argv);
    _exit(errno == EPERM ? 42 : 98); /* 42: refused by enforce mode */
}

static void s_exec_without_preload(const char *unused)
{
    (void)unused;
    char *const argv[] = {"sh", "-c", "exec /bin/true", NULL};
    char *const envp[] = {"PATH=/usr/bin:/bin", NULL};
    execve("/bin/sh", argv, envp);
    _exit(98);
}

static void s_execl_true(const char *unused)
{
    (void)unused;
    execl("/bin/true", "true", "from-execl", (char *)NULL);
    _exit(98);
}

static void s_execlp_true(const char *unused)
{
    (void)unused;
    execlp("true", "true", "from-execlp", (char *)NULL);
    _exit(98);
}

static int s_connect(const char *ip, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, ip, &sa.sin_addr);
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    int err = errno;
    close(fd);
    errno = err;
    return rc;
}

static int s_spawn(const char *path, const char *cmd)
{
    pid_t pid;
    char *const argv[] = {"sh", "-c", (char *)cmd, NULL};
    int rc = posix_spawn(&pid, path, NULL, NULL, argv, environ);
    if (rc == 0) {
        int status;
        waitpid(pid, &status, 0);
    }
    return rc;
}

static void s_monitor(const char *dir, int port)
{
    char script[512], file2[512];
    snprintf(script, sizeof(script), "%s/run.sh", dir);
    snprintf(file2, sizeof(file2), "%s/f2", dir);

    /* 1. A shell that execs a child: spawn here, exec in the shell. */
    EXPECT(s_spawn("/bin/sh", "exec /bin/true") == 0);

    /* 2. Loopback connect (and a unix socket, which is not recorded). */
    errno = 1234;
    EXPECT(s_connect("127.0.0.1", port) == 0);
    int ufd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un su = {.sun_family = AF_UNIX, .sun_path = "/nonexistent/sock"};
    EXPECT(connect(ufd, (struct sockaddr *)&su, sizeof(su)) == -1 && errno == ENOENT);
    close(ufd);

    /* 3. DNS. */
    struct addrinfo *res = NULL;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    EXPECT(getaddrinfo("localhost", NULL, &hints, &res) == 0);
    if (res)
        freeaddrinfo(res);

    /* 4. Sensitive read; a plain read is not recorded. */
    int fd = open("/proc/self/environ", O_RDONLY);
    EXPECT(fd >= 0);
    close(fd);
    fd = open("/etc/hosts", O_RDONLY);
    EXPECT(fd >= 0);
    close(fd);

    /* 5-7. Write a script under /tmp, chmod +x, exec it from a child. */
    errno = 0;
    fd = open(script, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    EXPECT(fd >= 0 && errno == 0); /* errno preserved */
    static const char body[] = "#!/bin/sh\nexit 0\n";
    EXPECT(write(fd, body, sizeof(body) - 1) == (ssize_t)(sizeof(body) - 1));
    close(fd);
    EXPECT(chmod(script, 0755) == 0);
    EXPECT(s_in_child(s_exec_path, script) == 0);

    /* 8. An envp without LD_PRELOAD: the child shell is still recorded. */
    EXPECT(s_in_child(s_exec_without_preload, NULL) == 0);

    /* 9. The variadic forms. */
    EXPECT(s_in_child(s_execl_true, NULL) == 0);
    EXPECT(s_in_child(s_execlp_true, NULL) == 0);

    /* 10. fopen for writing, fchmod through /proc/self/fd. */
    FILE *f = fopen(file2, "w");
    EXPECT(f != NULL);
    if (f) {
        EXPECT(fchmod(fileno(f), 0700) == 0);
        fclose(f);
    }
    EXPECT(chmod(file2, 0600) == 0); /* no execute bit: not recorded */

    /* 11. system. */
    EXPECT(system("exit 0") == 0);

    /* 12. A failing exec: recorded before the call and again with the error. */
    char *const argv[] = {"nope", NULL};
    EXPECT(execve("/nonexistent/nope", argv, environ) == -1 && errno == ENOENT);
}

static void s_enforce(const char *dir, int port)
{
    char denied[512], allowed[512];
    snprintf(denied, sizeof(denied), "%s/denied", dir);
    snprintf(allowed, sizeof(allowed), "%s/allowed/ok", dir);

    EXPECT(s_in_child(s_exec_path, "/bin/false") == 42);
    EXPECT(s_in_child(s_exec_path, "/bin/true") == 0);
    EXPECT(s_connect("127.0.0.2", port) == -1 && errno == EPERM);
    EXPECT(s_connect("127.0.0.1", port) == 0);
    errno = 0;
    EXPECT(open(denied, O_WRONLY | O_CREAT, 0600) == -1 && errno == EPERM);
    EXPECT(access(denied, F_OK) == -1);
    int fd = open(allowed, O_WRONLY | O_CREAT, 0600);
    EXPECT(fd >= 0);
    close(fd);
    EXPECT(s_spawn("/bin/false", "") == EPERM);
}

static void s_fail_open(const char *dir, int port)
{
    (void)dir;
    /* Corrupt policy, fail open: nothing refused. */
    EXPECT(s_in_child(s_exec_path, "/bin/false") == 1);
    EXPECT(s_connect("127.0.0.1", port) == 0);
}

static void s_fail_closed(const char *dir, int port)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/x", dir);
    /* Corrupt policy, fail closed: every checked call refused. */
    EXPECT(s_in_child(s_exec_path, "/bin/true") == 42);
    EXPECT(s_connect("127.0.0.1", port) == -1 && errno == EPERM);
    EXPECT(open(path, O_WRONLY | O_CREAT, 0600) == -1 && errno == EPERM);
    /* Reads are never refused. */
    int fd = open("/etc/hosts", O_RDONLY);
    EXPECT(fd >= 0);
    close(fd);
}

int main(int argc, char **argv)
{
    if (argc != 4)
        return 2;
    int port = atoi(argv[3]);
    if (strcmp(argv[1], "monitor") == 0)
        s_monitor(argv[2], port);
    else if (strcmp(argv[1], "enforce") == 0)
        s_enforce(argv[2], port);
    else if (strcmp(argv[1], "fail-open") == 0)
        s_fail_open(argv[2], port);
    else if (strcmp(argv[1], "fail-closed") == 0)
        s_fail_closed(argv[2], port);
    else
        return 2;
    return s_failures ? 1 : 0;
}
