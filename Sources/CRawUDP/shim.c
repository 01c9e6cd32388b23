#define _GNU_SOURCE
#include <pthread.h>
#include <sys/socket.h>
#include "CRawUDP.h"

_Static_assert(sizeof(CRawUDP_mmsghdr) == sizeof(struct mmsghdr), "mmsghdr layout drifted");
_Static_assert(offsetof(CRawUDP_mmsghdr, msg_len) == offsetof(struct mmsghdr, msg_len), "mmsghdr layout drifted");
_Static_assert(IP_TRANSPARENT == 19 && IP_RECVORIGDSTADDR == 20 && IP_ORIGDSTADDR == 20, "IPv4 TPROXY option numbers");
_Static_assert(IPV6_TRANSPARENT == 75 && IPV6_RECVORIGDSTADDR == 74 && IPV6_ORIGDSTADDR == 74, "IPv6 TPROXY option numbers");

int CRawUDP_recvmmsg(int fd, CRawUDP_mmsghdr *vec, unsigned int vlen, int flags, struct timespec *timeout) {
    return recvmmsg(fd, (struct mmsghdr *)vec, vlen, flags, timeout);
}

int CRawUDP_sendmmsg(int fd, CRawUDP_mmsghdr *vec, unsigned int vlen, int flags) {
    return sendmmsg(fd, (struct mmsghdr *)vec, vlen, flags);
}

int CRawUDP_accept4(int fd, struct sockaddr *address, socklen_t *length, int flags) {
    return accept4(fd, address, length, flags);
}

struct cmsghdr *CRawUDP_CMSG_FIRSTHDR(const struct msghdr *msg) { return CMSG_FIRSTHDR(msg); }
struct cmsghdr *CRawUDP_CMSG_NXTHDR(struct msghdr *msg, struct cmsghdr *cmsg) { return CMSG_NXTHDR(msg, cmsg); }
const void *CRawUDP_CMSG_DATA(const struct cmsghdr *cmsg) { return CMSG_DATA(cmsg); }
size_t CRawUDP_CMSG_SPACE(size_t payloadLength) { return CMSG_SPACE(payloadLength); }
size_t CRawUDP_CMSG_LEN(size_t payloadLength) { return CMSG_LEN(payloadLength); }

int CRawUDP_set_current_thread_name(const char *name) {
    return pthread_setname_np(pthread_self(), name);
}
