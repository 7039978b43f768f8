/* policy.c: the policy block grammar and the three matchers. */
#include <arpa/inet.h>
#include <sys/socket.h>

#include "harness.h"
#include "internal.h"

static struct th_policy s_policy;

#define S_PARSE(lit) th_policy_parse(&s_policy, lit, sizeof(lit) - 1)

static bool s_connect(const char *ip, uint16_t port)
{
    uint8_t addr[16];
    int family = strchr(ip, ':') ? AF_INET6 : AF_INET;
    if (inet_pton(family, ip, addr) != 1)
        return false;
    return th_policy_allows_connect(&s_policy, family, addr, port);
}

static void test_parse_valid(void)
{
    TH_CHECK(S_PARSE("\0") == 0 && s_policy.count == 0);
    TH_CHECK(S_PARSE("exec:/bin/true\0exec:/usr/bin/*\0connect:127.0.0.1:9001\0"
                     "connect:10.0.0.0/8:*\0connect:[::1]:443\0connect:fd00::/8:*\0"
                     "write:/tmp/ok/\0\0") == 0);
    TH_CHECK(s_policy.count == 7);
    /* Anything after the empty entry is ignored. */
    TH_CHECK(S_PARSE("exec:/a\0\0garbage") == 0 && s_policy.count == 1);
}

static void test_parse_corrupt(void)
{
    TH_CHECK(S_PARSE("") == -1 && th_last_error() == TH_ERROR_POLICY_BAD);
    TH_CHECK(S_PARSE("exec:/bin/true\0") == -1);           /* no empty entry */
    TH_CHECK(S_PARSE("exec:/bin/true") == -1);             /* no NUL at all */
    TH_CHECK(S_PARSE("exec:bin/true\0\0") == -1);          /* not absolute */
    TH_CHECK(S_PARSE("exec:/bin/*/x\0\0") == -1);          /* '*' not last */
    TH_CHECK(S_PARSE("write:/tmp/*\0\0") == -1);           /* no '*' in write */
    TH_CHECK(S_PARSE("exec:\0\0") == -1);
    TH_CHECK(S_PARSE("mount:/x\0\0") == -1);               /* unknown type */
    TH_CHECK(S_PARSE("connect:127.0.0.1\0\0") == -1);      /* no port */
    TH_CHECK(S_PARSE("connect:127.0.0.1:0\0\0") == -1);
    TH_CHECK(S_PARSE("connect:127.0.0.1:65536\0\0") == -1);
    TH_CHECK(S_PARSE("connect:127.0.0.1:8x\0\0") == -1);
    TH_CHECK(S_PARSE("connect:127.0.0.1/33:*\0\0") == -1);
    TH_CHECK(S_PARSE("connect:::1/129:*\0\0") == -1);
    TH_CHECK(S_PARSE("connect:host.example:80\0\0") == -1);
    TH_CHECK(S_PARSE("exec:/bin/tr\tue\0\0") == -1);       /* control byte */
    TH_CHECK(s_policy.count == 0); /* a failed parse leaves an empty policy */

    char big[TH_POLICY_SIZE];
    memset(big, 'a', sizeof(big));
    TH_CHECK(th_policy_parse(&s_policy, big, sizeof(big)) == -1);
    TH_CHECK(th_policy_parse(&s_policy, big, sizeof(big) + 1) == -1);
    /* More rules than TH_POLICY_MAX_RULES. */
    size_t n = 0;
    for (int i = 0; i < 300 && n + 10 < sizeof(big); i++) {
        memcpy(big + n, "write:/a", 9);
        n += 9;
    }
    big[n++] = '\0';
    TH_CHECK(th_policy_parse(&s_policy, big, n) == -1);
}

static void test_exec_matching(void)
{
    TH_CHECK(S_PARSE("exec:/bin/true\0exec:/usr/bin/*\0\0") == 0);
    TH_CHECK(th_policy_allows_exec(&s_policy, "/bin/true"));
    TH_CHECK(!th_policy_allows_exec(&s_policy, "/bin/true2"));
    TH_CHECK(!th_policy_allows_exec(&s_policy, "/bin/tru"));
    TH_CHECK(th_policy_allows_exec(&s_policy, "/usr/bin/python3"));
    TH_CHECK(!th_policy_allows_exec(&s_policy, "/usr/sbin/x"));
    TH_CHECK(!th_policy_allows_write(&s_policy, "/bin/true"));
}

static void test_write_matching(void)
{
    TH_CHECK(S_PARSE("write:/tmp/ok/\0write:/dev/null\0\0") == 0);
    TH_CHECK(th_policy_allows_write(&s_policy, "/tmp/ok/file"));
    TH_CHECK(!th_policy_allows_write(&s_policy, "/tmp/ok"));
    TH_CHECK(!th_policy_allows_write(&s_policy, "/tmp/other"));
    TH_CHECK(th_policy_allows_write(&s_policy, "/dev/null"));
}

static void test_connect_matching(void)
{
    TH_CHECK(S_PARSE("connect:127.0.0.1:9001\0connect:10.1.0.0/16:*\0connect:[::1]:443\0"
                     "connect:fd00::/8:*\0connect:0.0.0.0/0:53\0\0") == 0);
    TH_CHECK(s_connect("127.0.0.1", 9001));
    TH_CHECK(!s_connect("127.0.0.1", 9002));
    TH_CHECK(!s_connect("127.0.0.2", 9001));
    TH_CHECK(s_connect("10.1.200.3", 1));
    TH_CHECK(!s_connect("10.2.0.1", 1));
    TH_CHECK(s_connect("::1", 443));
    TH_CHECK(!s_connect("::1", 80));
    TH_CHECK(s_connect("fd12:3456::1", 80));
    TH_CHECK(!s_connect("fe80::1", 80));
    TH_CHECK(s_connect("8.8.8.8", 53)); /* /0 */
    TH_CHECK(s_connect("::ffff:127.0.0.1", 9001)); /* v4-mapped matches v4 rules */
    TH_CHECK(!s_connect("::ffff:127.0.0.1", 9002));
    TH_CHECK(S_PARSE("connect:10.0.0.0/9:*\0\0") == 0);
    TH_CHECK(s_connect("10.127.255.255", 1));
    TH_CHECK(!s_connect("10.128.0.0", 1));
}

int main(void)
{
    TH_RUN(test_parse_valid);
    TH_RUN(test_parse_corrupt);
    TH_RUN(test_exec_matching);
    TH_RUN(test_write_matching);
    TH_RUN(test_connect_matching);
    return th_test_report("policy_test");
}
