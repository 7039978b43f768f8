/*
 * Stress: threads in several fork()ed processes write to one small ring while
 * a consumer thread drains it. Every record carries a checksum of its own
 * payload. Checks: no torn record, no duplicate, each producer's records in
 * order, and exact totals: consumed == written, written + dropped == attempts.
 */
#include <pthread.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "internal.h"

#define S_PROCS 4 /* the parent and 3 children */
#define S_THREADS 4
#define S_PER_THREAD 25000

static struct th_ring s_ring;
static uint8_t s_seen[S_PROCS][S_THREADS][S_PER_THREAD];
static int32_t s_last[S_PROCS][S_THREADS];
static volatile int s_producers_done;
static uint64_t s_consumed, s_torn, s_dupes, s_disorder;

static uint32_t s_checksum(const struct th_record *r)
{
    uint32_t h = 2166136261u;
    const uint8_t *p = (const uint8_t *)r->path;
    for (size_t i = 0; i < sizeof(r->path) + sizeof(r->detail); i++)
        h = (h ^ p[i]) * 16777619u;
    return h ^ r->kind ^ (uint32_t)r->pid;
}

struct s_producer {
    int proc, thread;
};

static void *s_produce(void *arg)
{
    const struct s_producer *who = arg;
    struct th_record rec;
    for (int n = 0; n < S_PER_THREAD; n++) {
        memset(&rec, 0, sizeof(rec));
        rec.kind = 1 + (uint32_t)(n % 10);
        rec.pid = who->proc;
        rec.ppid = who->thread;
        rec.time_ns = (uint64_t)n;
        snprintf(rec.path, sizeof(rec.path), "p%d/t%d/n%d", who->proc, who->thread, n);
        memset(rec.detail, 'a' + n % 26, (size_t)(n % (TH_DETAIL_SIZE - 1)));
        rec.arg = s_checksum(&rec);
        th_ring_write(&s_ring, &rec); /* a full ring counts a drop */
    }
    return NULL;
}

static void s_produce_process(int proc)
{
    pthread_t threads[S_THREADS];
    struct s_producer who[S_THREADS];
    for (int t = 0; t < S_THREADS; t++) {
        who[t] = (struct s_producer){proc, t};
        pthread_create(&threads[t], NULL, s_produce, &who[t]);
    }
    for (int t = 0; t < S_THREADS; t++)
        pthread_join(threads[t], NULL);
}

static void s_check(const struct th_record *r)
{
    int proc = r->pid, thread = r->ppid, n = (int)r->time_ns;
    char want[64];
    if (proc < 0 || proc >= S_PROCS || thread < 0 || thread >= S_THREADS || n < 0 ||
        n >= S_PER_THREAD || r->arg != s_checksum(r)) {
        s_torn++;
        return;
    }
    snprintf(want, sizeof(want), "p%d/t%d/n%d", proc, thread, n);
    if (strcmp(want, r->path) != 0) {
        s_torn++;
        return;
    }
    if (s_seen[proc][thread][n]++)
        s_dupes++;
    if (n <= s_last[proc][thread])
        s_disorder++;
    s_last[proc][thread] = n;
}

static void *s_consume(void *unused)
{
    (void)unused;
    struct th_record rec;
    for (;;) {
        if (th_ring_read(&s_ring, &rec) == 0) {
            s_check(&rec);
            s_consumed++;
            continue;
        }
        if (__atomic_load_n(&s_producers_done, __ATOMIC_ACQUIRE)) {
            struct th_ring_stats st;
            th_ring_stats(&s_ring, &st);
            if (st.head == st.tail)
                return NULL;
        }
        sched_yield();
    }
}

static void s_run(uint64_t capacity)
{
    char dir[] = "/tmp/th-stress-XXXXXX";
    char path[64];
    TH_CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/ring", dir);
    TH_CHECK(th_ring_create(&s_ring, path, capacity) == 0);
    memset(s_seen, 0, sizeof(s_seen));
    s_consumed = s_torn = s_dupes = s_disorder = 0;
    s_producers_done = 0;
    for (int p = 0; p < S_PROCS; p++)
        for (int t = 0; t < S_THREADS; t++)
            s_last[p][t] = -1;

    /* Children inherit the MAP_SHARED mapping across fork. */
    pid_t children[S_PROCS - 1];
    for (int p = 1; p < S_PROCS; p++) {
        children[p - 1] = fork();
        if (children[p - 1] == 0) {
            s_produce_process(p);
            _exit(0);
        }
    }
    pthread_t consumer;
    pthread_create(&consumer, NULL, s_consume, NULL);
    s_produce_process(0);
    for (int p = 1; p < S_PROCS; p++) {
        int status;
        TH_CHECK(waitpid(children[p - 1], &status, 0) == children[p - 1] && WIFEXITED(status) &&
                 WEXITSTATUS(status) == 0);
    }
    __atomic_store_n(&s_producers_done, 1, __ATOMIC_RELEASE);
    pthread_join(consumer, NULL);

    struct th_ring_stats st;
    th_ring_stats(&s_ring, &st);
    uint64_t attempts = (uint64_t)S_PROCS * S_THREADS * S_PER_THREAD;
    printf("stress: capacity %llu attempts %llu written %llu dropped %llu consumed %llu\n",
           (unsigned long long)capacity, (unsigned long long)attempts, (unsigned long long)st.written,
           (unsigned long long)st.dropped, (unsigned long long)s_consumed);
    TH_CHECK(st.written + st.dropped == attempts);
    TH_CHECK(s_consumed == st.written);
    TH_CHECK(st.head == st.written && st.tail == st.written);
    TH_CHECK(s_torn == 0);
    TH_CHECK(s_dupes == 0);
    TH_CHECK(s_disorder == 0);
    TH_CHECK(st.dropped < attempts); /* the consumer kept up at least partly */

    /* Recount the seen table against the consumed total. */
    uint64_t seen = 0;
    for (int p = 0; p < S_PROCS; p++)
        for (int t = 0; t < S_THREADS; t++)
            for (int n = 0; n < S_PER_THREAD; n++)
                seen += s_seen[p][t][n];
    TH_CHECK(seen == s_consumed);
    th_ring_close(&s_ring);
    unlink(path);
    rmdir(dir);
}

/* A small ring (mostly drops) and a large one (few or none). */
static void test_small_ring(void)
{
    s_run(1024);
}

static void test_large_ring(void)
{
    s_run(1u << 16);
}

int main(void)
{
    TH_RUN(test_small_ring);
    TH_RUN(test_large_ring);
    return th_test_report("stress_test");
}
