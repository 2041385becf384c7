/* Purpose: a new-connection rate probe for bench/bypass.sh.
 *   conn-rate serve PORT             accept TCP connections and close each at once
 *   conn-rate run HOST PORT SECONDS [THREADS]
 *                                    connect, wait for the server's close, close; repeat for
 *                                    SECONDS (after a 0.5 s warm-up), in THREADS threads at
 *                                    once (1 by default); print connections/s (all threads)
 *   conn-rate serve-unix NAME        the same server on an abstract unix socket
 *   conn-rate run-unix NAME SECONDS  the same client on it, one thread; connect()'s address
 *                                    length is the name's + 3 (the socket bypass traps AF_UNIX
 *                                    connects only at lengths 16, 24 and 28: a 25-byte name)
 * One connection at a time per thread: the rate is the inverse of one connect's whole cost,
 * which is what the socket bypass adds to (a seccomp notification and our work per connect()). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void serve(int s) {
    if (listen(s, 4096) != 0) exit(1);
    for (;;) {
        int c = accept(s, NULL, NULL);
        if (c >= 0) close(c);
    }
}

struct client {
    int family;
    struct sockaddr_storage addr;
    socklen_t len;
    double seconds, start;
    long n;
};

static void* run(void* arg) {
    struct client* c = arg;
    double measured_from = c->start + 0.5;
    for (;;) {
        double t = now();
        if (t >= measured_from + c->seconds) break;
        int s = socket(c->family, SOCK_STREAM, 0);
        if (connect(s, (struct sockaddr*)&c->addr, c->len) != 0) {
            perror("connect");
            exit(1);
        }
        char b;
        (void)!read(s, &b, 1); /* the server's close */
        close(s);
        if (t >= measured_from) ++c->n;
    }
    return NULL;
}

int main(int argc, char** argv) {
    if (argc == 3 && strcmp(argv[1], "serve") == 0) {
        int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[2]))};
        if (bind(s, (struct sockaddr*)&a, sizeof a) != 0) return 1;
        serve(s);
    }
    if (argc == 3 && strcmp(argv[1], "serve-unix") == 0) {
        int s = socket(AF_UNIX, SOCK_STREAM, 0);
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        size_t n = strlen(argv[2]) < sizeof a.sun_path - 1 ? strlen(argv[2]) : sizeof a.sun_path - 1;
        memcpy(a.sun_path + 1, argv[2], n); /* abstract: a leading NUL */
        if (bind(s, (struct sockaddr*)&a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)) != 0)
            return 1;
        serve(s);
    }
    struct client proto = {0};
    int threads = 1;
    if ((argc == 5 || argc == 6) && strcmp(argv[1], "run") == 0) {
        struct sockaddr_in* a = (struct sockaddr_in*)&proto.addr;
        a->sin_family = AF_INET;
        a->sin_port = htons(atoi(argv[3]));
        if (inet_pton(AF_INET, argv[2], &a->sin_addr) != 1) return 2;
        proto.family = AF_INET;
        proto.len = sizeof *a;
        proto.seconds = atof(argv[4]);
        if (argc == 6) threads = atoi(argv[5]);
    } else if (argc == 4 && strcmp(argv[1], "run-unix") == 0) {
        struct sockaddr_un* a = (struct sockaddr_un*)&proto.addr;
        a->sun_family = AF_UNIX;
        size_t n = strlen(argv[2]) < sizeof a->sun_path - 1 ? strlen(argv[2]) : sizeof a->sun_path - 1;
        memcpy(a->sun_path + 1, argv[2], n);
        proto.family = AF_UNIX;
        proto.len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
        proto.seconds = atof(argv[3]);
    } else {
        fprintf(stderr, "usage: conn-rate serve PORT | run HOST PORT SECONDS [THREADS] | "
                        "serve-unix NAME | run-unix NAME SECONDS\n");
        return 2;
    }
    if (threads < 1 || threads > 64) return 2;
    struct client c[64];
    pthread_t t[64];
    proto.start = now();
    for (int i = 0; i < threads; ++i) {
        c[i] = proto;
        pthread_create(&t[i], NULL, run, &c[i]);
    }
    long n = 0;
    for (int i = 0; i < threads; ++i) {
        pthread_join(t[i], NULL);
        n += c[i].n;
    }
    printf("%.0f\n", n / proto.seconds);
    return 0;
}
