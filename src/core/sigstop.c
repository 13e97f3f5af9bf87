/* core/sigstop.c: see include/m3fs/sigstop.h. */
#include <string.h>

#include "m3fs/sigstop.h"

static const int g_sigs[SIGSTOP_N] = { SIGINT, SIGTERM, SIGHUP };
static volatile sig_atomic_t g_caught;

static void on_signal(int sig)
{
    g_caught = sig;
}

void sigstop_install(struct sigstop *s)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART | SA_RESETHAND; /* a second one kills */
    sigemptyset(&sa.sa_mask);
    g_caught = 0;
    for (int i = 0; i < SIGSTOP_N; i++) sigaction(g_sigs[i], &sa, &s->old[i]);
}

void sigstop_restore(const struct sigstop *s)
{
    for (int i = 0; i < SIGSTOP_N; i++) sigaction(g_sigs[i], &s->old[i], NULL);
}

int sigstop_caught(void)
{
    return g_caught;
}
