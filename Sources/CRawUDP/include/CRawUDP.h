// The thin C boundary of RawUDP: what Swift cannot see through Glibc.
// Function-like CMSG_* macros, the _GNU_SOURCE-only recvmmsg/sendmmsg, and the
// TPROXY socket option numbers, each named once here.
#ifndef CRAWUDP_H
#define CRAWUDP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <netinet/in.h>
#include <time.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/eventfd.h>

// Same layout as glibc's struct mmsghdr (part of the glibc ABI), which Swift
// cannot import because it is hidden behind _GNU_SOURCE.
typedef struct {
    struct msghdr msg_hdr;
    unsigned int msg_len;
} CRawUDP_mmsghdr;

int CRawUDP_recvmmsg(int fd, CRawUDP_mmsghdr *vec, unsigned int vlen, int flags, struct timespec *timeout);
int CRawUDP_sendmmsg(int fd, CRawUDP_mmsghdr *vec, unsigned int vlen, int flags);
int CRawUDP_accept4(int fd, struct sockaddr *address, socklen_t *length, int flags);
// pthread_setname_np on the calling thread; returns 0 or an errno value (ERANGE: over 15 bytes).
int CRawUDP_set_current_thread_name(const char *name);

struct cmsghdr *CRawUDP_CMSG_FIRSTHDR(const struct msghdr *msg);
struct cmsghdr *CRawUDP_CMSG_NXTHDR(struct msghdr *msg, struct cmsghdr *cmsg);
const void *CRawUDP_CMSG_DATA(const struct cmsghdr *cmsg);
size_t CRawUDP_CMSG_SPACE(size_t payloadLength);
size_t CRawUDP_CMSG_LEN(size_t payloadLength);

// linux/in.h and linux/in6.h values, stable kernel ABI.
static const int CRawUDP_IP_TRANSPARENT = 19;
static const int CRawUDP_IP_RECVORIGDSTADDR = 20;
static const int CRawUDP_IP_ORIGDSTADDR = 20;
static const int CRawUDP_IPV6_TRANSPARENT = 75;
static const int CRawUDP_IPV6_RECVORIGDSTADDR = 74;
static const int CRawUDP_IPV6_ORIGDSTADDR = 74;

#endif
