/* Purpose: a TCP throughput probe for root filesystems without iperf3 (the lane's): one static
 * binary, two modes.
 *   tcp-blast serve PORT            accept connections; write zeros to each until it closes
 *   tcp-blast get HOST PORT SECONDS read from HOST:PORT for SECONDS (after a 1 s warm-up, as
 *                                   iperf3 -O 1); print the rate in Gbps, two decimals
 * Built with -static by bench/pasta-ports.sh. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static char buf[1 << 20];

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void* feed(void* arg) {
    int fd = (int)(long)arg;
    while (write(fd, buf, sizeof buf) > 0) {
    }
    close(fd);
    return NULL;
}

static int serve(int port) {
    int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (s < 0 || bind(s, (struct sockaddr*)&a, sizeof a) != 0 || listen(s, 16) != 0) {
        perror("tcp-blast serve");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    for (;;) {
        int c = accept(s, NULL, NULL);
        pthread_t t;
        if (c >= 0 && pthread_create(&t, NULL, feed, (void*)(long)c) == 0) pthread_detach(t);
    }
}

static int get(const char* host, int port, double seconds) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    if (s < 0 || inet_pton(AF_INET, host, &a.sin_addr) != 1 ||
        connect(s, (struct sockaddr*)&a, sizeof a) != 0) {
        perror("tcp-blast get");
        return 1;
    }
    double start = now(), from = start + 1, end = from + seconds;
    unsigned long long bytes = 0;
    for (;;) {
        ssize_t n = read(s, buf, sizeof buf);
        double t = now();
        if (n <= 0) {
            fprintf(stderr, "tcp-blast get: the connection ended early\n");
            return 1;
        }
        if (t >= from) bytes += (unsigned long long)n;
        if (t >= end) break;
    }
    printf("%.2f\n", bytes * 8 / seconds / 1e9);
    return 0;
}

int main(int argc, char** argv) {
    if (argc == 3 && strcmp(argv[1], "serve") == 0) return serve(atoi(argv[2]));
    if (argc == 5 && strcmp(argv[1], "get") == 0) return get(argv[2], atoi(argv[3]), atof(argv[4]));
    fprintf(stderr, "usage: tcp-blast serve PORT | tcp-blast get HOST PORT SECONDS\n");
    return 2;
}
