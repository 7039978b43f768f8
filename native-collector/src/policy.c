/*
 * The enforce-mode allow-list (FORMAT.md "Enforce-mode policy block"):
 * entries `exec:/path` or `exec:/prefix*`, `connect:<ip>[/<bits>]:<port|*>`
 * and `write:/prefix`, separated by NUL, ending with an empty entry.
 * Parsed once per process into a private copy, so later writes to the
 * shared header cannot change a running process's policy. Anything that
 * does not parse makes the whole block corrupt (then fail_mode decides).
 */
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "internal.h"

static int s_parse_port(const char *s, size_t len, struct th_policy_rule *rule)
{
    if (len == 1 && s[0] == '*') {
        rule->any_port = 1;
        return 0;
    }
    if (len == 0 || len > 5)
        return -1;
    unsigned v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v == 0 || v > 65535)
        return -1;
    rule->port = (uint16_t)v;
    return 0;
}

static int s_parse_connect(const char *s, size_t len, struct th_policy_rule *rule)
{
    char ip[64];
    const char *colon = NULL;
    for (size_t i = 0; i < len; i++)
        if (s[i] == ':')
            colon = s + i;
    if (!colon || s_parse_port(colon + 1, len - (size_t)(colon + 1 - s), rule) != 0)
        return -1;

    size_t ip_len = (size_t)(colon - s);
    if (ip_len >= 2 && s[0] == '[' && s[ip_len - 1] == ']') { /* [::1]:443 */
        s++;
        ip_len -= 2;
    }
    if (ip_len == 0 || ip_len >= sizeof(ip))
        return -1;
    memcpy(ip, s, ip_len);
    ip[ip_len] = '\0';

    int bits = -1;
    char *slash = strchr(ip, '/');
    if (slash) {
        *slash = '\0';
        const char *b = slash + 1;
        if (!*b || strlen(b) > 3)
            return -1;
        bits = 0;
        for (; *b; b++) {
            if (*b < '0' || *b > '9')
                return -1;
            bits = bits * 10 + (*b - '0');
        }
    }
    if (inet_pton(AF_INET, ip, rule->addr) == 1) {
        rule->family = AF_INET;
        if (bits > 32)
            return -1;
        rule->bits = (uint8_t)(bits < 0 ? 32 : bits);
    } else if (inet_pton(AF_INET6, ip, rule->addr) == 1) {
        rule->family = AF_INET6;
        if (bits > 128)
            return -1;
        rule->bits = (uint8_t)(bits < 0 ? 128 : bits);
    } else {
        return -1;
    }
    return 0;
}

/* exec: and write: values are absolute paths; exec may end in one '*'. */
static int s_parse_path(struct th_policy *policy, const char *s, size_t len, bool allow_star,
                        struct th_policy_rule *rule)
{
    if (len == 0 || s[0] != '/')
        return -1;
    for (size_t i = 0; i < len; i++)
        if (s[i] == '*' && !(allow_star && i == len - 1))
            return -1;
    if (allow_star && s[len - 1] == '*') {
        rule->prefix = 1;
        len--;
    }
    rule->off = (uint16_t)(s - policy->text);
    rule->len = (uint16_t)len;
    return 0;
}

int th_policy_parse(struct th_policy *out, const char *block, size_t len)
{
    memset(out, 0, sizeof(*out));
    if (!block || len > TH_POLICY_SIZE)
        return th_raise_error(TH_ERROR_POLICY_BAD);
    memcpy(out->text, block, len);

    size_t pos = 0;
    for (;;) {
        if (pos >= len)
            goto corrupt; /* no empty entry before the end */
        const char *entry = out->text + pos;
        size_t n = strnlen(entry, len - pos);
        if (pos + n >= len)
            goto corrupt; /* an entry without its NUL */
        if (n == 0)
            return 0; /* the empty entry ends the block */
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)entry[i] < 0x20 || entry[i] == 0x7f)
                goto corrupt;
        if (out->count == TH_POLICY_MAX_RULES)
            goto corrupt;

        struct th_policy_rule *rule = &out->rules[out->count];
        int rc;
        if (strncmp(entry, "exec:", 5) == 0) {
            rule->type = TH_RULE_EXEC;
            rc = s_parse_path(out, entry + 5, n - 5, true, rule);
        } else if (strncmp(entry, "write:", 6) == 0) {
            rule->type = TH_RULE_WRITE;
            rc = s_parse_path(out, entry + 6, n - 6, false, rule);
        } else if (strncmp(entry, "connect:", 8) == 0) {
            rule->type = TH_RULE_CONNECT;
            rc = s_parse_connect(entry + 8, n - 8, rule);
        } else {
            rc = -1;
        }
        if (rc != 0)
            goto corrupt;
        out->count++;
        pos += n + 1;
    }

corrupt:
    memset(out, 0, sizeof(*out));
    return th_raise_error(TH_ERROR_POLICY_BAD);
}

bool th_policy_allows_exec(const struct th_policy *policy, const char *path)
{
    size_t path_len = strlen(path);
    for (uint32_t i = 0; i < policy->count; i++) {
        const struct th_policy_rule *r = &policy->rules[i];
        if (r->type != TH_RULE_EXEC)
            continue;
        if (r->prefix ? (path_len >= r->len && memcmp(path, policy->text + r->off, r->len) == 0)
                      : (path_len == r->len && memcmp(path, policy->text + r->off, r->len) == 0))
            return true;
    }
    return false;
}

bool th_policy_allows_write(const struct th_policy *policy, const char *path)
{
    size_t path_len = strlen(path);
    for (uint32_t i = 0; i < policy->count; i++) {
        const struct th_policy_rule *r = &policy->rules[i];
        if (r->type == TH_RULE_WRITE && path_len >= r->len &&
            memcmp(path, policy->text + r->off, r->len) == 0)
            return true;
    }
    return false;
}

static bool s_prefix_match(const uint8_t *a, const uint8_t *b, unsigned bits)
{
    unsigned bytes = bits / 8, rest = bits % 8;
    if (memcmp(a, b, bytes) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (a[bytes] & mask) == (b[bytes] & mask);
}

bool th_policy_allows_connect(const struct th_policy *policy, int family, const uint8_t *addr,
                              uint16_t port)
{
    static const uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    const uint8_t *v4 = NULL;
    if (family == AF_INET)
        v4 = addr;
    else if (family == AF_INET6 && memcmp(addr, v4_mapped, 12) == 0)
        v4 = addr + 12;

    for (uint32_t i = 0; i < policy->count; i++) {
        const struct th_policy_rule *r = &policy->rules[i];
        if (r->type != TH_RULE_CONNECT || (!r->any_port && r->port != port))
            continue;
        if (r->family == AF_INET && v4 && s_prefix_match(v4, r->addr, r->bits))
            return true;
        if (r->family == AF_INET6 && family == AF_INET6 && s_prefix_match(addr, r->addr, r->bits))
            return true;
    }
    return false;
}
