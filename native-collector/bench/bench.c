/*
 * Cost per intercepted call, with and without the preload, in one run.
 *
 *   bench LIB            create a ring, run this program twice (plain, then
 *                        LD_PRELOAD=LIB), print ns/call and the ratio
 *   bench --measure      (internal) time the calls, print "name ns" lines
 *
 * Each figure is the best of 5 rounds of S_ITERATIONS calls.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "trailhound/ring.h"

#define S_ITERATIONS 20000
#define S_ROUNDS 5
#define S_CASES 3

static const char *const s_names[S_CASES] = {
    "connect 127.0.0.1:closed (recorded)",
    "open /etc/hosts O_RDONLY (not recorded)",
    "open /tmp file O_WRONLY (recorded)",
};

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double s_time_case(int which, const char *tmp_file)
{
    double best = 1e18;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(1),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int sock = socket(AF_INET, SOCK_STREAM, 0);
    for (int round = 0; round < S_ROUNDS; round++) {
        double start = s_now();
        for (int i = 0; i < S_ITERATIONS; i++) {
            int fd;
            switch (which) {
            case 0:
                /* A refused connect leaves the socket reusable on Linux. */
                if (connect(sock, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno != ECONNREFUSED) {
                    close(sock);
                    sock = socket(AF_INET, SOCK_STREAM, 0);
                }
                break;
            case 1:
                fd = open("/etc/hosts", O_RDONLY);
                close(fd);
                break;
            default:
                fd = open(tmp_file, O_WRONLY | O_CREAT, 0600);
                close(fd);
                break;
            }
        }
        double ns = (s_now() - start) / S_ITERATIONS;
        if (ns < best)
            best = ns;
    }
    close(sock);
    return best;
}

static int s_measure(const char *tmp_file)
{
    for (int c = 0; c < S_CASES; c++)
        printf("%d %.1f\n", c, s_time_case(c, tmp_file));
    return 0;
}

/* Runs `self --measure` with `preload` ("" for none); fills ns[]. */
static int s_run(const char *self, const char *preload, const char *ring, const char *tmp_file,
                 double ns[S_CASES])
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        setenv("TRAILHOUND_RING", ring, 1);
        if (*preload)
            setenv("LD_PRELOAD", preload, 1);
        else
            unsetenv("LD_PRELOAD");
        execl(self, self, "--measure", tmp_file, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *in = fdopen(fds[0], "r");
    int c;
    double v;
    int got = 0;
    while (in && fscanf(in, "%d %lf", &c, &v) == 2)
        if (c >= 0 && c < S_CASES)
            ns[c] = v, got++;
    if (in)
        fclose(in);
    int status;
    waitpid(pid, &status, 0);
    return got == S_CASES && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--measure") == 0)
        return s_measure(argv[2]);
    if (argc != 2) {
        fprintf(stderr, "usage: bench /abs/path/libtrailhound.so\n");
        return 2;
    }
    char dir[] = "/tmp/th-bench-XXXXXX";
    char ring_path[64], tmp_file[64], self[4096];
    if (!mkdtemp(dir))
        return 1;
    snprintf(ring_path, sizeof(ring_path), "%s/ring", dir);
    snprintf(tmp_file, sizeof(tmp_file), "%s/file", dir);
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return 1;
    self[n] = '\0';

    struct th_ring ring;
    /* Large enough that no recorded call of the run is dropped. */
    if (th_ring_create(&ring, ring_path, 1u << 18) != 0) {
        fprintf(stderr, "bench: cannot create ring: %s\n", th_error_name(th_last_error()));
        return 1;
    }
    double plain[S_CASES], hooked[S_CASES];
    int rc = s_run(self, "", ring_path, tmp_file, plain) == 0 &&
                     s_run(self, argv[1], ring_path, tmp_file, hooked) == 0
                 ? 0
                 : 1;
    struct th_ring_stats st;
    th_ring_stats(&ring, &st);
    if (rc == 0) {
        printf("%-42s %12s %12s %8s %10s\n", "call", "plain ns", "preload ns", "ratio", "added ns");
        for (int c = 0; c < S_CASES; c++)
            printf("%-42s %12.1f %12.1f %8.2f %10.1f\n", s_names[c], plain[c], hooked[c],
                   hooked[c] / plain[c], hooked[c] - plain[c]);
        printf("ring: written %llu dropped %llu (best of %d rounds x %d calls)\n",
               (unsigned long long)st.written, (unsigned long long)st.dropped, S_ROUNDS,
               S_ITERATIONS);
    } else {
        fprintf(stderr, "bench: a measuring run failed\n");
    }
    th_ring_close(&ring);
    unlink(ring_path);
    unlink(tmp_file);
    rmdir(dir);
    return rc;
}
