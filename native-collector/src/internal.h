/*
 * Internal interfaces shared by the library's modules and its unit tests.
 * Nothing here is exported from libtrailhound.so.
 */
#ifndef TRAILHOUND_INTERNAL_H
#define TRAILHOUND_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trailhound/ring.h"

#define TH_TLS __thread __attribute__((tls_model("initial-exec")))

/* error.c */
int th_raise_error(int error); /* sets the thread's error, returns -1 */

/* ring.c: maps `fd` (caller closes it). Uses raw system calls only. */
int th_ring_map_fd(struct th_ring *out, int fd);

/* policy.c: the enforce-mode allow-list, compiled once per process. */
#define TH_POLICY_MAX_RULES 256

struct th_policy_rule {
    uint8_t type;       /* TH_RULE_* */
    uint8_t family;     /* connect: AF_INET or AF_INET6 */
    uint8_t bits;       /* connect: prefix length */
    uint8_t any_port;   /* connect: port was '*' */
    uint8_t prefix;     /* exec: ended in '*' */
    uint16_t port;      /* connect */
    uint16_t off, len;  /* exec / write: the text in th_policy.text */
    uint8_t addr[16];   /* connect: network byte order */
};

enum { TH_RULE_EXEC = 1, TH_RULE_CONNECT = 2, TH_RULE_WRITE = 3 };

struct th_policy {
    char text[TH_POLICY_SIZE];
    uint32_t count;
    struct th_policy_rule rules[TH_POLICY_MAX_RULES];
};

/* Parses a FORMAT.md policy block; -1 with TH_ERROR_POLICY_BAD if corrupt. */
int th_policy_parse(struct th_policy *out, const char *block, size_t len);
/* `path` must already be absolute and normalized (th_path_normalize). */
bool th_policy_allows_exec(const struct th_policy *policy, const char *path);
bool th_policy_allows_write(const struct th_policy *policy, const char *path);
/* `addr` is 4 (AF_INET) or 16 (AF_INET6) bytes; v4-mapped v6 also matches v4 rules. */
bool th_policy_allows_connect(const struct th_policy *policy, int family, const uint8_t *addr,
                              uint16_t port);

/* text.c: bounded, async-signal-safe string helpers. */

/* Copies `src` into out[cap] NUL-terminated; returns true if truncated. */
bool th_text_copy(char *out, size_t cap, const char *src);
/* Joins argv with '\x1f' into out[cap]; NULL argv gives ""; true if truncated. */
bool th_text_join_argv(char *out, size_t cap, char *const argv[]);
/* Appends `sep` (if out is not empty) and `item`; true if truncated. */
bool th_text_append(char *out, size_t cap, char sep, const char *item);
/* Formats an AF_INET / AF_INET6 address like inet_ntop (RFC 5952); -1 if bad. */
int th_text_format_addr(char *out, size_t cap, int family, const void *addr);
/* Writes the decimal value of `v` into out[cap]; returns length or -1. */
int th_text_format_u64(char *out, size_t cap, uint64_t v);

/*
 * Lexically normalizes `path` (collapses "//", ".", "..") into out[cap],
 * joining it to `base` first when it is relative. Returns -1 if it does not
 * fit or is not absolute after joining.
 */
int th_path_normalize(char *out, size_t cap, const char *base, const char *path);
/* Classification of normalized absolute paths (FORMAT.md kinds 6-8). */
bool th_path_is_sensitive_read(const char *path);
bool th_path_is_under_tmp(const char *path);
/* open(2) flags that write or create. */
bool th_open_flags_write(int flags);
/* fopen(3) mode string to open(2) flags. */
int th_fopen_mode_flags(const char *mode);

#endif /* TRAILHOUND_INTERNAL_H */
