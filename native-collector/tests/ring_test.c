/* ring.c: create, open, validation, write/read, full ring, wrap-around, configure. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "internal.h"

static char s_dir[64];

static const char *s_path(const char *name)
{
    static char buf[128];
    snprintf(buf, sizeof(buf), "%s/%s", s_dir, name);
    return buf;
}

static struct th_record s_make(uint32_t kind, uint32_t n)
{
    struct th_record r;
    memset(&r, 0, sizeof(r));
    r.kind = kind;
    r.arg = n;
    r.seq = 999; /* ignored by th_ring_write */
    snprintf(r.path, sizeof(r.path), "/rec/%u", n);
    return r;
}

static void test_create_and_open(void)
{
    struct th_ring a, b;
    struct th_ring_stats st;
    TH_CHECK(th_ring_create(&a, s_path("sub/ring"), 8) == 0); /* creates sub/ */
    TH_CHECK(memcmp(a.header->magic, "THRING01", 8) == 0);
    TH_CHECK(a.header->version == 1 && a.header->record_size == 512 && a.header->capacity == 8);
    TH_CHECK(a.slots[7].seq == 7);
    TH_CHECK(th_ring_open(&b, s_path("sub/ring")) == 0);
    th_ring_stats(&b, &st);
    TH_CHECK(st.capacity == 8 && st.head == 0 && st.tail == 0 && st.written == 0);
    struct stat sb;
    TH_CHECK(stat(s_path("sub/ring"), &sb) == 0 && sb.st_size == 4096 + 8 * 512);
    th_ring_close(&a);
    th_ring_close(&b);
    th_ring_close(&b); /* idempotent */
}

static void test_create_rejects_bad_capacity(void)
{
    struct th_ring r;
    TH_CHECK(th_ring_create(&r, s_path("bad"), 0) == -1);
    TH_CHECK(th_last_error() == TH_ERROR_INVALID_ARGUMENT);
    TH_CHECK(th_ring_create(&r, s_path("bad"), 12) == -1);
    TH_CHECK(th_ring_create(&r, s_path("bad"), (uint64_t)TH_RING_CAPACITY_MAX * 2) == -1);
    TH_CHECK(access(s_path("bad"), F_OK) != 0);
}

static void s_patch(const char *path, off_t off, const void *bytes, size_t n)
{
    int fd = open(path, O_RDWR);
    TH_CHECK(fd >= 0 && pwrite(fd, bytes, n, off) == (ssize_t)n);
    close(fd);
}

static void test_open_rejects_bad_rings(void)
{
    struct th_ring r;
    TH_CHECK(th_ring_open(&r, s_path("missing")) == -1 && th_last_error() == TH_ERROR_SYS);

    TH_CHECK(th_ring_create(&r, s_path("m"), 4) == 0);
    th_ring_close(&r);
    s_patch(s_path("m"), 0, "XHRING01", 8);
    TH_CHECK(th_ring_open(&r, s_path("m")) == -1 && th_last_error() == TH_ERROR_RING_BAD);

    uint32_t v2 = 2;
    TH_CHECK(th_ring_create(&r, s_path("v"), 4) == 0);
    th_ring_close(&r);
    s_patch(s_path("v"), 8, &v2, 4);
    TH_CHECK(th_ring_open(&r, s_path("v")) == -1 && th_last_error() == TH_ERROR_RING_BAD);

    uint64_t cap = 6;
    TH_CHECK(th_ring_create(&r, s_path("c"), 4) == 0);
    th_ring_close(&r);
    s_patch(s_path("c"), 16, &cap, 8);
    TH_CHECK(th_ring_open(&r, s_path("c")) == -1 && th_last_error() == TH_ERROR_RING_BAD);

    cap = 1024; /* claims more slots than the file holds */
    TH_CHECK(th_ring_create(&r, s_path("s"), 4) == 0);
    th_ring_close(&r);
    s_patch(s_path("s"), 16, &cap, 8);
    TH_CHECK(th_ring_open(&r, s_path("s")) == -1 && th_last_error() == TH_ERROR_RING_BAD);

    TH_CHECK(truncate(s_path("s"), 100) == 0);
    TH_CHECK(th_ring_open(&r, s_path("s")) == -1 && th_last_error() == TH_ERROR_RING_BAD);
}

static void test_write_read_full_and_wrap(void)
{
    struct th_ring r;
    struct th_record out;
    struct th_ring_stats st;
    TH_CHECK(th_ring_create(&r, s_path("w"), 4) == 0);
    TH_CHECK(th_ring_read(&r, &out) == -1 && th_last_error() == TH_ERROR_RING_EMPTY);

    for (uint32_t i = 0; i < 4; i++) {
        struct th_record rec = s_make(TH_KIND_NETWORK_CONNECT, i);
        TH_CHECK(th_ring_write(&r, &rec) == 0);
    }
    struct th_record extra = s_make(TH_KIND_NETWORK_CONNECT, 99);
    TH_CHECK(th_ring_write(&r, &extra) == -1 && th_last_error() == TH_ERROR_RING_FULL);
    th_ring_stats(&r, &st);
    TH_CHECK(st.written == 4 && st.dropped == 1 && st.head == 4);

    /* Three laps round the ring, one record at a time. */
    uint32_t next_in = 4, next_out = 0;
    for (int i = 0; i < 12; i++) {
        TH_CHECK(th_ring_read(&r, &out) == 0);
        TH_CHECK(out.arg == next_out && out.seq == next_out && out.kind == (next_out < 4 ? TH_KIND_NETWORK_CONNECT : TH_KIND_NETWORK_DNS));
        char want[32];
        snprintf(want, sizeof(want), "/rec/%u", next_out);
        TH_CHECK_STR(out.path, want);
        next_out++;
        struct th_record rec = s_make(TH_KIND_NETWORK_DNS, next_in++);
        TH_CHECK(th_ring_write(&r, &rec) == 0);
    }
    int drained = 0;
    while (th_ring_read(&r, &out) == 0) {
        TH_CHECK(out.arg == next_out++);
        drained++;
    }
    TH_CHECK(drained == 4);
    th_ring_stats(&r, &st);
    TH_CHECK(st.written == 16 && st.dropped == 1 && st.tail == 16 && st.head == 16);
    th_ring_close(&r);
}

static void test_configure(void)
{
    struct th_ring r, again;
    static const char policy[] = "exec:/bin/true\0\0";
    TH_CHECK(th_ring_create(&r, s_path("p"), 2) == 0);
    TH_CHECK(th_ring_configure(&r, 1, 1, policy, sizeof(policy)) == 0);
    TH_CHECK(th_ring_configure(&r, 2, 0, NULL, 0) == -1);
    TH_CHECK(th_ring_configure(&r, 1, 1, policy, TH_POLICY_SIZE + 1) == -1);
    TH_CHECK(th_ring_open(&again, s_path("p")) == 0);
    TH_CHECK(again.header->mode == 1 && again.header->fail_mode == 1);
    TH_CHECK(memcmp(again.header->policy, policy, sizeof(policy)) == 0);
    th_ring_close(&r);
    th_ring_close(&again);
}

static void test_kind_names(void)
{
    TH_CHECK_STR(th_kind_name(1), "process.exec");
    TH_CHECK_STR(th_kind_name(10), "network.backstop");
    TH_CHECK(th_kind_name(0) == NULL && th_kind_name(11) == NULL);
    TH_CHECK_STR(th_error_name(TH_ERROR_RING_FULL), "TH_ERROR_RING_FULL");
}

int main(void)
{
    snprintf(s_dir, sizeof(s_dir), "/tmp/th-ring-test-XXXXXX");
    if (!mkdtemp(s_dir))
        return 1;
    TH_RUN(test_create_and_open);
    TH_RUN(test_create_rejects_bad_capacity);
    TH_RUN(test_open_rejects_bad_rings);
    TH_RUN(test_write_read_full_and_wrap);
    TH_RUN(test_configure);
    TH_RUN(test_kind_names);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", s_dir);
    if (system(cmd) != 0)
        return 1;
    return th_test_report("ring_test");
}
