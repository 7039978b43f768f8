/*
 * Trailhound collector ring: the public C API (FORMAT.md, version 1).
 *
 * The ring is a file mapped MAP_SHARED by every producer (the LD_PRELOAD
 * library in each process of the function) and by one consumer (the
 * extension, or `thring`). Producers never block; the consumer drains.
 *
 * Every function returns 0 on success or -1 with th_last_error() set,
 * unless its comment says otherwise.
 */
#ifndef TRAILHOUND_RING_H
#define TRAILHOUND_RING_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TH_API __attribute__((visibility("default")))

#define TH_RING_MAGIC "THRING01"
#define TH_RING_VERSION 1u
#define TH_RING_HEADER_SIZE 4096u
#define TH_RECORD_SIZE 512u
#define TH_RING_CAPACITY_MAX (1u << 20) /* 512 MiB of slots */
#define TH_POLICY_OFFSET 1024u
#define TH_POLICY_SIZE 3072u
#define TH_PATH_SIZE 256u
#define TH_DETAIL_SIZE 208u

/* Record kinds (FORMAT.md "Kinds"). */
enum th_kind {
    TH_KIND_PROCESS_EXEC = 1,
    TH_KIND_PROCESS_SPAWN = 2,
    TH_KIND_PROCESS_SYSTEM = 3,
    TH_KIND_NETWORK_CONNECT = 4,
    TH_KIND_NETWORK_DNS = 5,
    TH_KIND_FILE_READ_SENSITIVE = 6,
    TH_KIND_FILE_WRITE_TMP = 7,
    TH_KIND_FILE_CHMOD_EXEC = 8,
    TH_KIND_PROCESS_BACKSTOP = 9,
    TH_KIND_NETWORK_BACKSTOP = 10,
};

/* Record flags. */
#define TH_FLAG_DENIED 0x1u
#define TH_FLAG_TRUNCATED 0x2u
#define TH_FLAG_BACKSTOP 0x4u

/* Header modes. */
#define TH_MODE_MONITOR 0u
#define TH_MODE_ENFORCE 1u
#define TH_FAIL_OPEN 0u
#define TH_FAIL_CLOSED 1u

/* The 4096-byte header, exactly as laid out in FORMAT.md. */
struct th_ring_header {
    char magic[8];              /* 0 */
    uint32_t version;           /* 8 */
    uint32_t record_size;       /* 12 */
    uint64_t capacity;          /* 16 */
    uint32_t mode;              /* 24 */
    uint32_t fail_mode;         /* 28 */
    uint8_t reserved0[32];      /* 32 */
    uint64_t head;              /* 64: producers, atomic */
    uint8_t pad_head[56];
    uint64_t tail;              /* 128: consumer only */
    uint8_t pad_tail[56];
    uint64_t dropped;           /* 192: atomic */
    uint8_t pad_dropped[56];
    uint64_t written;           /* 256: atomic */
    uint8_t pad_written[56];
    uint64_t denied;            /* 320: atomic */
    uint8_t pad_denied[696];
    char policy[TH_POLICY_SIZE]; /* 1024 */
};

/* One 512-byte slot, exactly as laid out in FORMAT.md. */
struct th_record {
    uint64_t seq;       /* 0: owned by the ring; ignored by th_ring_write */
    uint32_t kind;      /* 8 */
    uint32_t flags;     /* 12 */
    uint64_t time_ns;   /* 16: CLOCK_REALTIME */
    int32_t pid;        /* 24 */
    int32_t ppid;       /* 28 */
    int32_t result;     /* 32: 0 or -errno */
    uint32_t arg;       /* 36: port / open flags / chmod mode */
    uint8_t family;     /* 40 */
    uint8_t reserved[7];
    char path[TH_PATH_SIZE];     /* 48 */
    char detail[TH_DETAIL_SIZE]; /* 304 */
};

/* Counters from the header (a snapshot; each read atomically). */
struct th_ring_stats {
    uint64_t capacity;
    uint64_t head;
    uint64_t tail;
    uint64_t written;
    uint64_t dropped;
    uint64_t denied;
    uint32_t mode;
    uint32_t fail_mode;
};

/* An open mapping of a ring. Treat as opaque. */
struct th_ring {
    struct th_ring_header *header;
    struct th_record *slots;
    uint64_t mask;
    size_t map_size;
};

/* Error codes for th_last_error(). */
enum th_error {
    TH_ERROR_SUCCESS = 0,
    TH_ERROR_INVALID_ARGUMENT,
    TH_ERROR_SYS,          /* a system call failed; errno holds why */
    TH_ERROR_RING_BAD,     /* wrong magic, version, size or capacity */
    TH_ERROR_RING_EMPTY,   /* th_ring_read: nothing published yet */
    TH_ERROR_RING_FULL,    /* th_ring_write: counted in `dropped` */
    TH_ERROR_POLICY_BAD,   /* the policy block does not parse */
};

/* The calling thread's last error, and a static name for it. */
TH_API int th_last_error(void);
TH_API const char *th_error_name(int error);

/*
 * Creates (or replaces, atomically by rename) the ring file at `path` with
 * `capacity` slots (a power of two, 2..TH_RING_CAPACITY_MAX), monitor mode,
 * fail open, and an empty policy. Creates the parent directory if missing.
 * On success `*out` is mapped and ready (close with th_ring_close).
 */
TH_API int th_ring_create(struct th_ring *out, const char *path, uint64_t capacity);

/* Maps an existing ring after validating its header and size. */
TH_API int th_ring_open(struct th_ring *out, const char *path);

/* Unmaps the ring. Safe on a zeroed or already closed struct. */
TH_API void th_ring_close(struct th_ring *ring);

/*
 * Consumer: copies the next published record into `*out` and frees its slot.
 * Returns 0, or -1 with TH_ERROR_RING_EMPTY when the next slot is not yet
 * published. One consumer at a time.
 */
TH_API int th_ring_read(struct th_ring *ring, struct th_record *out);

/*
 * Producer: publishes a copy of `*record` (its seq is ignored). Never blocks,
 * async-signal-safe, safe across threads and processes sharing the mapping.
 * Returns -1 with TH_ERROR_RING_FULL (and `dropped` incremented) when full.
 */
TH_API int th_ring_write(struct th_ring *ring, const struct th_record *record);

/* Reads the counters. */
TH_API void th_ring_stats(const struct th_ring *ring, struct th_ring_stats *out);

/*
 * Writes mode, fail_mode and the policy block (`len` bytes copied, the rest
 * zeroed; len <= TH_POLICY_SIZE). Meant for the extension before the
 * runtime starts: producers read them once, when they map the ring.
 */
TH_API int th_ring_configure(struct th_ring *ring, uint32_t mode, uint32_t fail_mode,
                             const char *policy, size_t len);

/* The FORMAT.md name of a kind ("process.exec"), or NULL if unknown. */
TH_API const char *th_kind_name(uint32_t kind);

#ifdef __cplusplus
}
#endif

#endif /* TRAILHOUND_RING_H */
