/* Purpose: the reference point for bench/ports.sh - the simplest TCP forwarder Linux allows:
 * two blocking threads per connection, each moving bytes with splice(2) through a 1 MiB pipe.
 * No event loop, no namespace, no dial round trip. Like our builtin driver, it gives its
 * loopback sockets a congestion control that does not pace (cubic, else reno) instead of a
 * host default such as bbr. Its throughput on the same machine in the same run is the ceiling
 * a splice-based port driver can reach.
 *
 *   splice-proxy LISTEN_PORT TARGET_PORT      (both on 127.0.0.1; runs until killed) */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

/* One connection: both sockets, closed by whichever direction finishes last. */
struct conn {
    int client, server;
    atomic_int running;
};
struct half {
    struct conn* c;
    int from, to;
};

static void* pump(void* arg) {
    struct half h = *(struct half*)arg;
    free(arg);
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return NULL;
    fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
    for (;;) {
        ssize_t n = splice(h.from, NULL, p[1], NULL, 1 << 20, SPLICE_F_MOVE);
        if (n <= 0) break;
        while (n > 0) {
            ssize_t m = splice(p[0], NULL, h.to, NULL, (size_t)n, SPLICE_F_MOVE);
            if (m <= 0) goto out;
            n -= m;
        }
    }
out:
    shutdown(h.to, SHUT_WR);
    close(p[0]);
    close(p[1]);
    if (atomic_fetch_sub(&h.c->running, 1) == 1) {
        close(h.c->client);
        close(h.c->server);
        free(h.c);
    }
    return NULL;
}

static void start(struct conn* c, int from, int to) {
    struct half* h = malloc(sizeof *h);
    pthread_t t;
    h->c = c;
    h->from = from;
    h->to = to;
    if (pthread_create(&t, NULL, pump, h) != 0) abort();
    pthread_detach(t);
}

/* Both peers are on loopback: no pacing (see use_local_congestion_control in
 * src/port/builtin/dial.cpp). */
static void local_congestion_control(int fd) {
    if (setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, "cubic", 5) != 0)
        setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, "reno", 4);
}

static struct sockaddr_in loopback(const char* port) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

int main(int argc, char** argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s LISTEN_PORT TARGET_PORT\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    struct sockaddr_in la = loopback(argv[1]), ta = loopback(argv[2]);
    int one = 1, l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(l, (struct sockaddr*)&la, sizeof la) != 0 || listen(l, 128) != 0) {
        perror("splice-proxy: listen");
        return 1;
    }
    for (;;) {
        int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) continue;
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        local_congestion_control(c);
        local_congestion_control(s);
        if (connect(s, (struct sockaddr*)&ta, sizeof ta) != 0) {
            close(c);
            close(s);
            continue;
        }
        struct conn* cn = malloc(sizeof *cn);
        cn->client = c;
        cn->server = s;
        atomic_init(&cn->running, 2);
        start(cn, c, s);
        start(cn, s, c);
    }
}
