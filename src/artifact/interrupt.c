/* SIGINT, SIGTERM and SIGHUP during `artifact download`: a flag the
 * transfer loop and the bundle writer check, so the transfers stop at once
 * keeping their .part files (the next run resumes them with HTTP ranges) and
 * a half-written bundle is removed. */
#include <signal.h>
#include <string.h>

#include "m3fs/artifact.h"

static volatile sig_atomic_t g_stop;
static const int g_sigs[] = { SIGINT, SIGTERM, SIGHUP };
static struct sigaction g_old[sizeof(g_sigs) / sizeof(g_sigs[0])];

static void on_signal(int sig)
{
    g_stop = sig;
}

void artifact_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART | SA_RESETHAND; /* a second one kills */
    sigemptyset(&sa.sa_mask);
    g_stop = 0;
    for (size_t i = 0; i < sizeof(g_sigs) / sizeof(g_sigs[0]); i++)
        sigaction(g_sigs[i], &sa, &g_old[i]);
}

void artifact_signals_restore(void)
{
    for (size_t i = 0; i < sizeof(g_sigs) / sizeof(g_sigs[0]); i++)
        sigaction(g_sigs[i], &g_old[i], NULL);
}

int artifact_interrupted(void)
{
    return g_stop;
}
