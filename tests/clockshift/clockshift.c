/* clockshift: move the wall clock of a process (and its children) by a fixed offset.
 *
 *   LD_PRELOAD=clockshift.so CLOCKSHIFT_SECONDS=34560000 python -m pytest ...
 *
 * Only the wall clock moves (CLOCK_REALTIME and its kin, gettimeofday, time,
 * timespec_get); the monotonic clock, sleeps and timed waits are left alone, so
 * nothing waits longer than it asked to. That is why this exists beside Debian's
 * faketime (libfaketime 0.9.10): with an offset it shifts the monotonic clock too but
 * not sem_clockwait, so Python 3.11's timed lock waits hang for the whole offset; with
 * FAKETIME_DONT_FAKE_MONOTONIC=1 its clock_nanosleep turns every time.sleep into
 * EINVAL. Programs that read the clock without libc (Go's SeaweedFS) are not shifted.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

static long long offset = 0;
static int ready = 0;
static int (*real_clock_gettime)(clockid_t, struct timespec *) = NULL;

static void setup(void) {
    if (ready) return;
    const char *text = getenv("CLOCKSHIFT_SECONDS");
    offset = text ? atoll(text) : 0;
    real_clock_gettime = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
    ready = 1;
}

static int is_wall(clockid_t id) {
    return id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE
#ifdef CLOCK_REALTIME_ALARM
           || id == CLOCK_REALTIME_ALARM
#endif
#ifdef CLOCK_TAI
           || id == CLOCK_TAI
#endif
        ;
}

int clock_gettime(clockid_t id, struct timespec *ts) {
    setup();
    int result = real_clock_gettime(id, ts);
    if (result == 0 && is_wall(id)) ts->tv_sec += offset;
    return result;
}

int gettimeofday(struct timeval *tv, void *tz) {
    (void)tz;
    struct timespec ts;
    setup();
    int result = real_clock_gettime(CLOCK_REALTIME, &ts);
    if (result == 0) {
        tv->tv_sec = ts.tv_sec + offset;
        tv->tv_usec = ts.tv_nsec / 1000;
    }
    return result;
}

time_t time(time_t *out) {
    struct timespec ts;
    setup();
    real_clock_gettime(CLOCK_REALTIME, &ts);
    time_t now = ts.tv_sec + offset;
    if (out != NULL) *out = now;
    return now;
}

int timespec_get(struct timespec *ts, int base) {
    setup();
    if (base != TIME_UTC || real_clock_gettime(CLOCK_REALTIME, ts) != 0) return 0;
    ts->tv_sec += offset;
    return base;
}
