/* Purpose: a UDP echo server for the lane's container image (which holds only static
 * binaries): udp-echo PORT prints each datagram on stdout (so `docker logs` shows it) and sends
 * it back to its sender. Built with -static by lane.sh. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char** argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: udp-echo PORT\n");
        return 2;
    }
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((unsigned short)atoi(argv[1]))};
    if (fd < 0 || bind(fd, (struct sockaddr*)&a, sizeof a) != 0) {
        perror("udp-echo");
        return 1;
    }
    for (;;) {
        char buf[2048];
        struct sockaddr_storage from;
        socklen_t len = sizeof from;
        ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr*)&from, &len);
        if (n < 0) continue;
        fwrite(buf, 1, (size_t)n, stdout);
        fflush(stdout);
        sendto(fd, buf, (size_t)n, 0, (struct sockaddr*)&from, len);
    }
}
