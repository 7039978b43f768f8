/*
 * thring: create, inspect and drain a collector ring from the command line.
 *
 *   thring create PATH CAPACITY [--enforce] [--fail-closed] [--allow ENTRY]...
 *   thring dump PATH          drain every published record as one JSON line each
 *   thring stats PATH         the header counters as one JSON line
 *   thring emit PATH KIND PATH_TEXT [DETAIL]   publish one record (for tests)
 *
 * Exit status: 0 ok, 1 failure, 2 usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "trailhound/ring.h"

static int s_usage(void)
{
    fprintf(stderr, "usage: thring create PATH CAPACITY [--enforce] [--fail-closed] [--allow ENTRY]...\n"
                    "       thring dump PATH\n"
                    "       thring stats PATH\n"
                    "       thring emit PATH KIND PATH_TEXT [DETAIL]\n");
    return 2;
}

static int s_fail(const char *what, const char *path)
{
    fprintf(stderr, "thring: %s %s: %s (%s)\n", what, path, th_error_name(th_last_error()),
            strerror(errno));
    return 1;
}

/* A JSON string: valid UTF-8 passes through, other bytes become U+FFFD. */
static void s_json_string(FILE *out, const char *s, size_t cap)
{
    const unsigned char *p = (const unsigned char *)s;
    const unsigned char *end = p + strnlen(s, cap);
    fputc('"', out);
    while (p < end) {
        unsigned c = *p;
        if (c == '"' || c == '\\') {
            fprintf(out, "\\%c", c);
            p++;
        } else if (c < 0x20 || c == 0x7f) {
            fprintf(out, "\\u%04x", c);
            p++;
        } else if (c < 0x80) {
            fputc((int)c, out);
            p++;
        } else {
            int n = c >= 0xf0 && c < 0xf5 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
            bool ok = n > 0 && p + n <= end;
            for (int i = 1; ok && i < n; i++)
                ok = (p[i] & 0xc0) == 0x80;
            if (ok) {
                fwrite(p, 1, (size_t)n, out);
                p += n;
            } else {
                fputs("\\ufffd", out);
                p++;
            }
        }
    }
    fputc('"', out);
}

static void s_print_record(FILE *out, const struct th_record *r)
{
    const char *kind = th_kind_name(r->kind);
    fprintf(out, "{\"seq\":%" PRIu64 ",\"kind\":\"%s\",\"kind_id\":%u,\"flags\":%u,", r->seq,
            kind ? kind : "unknown", r->kind, r->flags);
    fprintf(out, "\"denied\":%s,\"truncated\":%s,\"backstop\":%s,",
            r->flags & TH_FLAG_DENIED ? "true" : "false",
            r->flags & TH_FLAG_TRUNCATED ? "true" : "false",
            r->flags & TH_FLAG_BACKSTOP ? "true" : "false");
    fprintf(out, "\"time_ns\":\"%" PRIu64 "\",\"pid\":%d,\"ppid\":%d,\"result\":%d,\"arg\":%u,"
                 "\"family\":%u,\"path\":",
            r->time_ns, r->pid, r->ppid, r->result, r->arg, r->family);
    s_json_string(out, r->path, sizeof(r->path));
    fputs(",\"detail\":", out);
    s_json_string(out, r->detail, sizeof(r->detail));
    fputs("}\n", out);
}

static int s_create(int argc, char **argv)
{
    char policy[TH_POLICY_SIZE];
    size_t used = 0;
    uint32_t mode = TH_MODE_MONITOR, fail_mode = TH_FAIL_OPEN;
    struct th_ring ring;

    if (argc < 4)
        return s_usage();
    char *end;
    unsigned long long capacity = strtoull(argv[3], &end, 10);
    if (*end)
        return s_usage();
    for (int i = 4; i < argc; i++) {
        if (strcmp(argv[i], "--enforce") == 0) {
            mode = TH_MODE_ENFORCE;
        } else if (strcmp(argv[i], "--fail-closed") == 0) {
            fail_mode = TH_FAIL_CLOSED;
        } else if (strcmp(argv[i], "--allow") == 0 && i + 1 < argc) {
            size_t n = strlen(argv[++i]) + 1;
            if (used + n + 1 > sizeof(policy)) {
                fprintf(stderr, "thring: policy longer than %u bytes\n", TH_POLICY_SIZE);
                return 1;
            }
            memcpy(policy + used, argv[i], n);
            used += n;
        } else {
            return s_usage();
        }
    }
    policy[used++] = '\0'; /* the empty entry that ends the block */

    if (th_ring_create(&ring, argv[2], capacity) != 0)
        return s_fail("cannot create", argv[2]);
    int rc = th_ring_configure(&ring, mode, fail_mode, policy, used) == 0 ? 0 : s_fail("cannot configure", argv[2]);
    th_ring_close(&ring);
    return rc;
}

static int s_dump(const char *path)
{
    struct th_ring ring;
    struct th_record rec;
    if (th_ring_open(&ring, path) != 0)
        return s_fail("cannot open", path);
    while (th_ring_read(&ring, &rec) == 0)
        s_print_record(stdout, &rec);
    th_ring_close(&ring);
    return fflush(stdout) == 0 ? 0 : 1;
}

static int s_stats(const char *path)
{
    struct th_ring ring;
    struct th_ring_stats st;
    if (th_ring_open(&ring, path) != 0)
        return s_fail("cannot open", path);
    th_ring_stats(&ring, &st);
    printf("{\"capacity\":%" PRIu64 ",\"head\":%" PRIu64 ",\"tail\":%" PRIu64 ",\"written\":%" PRIu64
           ",\"dropped\":%" PRIu64 ",\"denied\":%" PRIu64 ",\"mode\":%u,\"fail_mode\":%u}\n",
           st.capacity, st.head, st.tail, st.written, st.dropped, st.denied, st.mode, st.fail_mode);
    th_ring_close(&ring);
    return 0;
}

static int s_emit(int argc, char **argv)
{
    struct th_ring ring;
    struct th_record rec;
    struct timespec ts;
    if (argc < 5)
        return s_usage();
    memset(&rec, 0, sizeof(rec));
    rec.kind = (uint32_t)strtoul(argv[3], NULL, 10);
    clock_gettime(CLOCK_REALTIME, &ts);
    rec.time_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    rec.pid = (int32_t)getpid();
    rec.ppid = (int32_t)getppid();
    snprintf(rec.path, sizeof(rec.path), "%s", argv[4]);
    snprintf(rec.detail, sizeof(rec.detail), "%s", argc > 5 ? argv[5] : "");
    if (th_ring_open(&ring, argv[2]) != 0)
        return s_fail("cannot open", argv[2]);
    int rc = th_ring_write(&ring, &rec) == 0 ? 0 : s_fail("cannot write", argv[2]);
    th_ring_close(&ring);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return s_usage();
    if (strcmp(argv[1], "create") == 0)
        return s_create(argc, argv);
    if (strcmp(argv[1], "dump") == 0)
        return s_dump(argv[2]);
    if (strcmp(argv[1], "stats") == 0)
        return s_stats(argv[2]);
    if (strcmp(argv[1], "emit") == 0)
        return s_emit(argc, argv);
    return s_usage();
}
