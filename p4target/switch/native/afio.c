/* Batched AF_PACKET I/O for the embedded switch (loaded with cffi by afio.py).
 *
 * afio_recv: wait (poll, GIL released by cffi) until one of the switch's sockets or the stop
 * pipe is readable, then read up to `cap` frames with recvmmsg from every readable socket,
 * dropping frames the kernel reports as PACKET_OUTGOING (our own transmissions).  The frames
 * are packed one after the other at the start of the buffer (off/len/idx per frame).
 * afio_send: write n frames of one blob to one socket with sendmmsg.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/if_packet.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#define AFIO_MAX_FDS 1024
#define AFIO_SEND_CHUNK 256

typedef struct afio_rx {
    int cap, slot, rr;
    uint8_t *buf;
    struct mmsghdr *msgs;
    struct iovec *iov;
    struct sockaddr_ll *addrs;
    int32_t *sock; /* socket index of each slot */
    struct pollfd pfd[AFIO_MAX_FDS + 1];
} afio_rx_t;

afio_rx_t *afio_rx_new(int cap, int slot) {
    if (cap <= 0 || slot <= 0) return NULL;
    afio_rx_t *rx = calloc(1, sizeof *rx);
    if (!rx) return NULL;
    rx->cap = cap;
    rx->slot = slot;
    rx->buf = malloc((size_t)cap * (size_t)slot); /* large: mmap'd, pages touched on use */
    rx->msgs = calloc((size_t)cap, sizeof *rx->msgs);
    rx->iov = calloc((size_t)cap, sizeof *rx->iov);
    rx->addrs = calloc((size_t)cap, sizeof *rx->addrs);
    rx->sock = calloc((size_t)cap, sizeof *rx->sock);
    if (!rx->buf || !rx->msgs || !rx->iov || !rx->addrs || !rx->sock) {
        free(rx->buf), free(rx->msgs), free(rx->iov), free(rx->addrs), free(rx->sock);
        free(rx);
        return NULL;
    }
    return rx;
}

void afio_rx_free(afio_rx_t *rx) {
    if (!rx) return;
    free(rx->buf), free(rx->msgs), free(rx->iov), free(rx->addrs), free(rx->sock);
    free(rx);
}

uint8_t *afio_rx_buf(afio_rx_t *rx) { return rx->buf; }

/* Returns the number of frames (>= 0), -2 when stop_fd is readable (nothing read), -1 on a
 * poll error (errno).  stats[0] += outgoing frames skipped, stats[1] += truncated frames;
 * errs[i] = errno of a failed recvmmsg on fds[i] (0 otherwise). */
int afio_recv(afio_rx_t *rx, int nfds, const int *fds, int stop_fd, int timeout_ms,
              int32_t *off, int32_t *len, int32_t *idx, int32_t *errs, uint64_t *stats) {
    if (nfds < 0 || nfds > AFIO_MAX_FDS) {
        errno = EINVAL;
        return -1;
    }
    struct pollfd *pfd = rx->pfd;
    for (int i = 0; i < nfds; i++) {
        pfd[i].fd = fds[i];
        pfd[i].events = POLLIN;
        pfd[i].revents = 0;
        errs[i] = 0;
    }
    pfd[nfds].fd = stop_fd;
    pfd[nfds].events = POLLIN;
    pfd[nfds].revents = 0;
    int r = poll(pfd, (nfds_t)nfds + 1, timeout_ms);
    if (r < 0) return errno == EINTR ? 0 : -1;
    if (pfd[nfds].revents) return -2;
    if (r == 0 || nfds == 0) return 0;
    int got = 0;
    int start = rx->rr++ % nfds; /* round robin: no socket always goes first */
    for (int j = 0; j < nfds && got < rx->cap; j++) {
        int i = (start + j) % nfds;
        if (!(pfd[i].revents & (POLLIN | POLLERR))) continue;
        int want = rx->cap - got;
        for (int k = 0; k < want; k++) {
            int s = got + k;
            rx->iov[s].iov_base = rx->buf + (size_t)s * (size_t)rx->slot;
            rx->iov[s].iov_len = (size_t)rx->slot;
            struct msghdr *h = &rx->msgs[s].msg_hdr;
            memset(h, 0, sizeof *h);
            h->msg_iov = &rx->iov[s];
            h->msg_iovlen = 1;
            h->msg_name = &rx->addrs[s];
            h->msg_namelen = sizeof rx->addrs[s];
        }
        int n = recvmmsg(fds[i], &rx->msgs[got], (unsigned)want, MSG_DONTWAIT, NULL);
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) errs[i] = errno;
            continue;
        }
        for (int k = 0; k < n; k++) rx->sock[got + k] = i;
        got += n;
    }
    /* pack the kept frames at the start of the buffer (dest never passes source) */
    int out = 0;
    size_t pos = 0;
    for (int s = 0; s < got; s++) {
        if (rx->addrs[s].sll_pkttype == PACKET_OUTGOING) {
            stats[0]++;
            continue;
        }
        if (rx->msgs[s].msg_hdr.msg_flags & MSG_TRUNC) stats[1]++;
        size_t n = rx->msgs[s].msg_len;
        uint8_t *src = rx->buf + (size_t)s * (size_t)rx->slot;
        if (rx->buf + pos != src) memmove(rx->buf + pos, src, n);
        off[out] = (int32_t)pos;
        len[out] = (int32_t)n;
        idx[out] = rx->sock[s];
        pos += n;
        out++;
    }
    return out;
}

/* Send frames blob[off[i] .. off[i]+len[i]) in order; returns how many were sent.  A full
 * socket buffer (EAGAIN) waits up to wait_ms for room, at most 3 times, then the rest is
 * dropped; a frame the kernel refuses or drops (ENOBUFS, EMSGSIZE, ENETDOWN...) is skipped.
 * *err = the last errno seen (0: none). */
int afio_send(int fd, const uint8_t *blob, const int32_t *off, const int32_t *len, int n,
              int wait_ms, int *err) {
    struct mmsghdr msgs[AFIO_SEND_CHUNK];
    struct iovec iov[AFIO_SEND_CHUNK];
    int done = 0, sent = 0, waits = 0;
    *err = 0;
    while (done < n) {
        int m = n - done < AFIO_SEND_CHUNK ? n - done : AFIO_SEND_CHUNK;
        for (int k = 0; k < m; k++) {
            iov[k].iov_base = (void *)(blob + off[done + k]);
            iov[k].iov_len = (size_t)len[done + k];
            memset(&msgs[k], 0, sizeof msgs[k]);
            msgs[k].msg_hdr.msg_iov = &iov[k];
            msgs[k].msg_hdr.msg_iovlen = 1;
        }
        int r = sendmmsg(fd, msgs, (unsigned)m, MSG_DONTWAIT);
        if (r > 0) {
            done += r;
            sent += r;
            continue;
        }
        *err = errno;
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (waits++ >= 3) break;
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            poll(&p, 1, wait_ms);
            continue;
        }
        if (errno == EBADF || errno == ENOTSOCK) break;
        done++; /* this frame is refused: skip it */
    }
    return sent;
}
