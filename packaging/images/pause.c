/* pause.c - knode's pause program, PID 1 of every pod sandbox.
 *
 * It holds the pod's namespaces open and does nothing else: it reaps any
 * child reparented to it (SIGCHLD), exits 0 on SIGINT or SIGTERM, and with
 * -v prints its version. Built static (packaging/images/build.sh) so the
 * image needs nothing but this file. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PAUSE_VERSION
#define PAUSE_VERSION "3.9"
#endif

static void on_stop(int sig)
{
    (void)sig;
    _exit(0);
}

static void on_child(int sig)
{
    (void)sig;
    int saved = errno;
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
    errno = saved;
}

static int install(int sig, void (*fn)(int), int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = fn;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    return sigaction(sig, &sa, NULL);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-v") == 0) {
            printf("pause.c knode-%s\n", PAUSE_VERSION);
            return 0;
        }
    }
    if (getpid() != 1)
        fprintf(stderr, "pause: warning: not PID 1, orphans will not be reaped here\n");
    if (install(SIGINT, on_stop, 0) < 0 || install(SIGTERM, on_stop, 0) < 0 ||
        install(SIGCHLD, on_child, SA_NOCLDSTOP | SA_RESTART) < 0) {
        perror("pause: sigaction");
        return 1;
    }
    for (;;)
        pause();
}
