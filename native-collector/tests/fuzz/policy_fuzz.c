/*
 * The policy parser under arbitrary input.
 *
 * Built with -DTH_LIBFUZZER (make fuzz, clang): a libFuzzer target.
 * Otherwise (make test): a randomized property test with a fixed seed and a
 * bounded number of iterations, mixing well-formed blocks, mutations of them
 * and random bytes. Properties: the parser never reads outside the block,
 * accepts every well-formed block with the right rule count, and on success
 * yields rules whose text lies inside the block; matchers never crash.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <sys/socket.h>

#include "internal.h"

static struct th_policy s_policy;

/* Parses and exercises the matchers; returns the parse result. */
static int s_exercise(const uint8_t *data, size_t size)
{
    int rc = th_policy_parse(&s_policy, (const char *)data, size);
    if (rc == 0) {
        for (uint32_t i = 0; i < s_policy.count; i++) {
            const struct th_policy_rule *r = &s_policy.rules[i];
            if (r->type < TH_RULE_EXEC || r->type > TH_RULE_WRITE)
                __builtin_trap();
            if (r->type != TH_RULE_CONNECT && (r->off + r->len > size || r->len == 0))
                __builtin_trap();
        }
        uint8_t addr[16] = {127, 0, 0, 1};
        (void)th_policy_allows_exec(&s_policy, "/bin/sh");
        (void)th_policy_allows_write(&s_policy, "/tmp/x");
        (void)th_policy_allows_connect(&s_policy, AF_INET, addr, 443);
        (void)th_policy_allows_connect(&s_policy, AF_INET6, addr, 443);
    } else if (s_policy.count != 0) {
        __builtin_trap();
    }
    return rc;
}

#ifdef TH_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size <= TH_POLICY_SIZE)
        s_exercise(data, size);
    return 0;
}
#else
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_ITERATIONS 200000

static uint64_t s_state = 0x9e3779b97f4a7c15u; /* fixed seed */

static uint32_t s_rand(uint32_t bound)
{
    s_state ^= s_state << 13;
    s_state ^= s_state >> 7;
    s_state ^= s_state << 17;
    return (uint32_t)(s_state % bound);
}

/* Appends one well-formed entry; returns its length including the NUL. */
static size_t s_valid_entry(char *out, size_t room)
{
    static const char *const entries[] = {
        "exec:/bin/true", "exec:/usr/bin/*", "exec:/var/task/bin/x", "write:/tmp/",
        "write:/dev/null", "connect:127.0.0.1:9001", "connect:10.0.0.0/8:*",
        "connect:[::1]:443", "connect:fd00::/8:*", "connect:0.0.0.0/0:53",
        "connect:169.254.169.254/32:80",
    };
    const char *e = entries[s_rand(sizeof(entries) / sizeof(entries[0]))];
    size_t n = strlen(e) + 1;
    if (n >= room)
        return 0;
    memcpy(out, e, n);
    return n;
}

int main(void)
{
    uint8_t block[TH_POLICY_SIZE];
    unsigned accepted = 0, rejected = 0, failures = 0;

    for (int i = 0; i < S_ITERATIONS; i++) {
        size_t len = 0, rules = 0;
        int shape = (int)s_rand(3);
        if (shape == 2) { /* random bytes, biased towards NUL and ':' */
            len = s_rand(TH_POLICY_SIZE + 1);
            for (size_t j = 0; j < len; j++) {
                uint32_t r = s_rand(8);
                block[j] = r == 0 ? 0 : r == 1 ? ':' : (uint8_t)s_rand(256);
            }
        } else { /* well-formed, then maybe mutated */
            size_t want = s_rand(40);
            for (size_t k = 0; k < want; k++) {
                size_t n = s_valid_entry((char *)block + len, sizeof(block) - len - 1);
                if (!n)
                    break;
                len += n;
                rules++;
            }
            block[len++] = 0;
            if (s_exercise(block, len) != 0 || s_policy.count != rules) {
                fprintf(stderr, "policy_fuzz: well-formed block rejected (iteration %d)\n", i);
                failures++;
            }
            if (shape == 1) {
                for (uint32_t m = 1 + s_rand(4); m; m--)
                    block[s_rand((uint32_t)len)] = (uint8_t)s_rand(256);
                if (s_rand(4) == 0)
                    len = s_rand((uint32_t)len + 1);
            } else {
                continue;
            }
        }
        /* Parse a heap copy of exactly len bytes so ASan sees any overread. */
        uint8_t *copy = malloc(len ? len : 1);
        memcpy(copy, block, len);
        if (s_exercise(copy, len) == 0)
            accepted++;
        else
            rejected++;
        free(copy);
    }
    printf("policy_fuzz: %d iterations, %u mutated/random accepted, %u rejected\n", S_ITERATIONS,
           accepted, rejected);
    printf("policy_fuzz: %u checks passed, %u checks failed\n", failures ? 0u : 1u, failures);
    return failures ? 1 : 0;
}
#endif
