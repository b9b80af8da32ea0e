/*
 * netem-relay: a userspace stand-in for `tc qdisc ... netem delay D loss P` (this kernel has no sch_netem).
 *
 * Two TUN devices, one in each of two network namespaces, are joined by this process: every IP packet read from one is
 * written to the other after a fixed one-way delay, and UDP packets are dropped with a given probability (each
 * direction independently, like netem on both ends). Packets keep their order (a constant delay never reorders).
 * Non-UDP packets (ICMP, the TCP of a signaling server) are delayed but never dropped, so only the data path is lossy.
 *
 *   relay --ns-a /run/netns/A --tun-a tun0 --ns-b /run/netns/B --tun-b tun0 --delay-us 25000 --loss 1
 *         [--limit 10000] [--seed 1]
 *
 * --limit is the queue length per direction in packets (netem's default is 1000; a full queue drops the packet and
 * counts it); --trace 1 prints one line per IPv4 packet on stderr. SIGUSR1 prints the counters as one JSON line on stdout; SIGTERM/SIGINT print them and exit 0.
 * Linux only; needs CAP_NET_ADMIN (root) for setns() and TUNSETIFF.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define SLOT_BYTES 2048

struct slot {
  uint64_t due_ns;
  uint16_t len;
  uint8_t data[SLOT_BYTES];
};

struct direction {
  const char *name;
  int in_fd, out_fd;
  struct slot *ring;
  uint32_t head, count;
  uint64_t forwarded, lost, overflow, bytes;
};

static uint32_t limit = 10000;
static uint64_t delay_ns = 0;
static double loss = 0;
static int trace = 0;
static uint64_t rng_state = 1;
static volatile sig_atomic_t want_stats = 0, want_exit = 0;

static void on_signal(int sig) {
  if (sig == SIGUSR1) want_stats = 1;
  else want_exit = 1;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* xorshift64*: a small, seeded generator; the loss pattern is reproducible for one seed and one packet sequence. */
static double next_random(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (double)((rng_state * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

static void die(const char *what) {
  fprintf(stderr, "netem-relay: %s: %s\n", what, strerror(errno));
  exit(1);
}

/* Enter the namespace `ns_path`, attach to the TUN device `name` there, and return its fd (non-blocking). */
static int open_tun(const char *ns_path, const char *name) {
  int ns = open(ns_path, O_RDONLY | O_CLOEXEC);
  if (ns < 0) die(ns_path);
  if (setns(ns, CLONE_NEWNET) < 0) die("setns");
  close(ns);
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) die("/dev/net/tun");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) die("TUNSETIFF");
  return fd;
}

/* An IPv4 or IPv6 packet whose (first) next header is UDP. Extension headers are not followed: not used here. */
static int is_udp(const uint8_t *p, size_t len) {
  if (len >= 20 && (p[0] >> 4) == 4) return p[9] == 17;
  if (len >= 40 && (p[0] >> 4) == 6) return p[6] == 17;
  return 0;
}

static void drain_input(struct direction *d, uint64_t now) {
  for (;;) {
    uint8_t buf[SLOT_BYTES];
    ssize_t n = read(d->in_fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      die("read");
    }
    if (n == 0) return;
    if (trace && n >= 20 && (buf[0] >> 4) == 4) {
      fprintf(stderr, "%s proto %u %u.%u.%u.%u:%u -> %u.%u.%u.%u:%u len %zd\n", d->name, buf[9], buf[12], buf[13], buf[14],
              buf[15], (unsigned)(buf[20] << 8 | buf[21]), buf[16], buf[17], buf[18], buf[19],
              (unsigned)(buf[22] << 8 | buf[23]), n);
    }
    if (loss > 0 && is_udp(buf, (size_t)n) && next_random() * 100.0 < loss) {
      d->lost++;
      continue;
    }
    if (d->count >= limit) {
      d->overflow++;
      continue;
    }
    struct slot *s = &d->ring[(d->head + d->count) % limit];
    s->due_ns = now + delay_ns;
    s->len = (uint16_t)n;
    memcpy(s->data, buf, (size_t)n);
    d->count++;
  }
}

static void flush_due(struct direction *d, uint64_t now) {
  while (d->count > 0) {
    struct slot *s = &d->ring[d->head];
    if (s->due_ns > now) return;
    ssize_t n = write(d->out_fd, s->data, s->len);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return; /* retried on the next turn */
    if (n < 0 && errno != EIO) die("write");
    d->forwarded++;
    d->bytes += s->len;
    d->head = (d->head + 1) % limit;
    d->count--;
  }
}

static void print_stats(struct direction *ab, struct direction *ba) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
  struct direction *ds[2] = {ab, ba};
  printf("{\"cpuSeconds\":%.3f", cpu);
  for (int i = 0; i < 2; i++) {
    printf(",\"%s\":{\"forwarded\":%llu,\"bytes\":%llu,\"lost\":%llu,\"overflow\":%llu,\"queued\":%u}", ds[i]->name,
           (unsigned long long)ds[i]->forwarded, (unsigned long long)ds[i]->bytes, (unsigned long long)ds[i]->lost,
           (unsigned long long)ds[i]->overflow, ds[i]->count);
  }
  printf("}\n");
  fflush(stdout);
}

int main(int argc, char **argv) {
  const char *ns_a = NULL, *tun_a = NULL, *ns_b = NULL, *tun_b = NULL;
  for (int i = 1; i + 1 < argc; i += 2) {
    const char *k = argv[i], *v = argv[i + 1];
    if (!strcmp(k, "--ns-a")) ns_a = v;
    else if (!strcmp(k, "--tun-a")) tun_a = v;
    else if (!strcmp(k, "--ns-b")) ns_b = v;
    else if (!strcmp(k, "--tun-b")) tun_b = v;
    else if (!strcmp(k, "--delay-us")) delay_ns = strtoull(v, NULL, 10) * 1000ull;
    else if (!strcmp(k, "--loss")) loss = strtod(v, NULL);
    else if (!strcmp(k, "--limit")) limit = (uint32_t)strtoul(v, NULL, 10);
    else if (!strcmp(k, "--seed")) rng_state = strtoull(v, NULL, 10) | 1;
    else if (!strcmp(k, "--trace")) trace = atoi(v);
    else {
      fprintf(stderr, "netem-relay: unknown option %s\n", k);
      return 2;
    }
  }
  if (!ns_a || !tun_a || !ns_b || !tun_b || limit == 0 || loss < 0 || loss > 100) {
    fprintf(stderr, "usage: relay --ns-a PATH --tun-a DEV --ns-b PATH --tun-b DEV [--delay-us N] [--loss PCT] [--limit N] [--seed N]\n");
    return 2;
  }
  int fa = open_tun(ns_a, tun_a);
  int fb = open_tun(ns_b, tun_b);
  struct direction ab = {"aToB", fa, fb, calloc(limit, sizeof(struct slot)), 0, 0, 0, 0, 0, 0};
  struct direction ba = {"bToA", fb, fa, calloc(limit, sizeof(struct slot)), 0, 0, 0, 0, 0, 0};
  if (!ab.ring || !ba.ring) die("calloc");
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGUSR1, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  /* The signals are only delivered inside ppoll (atomically unblocked there): one that arrives while a turn is being
   * processed waits for the next ppoll instead of being missed until the next packet. */
  sigset_t blocked, during_poll;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGUSR1);
  sigaddset(&blocked, SIGTERM);
  sigaddset(&blocked, SIGINT);
  sigprocmask(SIG_BLOCK, &blocked, &during_poll);
  sigdelset(&during_poll, SIGUSR1);
  sigdelset(&during_poll, SIGTERM);
  sigdelset(&during_poll, SIGINT);
  printf("{\"ready\":true}\n");
  fflush(stdout);
  struct pollfd pfd[2] = {{fa, POLLIN, 0}, {fb, POLLIN, 0}};
  while (!want_exit) {
    if (want_stats) {
      want_stats = 0;
      print_stats(&ab, &ba);
    }
    uint64_t now = now_ns();
    uint64_t next = UINT64_MAX;
    if (ab.count) next = ab.ring[ab.head].due_ns;
    if (ba.count && ba.ring[ba.head].due_ns < next) next = ba.ring[ba.head].due_ns;
    struct timespec ts, *tsp = NULL;
    if (next != UINT64_MAX) {
      uint64_t wait = next > now ? next - now : 0;
      ts.tv_sec = (time_t)(wait / 1000000000ull);
      ts.tv_nsec = (long)(wait % 1000000000ull);
      tsp = &ts;
    }
    int r = ppoll(pfd, 2, tsp, &during_poll);
    if (r < 0 && errno != EINTR) die("ppoll");
    now = now_ns();
    if (r > 0) {
      if (pfd[0].revents & POLLIN) drain_input(&ab, now);
      if (pfd[1].revents & POLLIN) drain_input(&ba, now);
    }
    flush_due(&ab, now);
    flush_due(&ba, now);
  }
  print_stats(&ab, &ba);
  return 0;
}
