/*
 * Network hooks: connect (AF_INET / AF_INET6: address text and port; enforce
 * mode checks the connect: rules) and getaddrinfo (the name and the distinct
 * addresses it resolved to, joined by '\x1f').
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "preload.h"

TH_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    __typeof__(&connect) real = TH_REAL(connect);
    if (!real) {
        errno = ENOSYS;
        return -1;
    }
    const uint8_t *ip;
    uint16_t port;
    if (!addr)
        return real(fd, addr, len);
    if (addr->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
        ip = (const uint8_t *)&in->sin_addr;
        port = ntohs(in->sin_port);
    } else if (addr->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;
        ip = (const uint8_t *)&in6->sin6_addr;
        port = ntohs(in6->sin6_port);
    } else {
        return real(fd, addr, len);
    }
    if (!th_hook_enter())
        return real(fd, addr, len);

    int saved = errno;
    struct th_record rec;
    th_record_init(&rec, TH_KIND_NETWORK_CONNECT);
    rec.family = (uint8_t)addr->sa_family;
    rec.arg = port;
    th_text_format_addr(rec.path, sizeof(rec.path), addr->sa_family, ip);

    int rc = -1;
    if (!th_allow_connect(addr->sa_family, ip, port)) {
        th_record_deny(&rec);
        saved = EPERM;
    } else {
        errno = saved;
        rc = real(fd, addr, len);
        saved = errno;
        rec.result = rc < 0 ? -saved : 0;
        th_record_emit(&rec);
    }
    th_hook_leave();
    errno = saved;
    return rc;
}

TH_EXPORT int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                          struct addrinfo **res)
{
    __typeof__(&getaddrinfo) real = TH_REAL(getaddrinfo);
    if (!real)
        return EAI_SYSTEM;
    if (!node || !th_hook_enter())
        return real(node, service, hints, res);

    int rc = real(node, service, hints, res);
    int saved = errno;
    struct th_record rec;
    th_record_init(&rec, TH_KIND_NETWORK_DNS);
    rec.result = rc; /* 0 or a negative EAI_* code (FORMAT.md) */
    if (th_text_copy(rec.path, sizeof(rec.path), node))
        rec.flags |= TH_FLAG_TRUNCATED;
    for (const struct addrinfo *ai = rc == 0 && res ? *res : NULL; ai; ai = ai->ai_next) {
        char text[64];
        const void *ip;
        if (ai->ai_family == AF_INET && ai->ai_addrlen >= sizeof(struct sockaddr_in))
            ip = &((const struct sockaddr_in *)ai->ai_addr)->sin_addr;
        else if (ai->ai_family == AF_INET6 && ai->ai_addrlen >= sizeof(struct sockaddr_in6))
            ip = &((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
        else
            continue;
        if (th_text_format_addr(text, sizeof(text), ai->ai_family, ip) != 0)
            continue;
        /* One entry per address, not per socket type. */
        size_t tl = strlen(text);
        bool seen = false;
        for (const char *p = rec.detail; *p && !seen;) {
            const char *end = strchrnul(p, '\x1f');
            seen = (size_t)(end - p) == tl && memcmp(p, text, tl) == 0;
            p = *end ? end + 1 : end;
        }
        if (!seen && th_text_append(rec.detail, sizeof(rec.detail), '\x1f', text)) {
            rec.flags |= TH_FLAG_TRUNCATED;
            break;
        }
    }
    th_record_emit(&rec);
    th_hook_leave();
    errno = saved;
    return rc;
}
