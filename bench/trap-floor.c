/* Purpose: the floor of any connect() bypass built on seccomp user notification, on this
 * machine: new connections/s to a loopback server with every connect() trapped by a filter
 * and answered by a supervisor process that does the least such a bypass must do - against
 * the same loop untrapped. Two supervisors, one after the other:
 *   - "trapped": receive and CONTINUE (one round trip between the caller and us);
 *   - "replaced": receive, make a socket, put it at the caller's fd number
 *     (SECCOMP_IOCTL_NOTIF_ADDFD with SETFD) and CONTINUE - the caller then connects the new
 *     socket. ADDFD is carried out by the caller itself: it is woken to install the fd and we
 *     wait for it, so this is two round trips, as for every connection a bypass replaces.
 * Each twice: as a plain supervisor, and with SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (Linux 6.6:
 * the kernel wakes the supervisor on the caller's CPU and back), as rootlesskit's workers use
 * it where the kernel has it.
 * Used by bench/bypass.sh.
 *   trap-floor SECONDS [THREADS]
 *                           prints "plain trapped replaced trapped-sync replaced-sync"
 *                           connections/s (the last two 0 where the kernel lacks the flag),
 *                           with THREADS client threads connecting at once (1 by default) and
 *                           as many supervisor threads
 * Runs unprivileged (no_new_privs). */
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int threads = 1; /* client threads, and supervisor threads */

struct loop {
    struct sockaddr_in* a;
    double seconds;
    long n;
};

static void* connect_loop(void* arg) {
    struct loop* l = arg;
    double start = now();
    while (now() - start < l->seconds) {
        int c = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(c, (struct sockaddr*)l->a, sizeof *l->a) != 0) {
            l->n = -1;
            return NULL;
        }
        char b;
        (void)!read(c, &b, 1);
        close(c);
        ++l->n;
    }
    return NULL;
}

/* Connections/s of `threads` threads connecting at once. */
static double rate(struct sockaddr_in* a, double seconds) {
    struct loop l[16];
    pthread_t t[16];
    for (int i = 0; i < threads; ++i) {
        l[i] = (struct loop){a, seconds, 0};
        pthread_create(&t[i], NULL, connect_loop, &l[i]);
    }
    long n = 0;
    for (int i = 0; i < threads; ++i) {
        pthread_join(t[i], NULL);
        if (l[i].n < 0) return -1;
        n += l[i].n;
    }
    return n / seconds;
}

struct sup {
    int listener, replace;
};

static void* supervise(void* arg) {
    struct sup* s = arg;
    for (;;) {
        struct seccomp_notif n;
        memset(&n, 0, sizeof n);
        if (ioctl(s->listener, SECCOMP_IOCTL_NOTIF_RECV, &n) != 0) continue;
        if (s->replace) {
            int ours = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            struct seccomp_notif_addfd add = {.id = n.id,
                                              .flags = SECCOMP_ADDFD_FLAG_SETFD,
                                              .srcfd = (unsigned)ours,
                                              .newfd = (unsigned)n.data.args[0]};
            ioctl(s->listener, SECCOMP_IOCTL_NOTIF_ADDFD, &add);
            close(ours);
        }
        struct seccomp_notif_resp r = {.id = n.id, .flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE};
        ioctl(s->listener, SECCOMP_IOCTL_NOTIF_SEND, &r);
    }
    return NULL;
}

/* The rate with every connect() trapped and answered by a supervisor that replaces the
 * caller's socket first if `replace`, with synchronous wake-ups if `sync` (0 if the kernel
 * lacks them). */
static double trapped_rate(struct sockaddr_in* a, double seconds, int replace, int sync) {
    int sp[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sp);
    pid_t client = fork();
    if (client == 0) {
        struct sock_filter f[] = {
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_connect, 0, 1),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_fprog p = {4, f};
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        int l = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &p);
        char ctl[CMSG_SPACE(sizeof(int))] = {0};
        char byte = 'L';
        struct iovec iov = {&byte, 1};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
                            .msg_controllen = sizeof ctl};
        struct cmsghdr* c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &l, sizeof l);
        sendmsg(sp[0], &mh, 0);
        close(l);
        double r = rate(a, seconds);
        (void)!write(sp[0], &r, sizeof r);
        _exit(0);
    }
    char byte, ctl[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {&byte, 1};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
                        .msg_controllen = sizeof ctl};
    recvmsg(sp[1], &mh, 0);
    int l;
    memcpy(&l, CMSG_DATA(CMSG_FIRSTHDR(&mh)), sizeof l);
    /* SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP */
    int synced = sync && ioctl(l, SECCOMP_IOW(4, __u64), 1ULL) == 0;
    pid_t sup = fork();
    if (sup == 0) {
        struct sup arg = {l, replace};
        pthread_t t;
        for (int i = 1; i < threads; ++i)
            pthread_create(&t, NULL, supervise, &arg);
        supervise(&arg);
    }
    close(l);
    close(sp[0]);
    double trapped = 0;
    (void)!read(sp[1], &trapped, sizeof trapped);
    close(sp[1]);
    kill(sup, SIGKILL);
    waitpid(sup, NULL, 0);
    waitpid(client, NULL, 0);
    return sync && !synced ? 0 : trapped;
}

int main(int argc, char** argv) {
    double seconds = argc > 1 ? atof(argv[1]) : 3;
    threads = argc > 2 ? atoi(argv[2]) : 1;
    if (threads < 1 || threads > 16) return 2;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (bind(s, (struct sockaddr*)&a, sizeof a) != 0 || listen(s, 1024) != 0) return 1;
    getsockname(s, (struct sockaddr*)&a, &al);
    pid_t server = fork();
    if (server == 0) {
        for (;;) {
            int c = accept(s, NULL, NULL);
            if (c >= 0) close(c);
        }
    }
    double plain = rate(&a, seconds);
    double trapped = trapped_rate(&a, seconds, 0, 0);
    double replaced = trapped_rate(&a, seconds, 1, 0);
    double trapped_sync = trapped_rate(&a, seconds, 0, 1);
    double replaced_sync = trapped_rate(&a, seconds, 1, 1);
    kill(server, SIGKILL);
    waitpid(server, NULL, 0);
    printf("%.0f %.0f %.0f %.0f %.0f\n", plain, trapped, replaced, trapped_sync, replaced_sync);
    return 0;
}
