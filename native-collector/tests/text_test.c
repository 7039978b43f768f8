/* text.c: bounded copies, argv joining and truncation, address text, paths. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/socket.h>

#include "harness.h"
#include "internal.h"

static void test_copy(void)
{
    char buf[8];
    TH_CHECK(!th_text_copy(buf, sizeof(buf), "abc") && strcmp(buf, "abc") == 0);
    TH_CHECK(!th_text_copy(buf, sizeof(buf), "1234567") && strcmp(buf, "1234567") == 0);
    TH_CHECK(th_text_copy(buf, sizeof(buf), "12345678") && strcmp(buf, "1234567") == 0);
    TH_CHECK(!th_text_copy(buf, sizeof(buf), NULL) && buf[0] == '\0');
}

static void test_join_argv(void)
{
    char buf[16];
    char *const three[] = {"sh", "-c", "true", NULL};
    TH_CHECK(!th_text_join_argv(buf, sizeof(buf), three));
    TH_CHECK_STR(buf, "sh\x1f-c\x1ftrue");
    TH_CHECK(!th_text_join_argv(buf, sizeof(buf), NULL) && buf[0] == '\0');
    char *const empty[] = {NULL};
    TH_CHECK(!th_text_join_argv(buf, sizeof(buf), empty) && buf[0] == '\0');
    char *const with_empty[] = {"a", "", "b", NULL};
    TH_CHECK(!th_text_join_argv(buf, sizeof(buf), with_empty));
    TH_CHECK_STR(buf, "a\x1f\x1f" "b");
    /* Exactly full: 15 chars fit in 16 bytes. */
    char *const full[] = {"1234567", "1234567", NULL};
    TH_CHECK(!th_text_join_argv(buf, sizeof(buf), full) && strlen(buf) == 15);
    char *const over[] = {"1234567", "12345678", NULL};
    TH_CHECK(th_text_join_argv(buf, sizeof(buf), over) && strlen(buf) == 15);
    char *const sep_over[] = {"123456789012345", "x", NULL};
    TH_CHECK(th_text_join_argv(buf, sizeof(buf), sep_over));
    TH_CHECK_STR(buf, "123456789012345");
    char *const long_first[] = {"12345678901234567890", NULL};
    TH_CHECK(th_text_join_argv(buf, sizeof(buf), long_first) && strlen(buf) == 15);
}

static void test_append(void)
{
    char buf[8] = "";
    TH_CHECK(!th_text_append(buf, sizeof(buf), ',', "ab"));
    TH_CHECK(!th_text_append(buf, sizeof(buf), ',', "cd"));
    TH_CHECK_STR(buf, "ab,cd");
    TH_CHECK(th_text_append(buf, sizeof(buf), ',', "ef"));
}

static void s_check_addr(int family, const char *text)
{
    uint8_t addr[16];
    char ours[64], theirs[64];
    TH_CHECK(inet_pton(family, text, addr) == 1);
    TH_CHECK(th_text_format_addr(ours, sizeof(ours), family, addr) == 0);
    TH_CHECK(inet_ntop(family, addr, theirs, sizeof(theirs)) != NULL);
    TH_CHECK_STR(ours, theirs);
}

static void test_format_addr_matches_inet_ntop(void)
{
    const char *v4[] = {"0.0.0.0", "127.0.0.1", "255.255.255.255", "10.20.30.40"};
    const char *v6[] = {"::", "::1", "1::", "2001:db8::1", "fe80::1:2:3:4", "1:0:0:2:0:0:0:3",
                        "1:0:2:0:3:0:4:0", "::ffff:127.0.0.1", "::1.2.3.4", "1:2:3:4:5:6:7:8",
                        "0:0:1::", "ffff::ffff:0:0"};
    for (size_t i = 0; i < sizeof(v4) / sizeof(v4[0]); i++)
        s_check_addr(AF_INET, v4[i]);
    for (size_t i = 0; i < sizeof(v6) / sizeof(v6[0]); i++)
        s_check_addr(AF_INET6, v6[i]);
    /* Random addresses against glibc, fixed seed. */
    srand(7);
    for (int i = 0; i < 2000; i++) {
        uint8_t a[16];
        char ours[64], theirs[64];
        for (int j = 0; j < 16; j++)
            a[j] = (uint8_t)(rand() % 4 == 0 ? rand() : 0);
        th_text_format_addr(ours, sizeof(ours), AF_INET6, a);
        inet_ntop(AF_INET6, a, theirs, sizeof(theirs));
        if (strcmp(ours, theirs) != 0) {
            TH_CHECK_STR(ours, theirs);
            break;
        }
    }
    char small[8];
    uint8_t a[4] = {255, 255, 255, 255};
    TH_CHECK(th_text_format_addr(small, sizeof(small), AF_INET, a) == -1);
    TH_CHECK(th_text_format_addr(small, sizeof(small), AF_UNIX, a) == -1);
}

static void s_check_norm(const char *base, const char *path, const char *want)
{
    char out[64];
    int rc = th_path_normalize(out, sizeof(out), base, path);
    if (!want)
        TH_CHECK(rc == -1);
    else if (rc != 0)
        TH_CHECK_STR("(failed)", want);
    else
        TH_CHECK_STR(out, want);
}

static void test_normalize(void)
{
    s_check_norm(NULL, "/tmp/x", "/tmp/x");
    s_check_norm(NULL, "//tmp///x/", "/tmp/x");
    s_check_norm(NULL, "/tmp/./a/../b", "/tmp/b");
    s_check_norm(NULL, "/tmp/../var/task", "/var/task");
    s_check_norm(NULL, "/../../etc", "/etc");
    s_check_norm(NULL, "/", "/");
    s_check_norm("/tmp", "x/../y", "/tmp/y");
    s_check_norm("/var/task", "../../tmp/z", "/tmp/z");
    s_check_norm("/proc/self", "environ", "/proc/self/environ");
    s_check_norm("relative", "x", NULL);
    s_check_norm(NULL, "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL);
}

static void test_classify(void)
{
    TH_CHECK(th_path_is_sensitive_read("/proc/self/environ"));
    TH_CHECK(th_path_is_sensitive_read("/proc/1/environ"));
    TH_CHECK(th_path_is_sensitive_read("/proc/12345/environ"));
    TH_CHECK(th_path_is_sensitive_read("/proc/thread-self/environ"));
    TH_CHECK(th_path_is_sensitive_read("/proc/12/task/13/environ"));
    TH_CHECK(!th_path_is_sensitive_read("/proc/self/cmdline"));
    TH_CHECK(!th_path_is_sensitive_read("/proc/abc/environ"));
    TH_CHECK(!th_path_is_sensitive_read("/proc//environ"));
    TH_CHECK(!th_path_is_sensitive_read("/proc/self/environ2"));
    TH_CHECK(th_path_is_sensitive_read("/home/sbx_user1051/.aws/credentials"));
    TH_CHECK(th_path_is_sensitive_read("/root/.aws/credentials"));
    TH_CHECK(!th_path_is_sensitive_read("/root/.aws/config"));
    TH_CHECK(th_path_is_sensitive_read("/var/run/secrets/kubernetes.io/token"));
    TH_CHECK(th_path_is_sensitive_read("/run/secrets/x"));
    TH_CHECK(!th_path_is_sensitive_read("/var/task/index.js"));
    TH_CHECK(th_path_is_under_tmp("/tmp/x"));
    TH_CHECK(!th_path_is_under_tmp("/tmp"));
    TH_CHECK(!th_path_is_under_tmp("/tmpfoo/x"));
    TH_CHECK(!th_path_is_under_tmp("/var/tmp/x"));
}

static void test_open_flags(void)
{
    TH_CHECK(!th_open_flags_write(O_RDONLY));
    TH_CHECK(!th_open_flags_write(O_RDONLY | O_CLOEXEC | O_DIRECTORY));
    TH_CHECK(th_open_flags_write(O_WRONLY));
    TH_CHECK(th_open_flags_write(O_RDWR));
    TH_CHECK(th_open_flags_write(O_RDONLY | O_CREAT));
    TH_CHECK(th_open_flags_write(O_RDONLY | O_TRUNC));
    TH_CHECK(!th_open_flags_write(O_PATH | O_CREAT));
    TH_CHECK(th_fopen_mode_flags("r") == O_RDONLY);
    TH_CHECK(th_fopen_mode_flags("rb+") == O_RDWR);
    TH_CHECK(th_fopen_mode_flags("w") == (O_WRONLY | O_CREAT | O_TRUNC));
    TH_CHECK(th_fopen_mode_flags("ae") == (O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC));
    TH_CHECK(th_fopen_mode_flags("x") == -1);
    TH_CHECK(th_fopen_mode_flags(NULL) == -1);
}

static void test_format_u64(void)
{
    char buf[21];
    TH_CHECK(th_text_format_u64(buf, sizeof(buf), 0) == 1 && strcmp(buf, "0") == 0);
    TH_CHECK(th_text_format_u64(buf, sizeof(buf), UINT64_MAX) == 20);
    TH_CHECK_STR(buf, "18446744073709551615");
    TH_CHECK(th_text_format_u64(buf, 3, 123) == -1);
}

int main(void)
{
    TH_RUN(test_copy);
    TH_RUN(test_join_argv);
    TH_RUN(test_append);
    TH_RUN(test_format_addr_matches_inet_ntop);
    TH_RUN(test_normalize);
    TH_RUN(test_classify);
    TH_RUN(test_open_flags);
    TH_RUN(test_format_u64);
    return th_test_report("text_test");
}
