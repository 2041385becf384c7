/* Purpose: a new-connection rate probe for bench/bypass.sh.
 *   conn-rate serve PORT             accept connections and close each at once
 *   conn-rate run HOST PORT SECONDS  connect, wait for the server's close, close; repeat for
 *                                    SECONDS (after a 0.5 s warm-up); print connections/s
 * One connection at a time: the rate is the inverse of one connect's whole cost, which is
 * what the socket bypass adds to (a seccomp notification and our work per connect()). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
    if (argc == 3 && strcmp(argv[1], "serve") == 0) {
        int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[2]))};
        if (bind(s, (struct sockaddr*)&a, sizeof a) != 0 || listen(s, 1024) != 0) return 1;
        for (;;) {
            int c = accept(s, NULL, NULL);
            if (c >= 0) close(c);
        }
    }
    if (argc != 5 || strcmp(argv[1], "run") != 0) {
        fprintf(stderr, "usage: conn-rate serve PORT | conn-rate run HOST PORT SECONDS\n");
        return 2;
    }
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[3]))};
    if (inet_pton(AF_INET, argv[2], &a.sin_addr) != 1) return 2;
    double seconds = atof(argv[4]), start = now(), measured_from = start + 0.5;
    long n = 0;
    for (;;) {
        double t = now();
        if (t >= measured_from + seconds) break;
        int c = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(c, (struct sockaddr*)&a, sizeof a) != 0) {
            perror("connect");
            return 1;
        }
        char b;
        (void)!read(c, &b, 1); /* the server's close */
        close(c);
        if (t >= measured_from) ++n;
    }
    printf("%.0f\n", n / seconds);
    return 0;
}
