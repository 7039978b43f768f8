/*
 * The ring: a bounded MPSC queue with a sequence number per slot (Vyukov),
 * in a file mapped MAP_SHARED (FORMAT.md). Producers use atomics only, so
 * th_ring_write is lock-free and async-signal-safe; the single consumer
 * frees a slot by advancing its seq by one lap.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

_Static_assert(sizeof(struct th_ring_header) == TH_RING_HEADER_SIZE, "header is 4096 bytes");
_Static_assert(sizeof(struct th_record) == TH_RECORD_SIZE, "record is 512 bytes");
_Static_assert(__builtin_offsetof(struct th_ring_header, mode) == 24, "mode at 24");
_Static_assert(__builtin_offsetof(struct th_ring_header, head) == 64, "head at 64");
_Static_assert(__builtin_offsetof(struct th_ring_header, tail) == 128, "tail at 128");
_Static_assert(__builtin_offsetof(struct th_ring_header, dropped) == 192, "dropped at 192");
_Static_assert(__builtin_offsetof(struct th_ring_header, written) == 256, "written at 256");
_Static_assert(__builtin_offsetof(struct th_ring_header, denied) == 320, "denied at 320");
_Static_assert(__builtin_offsetof(struct th_ring_header, policy) == TH_POLICY_OFFSET, "policy at 1024");
_Static_assert(__builtin_offsetof(struct th_record, arg) == 36, "arg at 36");
_Static_assert(__builtin_offsetof(struct th_record, family) == 40, "family at 40");
_Static_assert(__builtin_offsetof(struct th_record, path) == 48, "path at 48");
_Static_assert(__builtin_offsetof(struct th_record, detail) == 304, "detail at 304");
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the format is little-endian");
_Static_assert(__atomic_always_lock_free(8, 0), "64-bit atomics must be lock-free across processes");

static size_t s_map_size(uint64_t capacity)
{
    return TH_RING_HEADER_SIZE + (size_t)capacity * TH_RECORD_SIZE;
}

static bool s_capacity_valid(uint64_t capacity)
{
    return capacity >= 2 && capacity <= TH_RING_CAPACITY_MAX && (capacity & (capacity - 1)) == 0;
}

int th_ring_map_fd(struct th_ring *out, int fd)
{
    struct th_ring_header probe;
    struct stat st;

    memset(out, 0, sizeof(*out));
    if (fstat(fd, &st) != 0)
        return th_raise_error(TH_ERROR_SYS);
    if (st.st_size < (off_t)TH_RING_HEADER_SIZE)
        return th_raise_error(TH_ERROR_RING_BAD);
    if (pread(fd, &probe, 32, 0) != 32)
        return th_raise_error(TH_ERROR_RING_BAD);
    if (memcmp(probe.magic, TH_RING_MAGIC, 8) != 0 || probe.version != TH_RING_VERSION ||
        probe.record_size != TH_RECORD_SIZE || !s_capacity_valid(probe.capacity) ||
        (uint64_t)st.st_size < s_map_size(probe.capacity))
        return th_raise_error(TH_ERROR_RING_BAD);

    size_t size = s_map_size(probe.capacity);
    void *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED)
        return th_raise_error(TH_ERROR_SYS);

    out->header = base;
    out->slots = (struct th_record *)((char *)base + TH_RING_HEADER_SIZE);
    out->mask = probe.capacity - 1;
    out->map_size = size;
    return 0;
}

int th_ring_open(struct th_ring *out, const char *path)
{
    if (!out || !path)
        return th_raise_error(TH_ERROR_INVALID_ARGUMENT);
    int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return th_raise_error(TH_ERROR_SYS);
    int rc = th_ring_map_fd(out, fd);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

int th_ring_create(struct th_ring *out, const char *path, uint64_t capacity)
{
    char tmp[4096];
    char dir[4096];
    int fd = -1;
    int rc = -1;
    void *base = MAP_FAILED;
    size_t size = s_map_size(capacity);

    if (!out || !path || !s_capacity_valid(capacity))
        return th_raise_error(TH_ERROR_INVALID_ARGUMENT);
    memset(out, 0, sizeof(*out));
    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp))
        return th_raise_error(TH_ERROR_INVALID_ARGUMENT);

    /* The parent directory (one level, e.g. /tmp/.trailhound). */
    if (th_text_copy(dir, sizeof(dir), path))
        return th_raise_error(TH_ERROR_INVALID_ARGUMENT);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST)
            return th_raise_error(TH_ERROR_SYS);
    }

    fd = (int)syscall(SYS_openat, AT_FDCWD, tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        th_raise_error(TH_ERROR_SYS);
        goto cleanup;
    }
    if (ftruncate(fd, (off_t)size) != 0) {
        th_raise_error(TH_ERROR_SYS);
        goto cleanup;
    }
    base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) {
        th_raise_error(TH_ERROR_SYS);
        goto cleanup;
    }

    struct th_ring_header *h = base;
    struct th_record *slots = (struct th_record *)((char *)base + TH_RING_HEADER_SIZE);
    for (uint64_t i = 0; i < capacity; i++)
        slots[i].seq = i;
    h->version = TH_RING_VERSION;
    h->record_size = TH_RECORD_SIZE;
    h->capacity = capacity;
    h->mode = TH_MODE_MONITOR;
    h->fail_mode = TH_FAIL_OPEN;
    /* Magic last: a reader that sees it sees a complete header. */
    __atomic_thread_fence(__ATOMIC_RELEASE);
    memcpy(h->magic, TH_RING_MAGIC, 8);

    if (rename(tmp, path) != 0) {
        th_raise_error(TH_ERROR_SYS);
        goto cleanup;
    }
    out->header = h;
    out->slots = slots;
    out->mask = capacity - 1;
    out->map_size = size;
    base = MAP_FAILED;
    rc = 0;

cleanup:
    if (base != MAP_FAILED)
        munmap(base, size);
    if (fd >= 0) {
        int saved = errno;
        close(fd);
        if (rc != 0)
            unlink(tmp);
        errno = saved;
    }
    return rc;
}

void th_ring_close(struct th_ring *ring)
{
    if (ring && ring->header)
        munmap(ring->header, ring->map_size);
    if (ring)
        memset(ring, 0, sizeof(*ring));
}

int th_ring_write(struct th_ring *ring, const struct th_record *record)
{
    struct th_ring_header *h = ring->header;
    uint64_t ticket = __atomic_load_n(&h->head, __ATOMIC_RELAXED);
    struct th_record *slot;

    for (;;) {
        slot = &ring->slots[ticket & ring->mask];
        uint64_t seq = __atomic_load_n(&slot->seq, __ATOMIC_ACQUIRE);
        int64_t diff = (int64_t)(seq - ticket);
        if (diff == 0) {
            if (__atomic_compare_exchange_n(&h->head, &ticket, ticket + 1, true, __ATOMIC_RELAXED,
                                            __ATOMIC_RELAXED))
                break;
            /* ticket now holds the current head: retry with it. */
        } else if (diff < 0) {
            __atomic_fetch_add(&h->dropped, 1, __ATOMIC_RELAXED);
            return th_raise_error(TH_ERROR_RING_FULL);
        } else {
            ticket = __atomic_load_n(&h->head, __ATOMIC_RELAXED);
        }
    }

    memcpy((char *)slot + sizeof(slot->seq), (const char *)record + sizeof(record->seq),
           TH_RECORD_SIZE - sizeof(slot->seq));
    __atomic_store_n(&slot->seq, ticket + 1, __ATOMIC_RELEASE);
    __atomic_fetch_add(&h->written, 1, __ATOMIC_RELAXED);
    return 0;
}

int th_ring_read(struct th_ring *ring, struct th_record *out)
{
    if (!ring || !ring->header || !out)
        return th_raise_error(TH_ERROR_INVALID_ARGUMENT);
    struct th_ring_header *h = ring->header;
    uint64_t tail = __atomic_load_n(&h->tail, __ATOMIC_RELAXED);
    struct th_record *slot = &ring->slots[tail & ring->mask];

    if (__atomic_load_n(&slot->seq, __ATOMIC_ACQUIRE) != tail + 1)
        return th_raise_error(TH_ERROR_RING_EMPTY);
    memcpy(out, slot, TH_RECORD_SIZE);
    out->seq = tail;
    __atomic_store_n(&slot->seq, tail + ring->mask + 1, __ATOMIC_RELEASE);
    __atomic_store_n(&h->tail, tail + 1, __ATOMIC_RELEASE);
    return 0;
}

void th_ring_stats(const struct th_ring *ring, struct th_ring_stats *out)
{
    const struct th_ring_header *h = ring->header;
    out->capacity = h->capacity;
    out->head = __atomic_load_n(&h->head, __ATOMIC_RELAXED);
    out->tail = __atomic_load_n(&h->tail, __ATOMIC_RELAXED);
    out->written = __atomic_load_n(&h->written, __ATOMIC_RELAXED);
    out->dropped = __atomic_load_n(&h->dropped, __ATOMIC_RELAXED);
    out->denied = __atomic_load_n(&h->denied, __ATOMIC_RELAXED);
    out->mode = h->mode;
    out->fail_mode = h->fail_mode;
}

int th_ring_configure(struct th_ring *ring, uint32_t mode, uint32_t fail_mode, const char *policy,
                      size_t len)
{
    if (!ring || !ring->header || mode > TH_MODE_ENFORCE || fail_mode > TH_FAIL_CLOSED ||
        len > TH_POLICY_SIZE || (len && !policy))
        return th_raise_error(TH_ERROR_INVALID_ARGUMENT);
    struct th_ring_header *h = ring->header;
    memset(h->policy, 0, TH_POLICY_SIZE);
    if (len)
        memcpy(h->policy, policy, len);
    h->mode = mode;
    h->fail_mode = fail_mode;
    return 0;
}

const char *th_kind_name(uint32_t kind)
{
    static const char *const names[] = {
        NULL,
        "process.exec",
        "process.spawn",
        "process.system",
        "network.connect",
        "network.dns",
        "file.read-sensitive",
        "file.write-tmp",
        "file.chmod-exec",
        "process.backstop",
        "network.backstop",
    };
    return kind < sizeof(names) / sizeof(names[0]) ? names[kind] : NULL;
}
