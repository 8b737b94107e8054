// Two exact questions to the kernel, each one netlink round trip with no scan and nothing allocated:
//   socketOf: which socket a 5-tuple is (inet_diag, as `ss` asks): its inode, uid, cgroup id and state;
//   conntrackOther: the other side of a tracked connection (ctnetlink): given the tuple seen on the
//   wire after NAT, the source address and port the connection had before it (a pod behind SNAT).
//   socketHolders: which processes hold given socket inodes, by a walk of /proc/PID/fd (what the
//   kernel cannot say), newest process first; an order of magnitude faster than from JavaScript.
//   firstStart/firstTake: a thread of its own that reads each TCP SYN this host sends the moment it
//   leaves (a packet socket filtered in the kernel) and asks at once for its socket, holder and the
//   holder's name, while a connection of a millisecond still exists; the main thread takes the
//   answers when it looks the flow up, however late that is (the holder may have exited by then).
//   firstFields: the numbers in one of its answers.
// Each thread opens its netlink sockets on first use and keeps them.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <linux/inet_diag.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/** One thread's netlink socket for one protocol, its sequence numbers and its answers' buffer. */
struct nl {
  int fd;
  uint32_t seq;
  unsigned char buf[16384] __attribute__((aligned(8)));
};
static struct nl diag_main = {.fd = -1};
static struct nl ct_main = {.fd = -1};

/** A descriptor kept for the process's life, moved out of the low numbers that libraries reuse
 * (libpcap closes a descriptor number it no longer owns when opening a capture fails, which then was
 * another's). */
static int keep_high(int fd) {
  int high = fcntl(fd, F_DUPFD_CLOEXEC, 1000);
  if (high < 0) return fd;
  close(fd);
  return high;
}

static int open_netlink(int protocol) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
  if (fd < 0) return -errno;
  struct sockaddr_nl local = {.nl_family = AF_NETLINK};
  if (bind(fd, (struct sockaddr *)&local, sizeof local) < 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  // an answer takes microseconds: a kernel that does not answer must not stop the exporter
  struct timeval tv = {.tv_sec = 0, .tv_usec = 200000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return keep_high(fd);
}

/** Send one request and read until its answer: the payload of the first message of that sequence
 * number (its length in *len), or a negative errno (-ENOENT: no such socket or connection). */
static int round_trip(struct nl *c, int protocol, struct nlmsghdr *req, struct nlmsghdr **answer) {
  if (c->fd < 0) {
    int r = open_netlink(protocol);
    if (r < 0) return r;
    c->fd = r;
  }
  req->nlmsg_seq = ++c->seq;
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  if (sendto(c->fd, req, req->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) return -errno;
  for (;;) {
    ssize_t n = recv(c->fd, c->buf, sizeof c->buf, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      // a timed-out or broken socket may hold a late answer: start over with a new one
      close(c->fd);
      c->fd = -1;
      return e == EAGAIN ? -ETIMEDOUT : -e;
    }
    for (struct nlmsghdr *h = (struct nlmsghdr *)c->buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_seq != c->seq) continue; // a late answer to an earlier question
      if (h->nlmsg_type == NLMSG_ERROR) {
        struct nlmsgerr *err = (struct nlmsgerr *)NLMSG_DATA(h);
        return err->error == 0 ? -ENOENT : err->error;
      }
      if (h->nlmsg_type == NLMSG_DONE) return -ENOENT;
      *answer = h;
      return 0;
    }
  }
}

/** A typed array's data and length, when it is of the given type. */
static int get_array(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *len) {
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, len, data, &buffer, &offset) != napi_ok || type != want) return -1;
  return 0;
}

static int get_bytes(napi_env env, napi_value v, uint8_t **data, size_t *len) {
  return get_array(env, v, napi_uint8_array, (void **)data, len);
}

static int get_f64(napi_env env, napi_value v, double **data, size_t *len) {
  return get_array(env, v, napi_float64_array, (void **)data, len);
}

static napi_value int_value(napi_env env, int32_t v) {
  napi_value out;
  napi_create_int32(env, v, &out);
  return out;
}

static napi_value type_error(napi_env env, const char *what) {
  napi_throw_type_error(env, NULL, what);
  return NULL;
}

/** The socket of a 5-tuple (inet_diag): 0 and out = inode, uid, cgroup id, state; or -errno. */
static int diag_socket(struct nl *c, int proto, int family, const uint8_t *local, int lport, const uint8_t *remote, int rport, double *out) {
  struct {
    struct nlmsghdr h;
    struct inet_diag_req_v2 r;
  } req;
  size_t alen = family == 4 ? 4 : 16;
  // UDP's exact lookup reads the pair the other way round (the kernel's "historical reasons", the same
  // since inet_diag took UDP): asked as a received packet would be, which also finds a socket bound to
  // the port and connected to nobody, so one question answers what a listener's second one would
  int swap = proto == IPPROTO_UDP;
  memset(&req, 0, sizeof req);
  req.h.nlmsg_len = sizeof req;
  req.h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  req.h.nlmsg_flags = NLM_F_REQUEST;
  req.r.sdiag_family = family == 4 ? AF_INET : AF_INET6;
  req.r.sdiag_protocol = (uint8_t)proto;
  req.r.idiag_states = ~0u;
  req.r.id.idiag_sport = htons((uint16_t)(swap ? rport : lport));
  req.r.id.idiag_dport = htons((uint16_t)(swap ? lport : rport));
  memcpy(req.r.id.idiag_src, swap ? remote : local, alen);
  memcpy(req.r.id.idiag_dst, swap ? local : remote, alen);
  req.r.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
  req.r.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
  struct nlmsghdr *a;
  int result = round_trip(c, NETLINK_SOCK_DIAG, &req.h, &a);
  if (result != 0) return result;
  if (a->nlmsg_type != SOCK_DIAG_BY_FAMILY || a->nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg))) return -EPROTO;
  struct inet_diag_msg *m = NLMSG_DATA(a);
  out[0] = m->idiag_inode;
  out[1] = m->idiag_uid;
  out[2] = 0;
  out[3] = m->idiag_state;
  int rest = a->nlmsg_len - NLMSG_LENGTH(sizeof *m);
  for (struct nlattr *at = (struct nlattr *)((char *)m + NLMSG_ALIGN(sizeof *m)); rest >= (int)sizeof *at && at->nla_len >= sizeof *at && at->nla_len <= rest;
       rest -= NLA_ALIGN(at->nla_len), at = (struct nlattr *)((char *)at + NLA_ALIGN(at->nla_len))) {
    if ((at->nla_type & NLA_TYPE_MASK) == INET_DIAG_CGROUP_ID && at->nla_len >= NLA_HDRLEN + 8) {
      uint64_t id;
      memcpy(&id, (char *)at + NLA_HDRLEN, 8);
      out[2] = (double)id;
    }
  }
  return 0;
}

// socketOf(proto, family, local: Uint8Array(16), localPort, remote: Uint8Array(16), remotePort,
//          out: Float64Array(4)) → 0 found (out: inode, uid, cgroup id, TCP state) or -errno
static napi_value socket_of(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 7) return type_error(env, "socketOf needs 7 arguments");
  int32_t proto, family, lport, rport;
  uint8_t *local, *remote;
  double *out;
  size_t llen, rlen, olen;
  if (napi_get_value_int32(env, argv[0], &proto) != napi_ok || napi_get_value_int32(env, argv[1], &family) != napi_ok ||
      get_bytes(env, argv[2], &local, &llen) || napi_get_value_int32(env, argv[3], &lport) != napi_ok ||
      get_bytes(env, argv[4], &remote, &rlen) || napi_get_value_int32(env, argv[5], &rport) != napi_ok ||
      get_f64(env, argv[6], &out, &olen) || llen < 16 || rlen < 16 || olen < 4)
    return type_error(env, "socketOf(proto, family, local, localPort, remote, remotePort, out)");
  return int_value(env, diag_socket(&diag_main, proto, family, local, lport, remote, rport, out));
}

static struct nlattr *put_attr(struct nlattr *at, uint16_t type, const void *data, size_t len) {
  at->nla_type = type;
  at->nla_len = NLA_HDRLEN + len;
  if (len) memcpy((char *)at + NLA_HDRLEN, data, len);
  return (struct nlattr *)((char *)at + NLA_ALIGN(at->nla_len));
}

static struct nlattr *find_attr(struct nlattr *first, int len, uint16_t type) {
  for (struct nlattr *at = first; len >= (int)sizeof *at && at->nla_len >= sizeof *at && at->nla_len <= len;
       len -= NLA_ALIGN(at->nla_len), at = (struct nlattr *)((char *)at + NLA_ALIGN(at->nla_len))) {
    if ((at->nla_type & NLA_TYPE_MASK) == type) return at;
  }
  return NULL;
}

#define NLA_INNER(at) ((struct nlattr *)((char *)(at) + NLA_HDRLEN))
#define NLA_INNER_LEN(at) ((int)(at)->nla_len - NLA_HDRLEN)

// conntrackOther(asReply, proto, family, src: Uint8Array(16), srcPort, dst: Uint8Array(16), dstPort,
//                out: Uint8Array(16)) → the other direction's source port (out: its source address),
//                or -errno. asReply: the tuple given is the connection's reply direction (SNAT: the
//                other side is the original sender); else its original direction (DNAT: the reply's
//                sender is where it was translated to).
static napi_value conntrack_other(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 8) return type_error(env, "conntrackOther needs 8 arguments");
  bool as_reply;
  int32_t proto, family, sport, dport;
  uint8_t *src, *dst, *out;
  size_t slen, dlen, olen;
  if (napi_get_value_bool(env, argv[0], &as_reply) != napi_ok || napi_get_value_int32(env, argv[1], &proto) != napi_ok ||
      napi_get_value_int32(env, argv[2], &family) != napi_ok || get_bytes(env, argv[3], &src, &slen) ||
      napi_get_value_int32(env, argv[4], &sport) != napi_ok || get_bytes(env, argv[5], &dst, &dlen) ||
      napi_get_value_int32(env, argv[6], &dport) != napi_ok || get_bytes(env, argv[7], &out, &olen) || slen < 16 ||
      dlen < 16 || olen < 16)
    return type_error(env, "conntrackOther(asReply, proto, family, src, srcPort, dst, dstPort, out)");

  struct {
    struct nlmsghdr h;
    struct nfgenmsg g;
    unsigned char attrs[128];
  } __attribute__((aligned(4))) req;
  memset(&req, 0, sizeof req);
  req.h.nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET;
  req.h.nlmsg_flags = NLM_F_REQUEST;
  req.g.nfgen_family = family == 4 ? AF_INET : AF_INET6;
  req.g.version = NFNETLINK_V0;
  size_t alen = family == 4 ? 4 : 16;
  struct nlattr *tuple = (struct nlattr *)req.attrs;
  struct nlattr *ipn = NLA_INNER(tuple);
  struct nlattr *at = NLA_INNER(ipn);
  at = put_attr(at, family == 4 ? CTA_IP_V4_SRC : CTA_IP_V6_SRC, src, alen);
  at = put_attr(at, family == 4 ? CTA_IP_V4_DST : CTA_IP_V6_DST, dst, alen);
  ipn->nla_type = CTA_TUPLE_IP | NLA_F_NESTED;
  ipn->nla_len = (char *)at - (char *)ipn;
  struct nlattr *pn = at;
  at = NLA_INNER(pn);
  uint8_t p8 = (uint8_t)proto;
  uint16_t sp = htons((uint16_t)sport), dp = htons((uint16_t)dport);
  at = put_attr(at, CTA_PROTO_NUM, &p8, 1);
  at = put_attr(at, CTA_PROTO_SRC_PORT, &sp, 2);
  at = put_attr(at, CTA_PROTO_DST_PORT, &dp, 2);
  pn->nla_type = CTA_TUPLE_PROTO | NLA_F_NESTED;
  pn->nla_len = (char *)at - (char *)pn;
  tuple->nla_type = (as_reply ? CTA_TUPLE_REPLY : CTA_TUPLE_ORIG) | NLA_F_NESTED;
  tuple->nla_len = (char *)at - (char *)tuple;
  req.h.nlmsg_len = NLMSG_LENGTH(sizeof req.g) + NLA_ALIGN(tuple->nla_len);

  struct nlmsghdr *a;
  int r = round_trip(&ct_main, NETLINK_NETFILTER, &req.h, &a);
  if (r != 0) return int_value(env, r);
  if (a->nlmsg_len < NLMSG_LENGTH(sizeof(struct nfgenmsg))) return int_value(env, -EPROTO);
  struct nlattr *first = (struct nlattr *)((char *)NLMSG_DATA(a) + NLMSG_ALIGN(sizeof(struct nfgenmsg)));
  int len = a->nlmsg_len - NLMSG_LENGTH(NLMSG_ALIGN(sizeof(struct nfgenmsg)));
  struct nlattr *other = find_attr(first, len, as_reply ? CTA_TUPLE_ORIG : CTA_TUPLE_REPLY);
  if (!other) return int_value(env, -EPROTO);
  struct nlattr *oip = find_attr(NLA_INNER(other), NLA_INNER_LEN(other), CTA_TUPLE_IP);
  struct nlattr *oproto = find_attr(NLA_INNER(other), NLA_INNER_LEN(other), CTA_TUPLE_PROTO);
  if (!oip || !oproto) return int_value(env, -EPROTO);
  struct nlattr *osrc = find_attr(NLA_INNER(oip), NLA_INNER_LEN(oip), family == 4 ? CTA_IP_V4_SRC : CTA_IP_V6_SRC);
  struct nlattr *oport = find_attr(NLA_INNER(oproto), NLA_INNER_LEN(oproto), CTA_PROTO_SRC_PORT);
  if (!osrc || NLA_INNER_LEN(osrc) < (int)alen) return int_value(env, -EPROTO);
  memset(out, 0, 16);
  memcpy(out, NLA_INNER(osrc), alen);
  int port = 0;
  if (oport && NLA_INNER_LEN(oport) >= 2) {
    uint16_t p;
    memcpy(&p, NLA_INNER(oport), 2);
    port = ntohs(p);
  }
  return int_value(env, port);
}

static int by_int_asc(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

static int by_int_desc(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x < y) - (x > y);
}

/** The PID the kernel handed out last (the fifth field of /proc/loadavg); 0 when unreadable. */
static int last_pid(void) {
  char buf[128];
  int fd = open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
  ssize_t n = fd < 0 ? 0 : read(fd, buf, sizeof buf - 1);
  if (fd >= 0) close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  const char *last = strrchr(buf, ' ');
  return last ? atoi(last + 1) : 0;
}

/** A PID as a key that sorts ascending newest first, given the last PID handed out; the same map turns
 * the key back into the PID (PIDs are below 2^22, so its two ranges never meet). */
static int age_key(int v, int last) {
  return v <= last ? last - v : INT_MAX - v;
}

/** Every PID in /proc, newest first: the process of a new connection is most often a new one, and may
 * exit soon. PIDs wrap (at 32,768 by default): the newest are those at or below the last handed out,
 * highest first, then those above it, highest first; by number alone, a host whose PIDs have wrapped
 * would look at its oldest processes first. Freed by the caller; NULL when /proc cannot be read. */
static int *newest_pids(size_t *count) {
  *count = 0;
  DIR *d = opendir("/proc");
  if (!d) return NULL;
  size_t cap = 1024;
  int *pids = malloc(cap * sizeof *pids);
  struct dirent *e;
  while (pids && (e = readdir(d)) != NULL) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    if (*count == cap) {
      int *grown = realloc(pids, (cap *= 2) * sizeof *pids);
      if (!grown) break;
      pids = grown;
    }
    pids[(*count)++] = atoi(e->d_name);
  }
  closedir(d);
  if (!pids) return NULL;
  // read after the listing: every PID listed was handed out at or before it
  int last = last_pid();
  if (last <= 0) last = INT_MAX;
  for (size_t i = 0; i < *count; i++) pids[i] = age_key(pids[i], last);
  qsort(pids, *count, sizeof *pids, by_int_asc);
  for (size_t i = 0; i < *count; i++) pids[i] = age_key(pids[i], last);
  return pids;
}

/** One descriptor: when it is a wanted socket, its holder is `pid`. 1 when every one has a holder. */
static int match(int dfd, const char *name, int pid, const double *wanted, int n, int32_t *holders, int *left) {
  char link[64];
  ssize_t len = readlinkat(dfd, name, link, sizeof link - 1);
  if (len < 9 || memcmp(link, "socket:[", 8) != 0) return 0;
  link[len] = 0;
  double inode = strtod(link + 8, NULL);
  for (int i = 0; i < n; i++) {
    if (holders[i] == 0 && wanted[i] == inode) {
      holders[i] = pid;
      if (--*left == 0) return 1;
    }
  }
  return 0;
}

/** Look through one process's descriptors: 1 when every wanted inode has a holder. */
static int look(int pid, ino_t netns, const double *wanted, int n, int32_t *holders, int *left, int newest_first) {
  char path[64];
  if (netns) {
    struct stat st;
    snprintf(path, sizeof path, "/proc/%d/ns/net", pid);
    // a process of another network namespace (a pod's) holds none of this one's sockets
    if (stat(path, &st) == 0 && st.st_ino != netns) return 0;
  }
  snprintf(path, sizeof path, "/proc/%d/fd", pid);
  int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return 0;
  DIR *d = fdopendir(dfd);
  if (!d) {
    close(dfd);
    return 0;
  }
  char name[16];
  int done = 0;
  struct dirent *e;
  if (!newest_first) {
    // a batch of sockets: in the directory's order, read as it is listed
    while (!done && (e = readdir(d)) != NULL)
      if (e->d_name[0] != '.') done = match(dfd, e->d_name, pid, wanted, n, holders, left);
    closedir(d);
    return done;
  }
  // one new socket: the highest descriptors first (it most often takes the number after a process's
  // long-lived ones, and each link read is a system call, some 5 µs in a virtual machine)
  int small[256];
  int *fds = small;
  size_t cap = sizeof small / sizeof small[0], count = 0;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    if (count == cap) {
      int *grown = malloc(cap * 2 * sizeof *grown);
      if (!grown) break;
      memcpy(grown, fds, count * sizeof *fds);
      if (fds != small) free(fds);
      fds = grown;
      cap *= 2;
    }
    fds[count++] = atoi(e->d_name);
  }
  qsort(fds, count, sizeof *fds, by_int_desc);
  for (size_t f = 0; f < count && !done; f++) {
    snprintf(name, sizeof name, "%d", fds[f]);
    done = match(dfd, name, pid, wanted, n, holders, left);
  }
  if (fds != small) free(fds);
  closedir(d);
  return done;
}

// socketHolders(wanted: Float64Array, first: Int32Array, full: boolean, holders: Int32Array) → how
// many were found. holders[i]: the PID holding wanted[i], or 0. The `first` processes are read
// before the rest; the rest only when `full`.
static napi_value socket_holders(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  double *wanted;
  size_t n, nfirst, nholders;
  bool full;
  int32_t *first, *holders;
  if (argc < 4 || get_f64(env, argv[0], &wanted, &n) || get_array(env, argv[1], napi_int32_array, (void **)&first, &nfirst) ||
      napi_get_value_bool(env, argv[2], &full) != napi_ok || get_array(env, argv[3], napi_int32_array, (void **)&holders, &nholders) || nholders < n)
    return type_error(env, "socketHolders(wanted: Float64Array, first: Int32Array, full: boolean, holders: Int32Array as long as wanted)");
  memset(holders, 0, n * sizeof *holders);
  int left = (int)n;
  if (left == 0) return int_value(env, 0);
  struct stat self;
  ino_t netns = stat("/proc/self/ns/net", &self) == 0 ? self.st_ino : 0;
  for (size_t i = 0; i < nfirst; i++)
    if (first[i] > 0 && look(first[i], netns, wanted, (int)n, holders, &left, 0)) return int_value(env, (int)n);
  if (!full) return int_value(env, (int)n - left);
  size_t count;
  int *pids = newest_pids(&count);
  if (!pids) return int_value(env, (int)n - left);
  for (size_t i = 0; i < count; i++)
    if (look(pids[i], netns, wanted, (int)n, holders, &left, 0)) break;
  free(pids);
  return int_value(env, (int)n - left);
}

// ---- first packets: a thread that looks up each connection this host opens as its SYN leaves ----

/** A record: family, local port, remote port, inode, uid, cgroup id, state, PID (0: not found), the
 * local address's four 32-bit words, the remote's, and the holder's name (/proc/PID/comm, 6 bytes a
 * number). */
#define FIRST_FIELDS 19
#define FIRST_RING 4096
/** CPU time (ms) the thread may take per tenth of a second: a quarter of a core (a lookup takes
 * some 60 µs: 4,000 connections a second). */
#define FIRST_CPU_MS_PER_TICK 25.0
/** Processes read for a holder beyond the last holders: the newest (a new connection's is most often new). */
#define FIRST_NEWEST 32
#define FIRST_RECENT 8

static pthread_t first_thread;
static int first_running = 0;
static volatile int first_stop = 0;
static int first_fd = -1;
static pthread_mutex_t first_lock = PTHREAD_MUTEX_INITIALIZER;
static double first_ring[FIRST_RING][FIRST_FIELDS];
static size_t first_head = 0, first_len = 0;
/** SYNs looked up, past the budget (not looked up), answers lost (the ring full: the main thread took
 * none for 4,096 of them), and the thread's CPU time (s). */
static double first_counts[4];

/** Outgoing TCP SYNs without ACK, IPv4 (first fragments) or IPv6 (no extension headers), from the
 * network header on (SOCK_DGRAM); the packet's first 128 bytes. Everything else stays in the kernel. */
static struct sock_filter first_filter[] = {
    // not loopback (index 1 in every network namespace): connections within the host are not billed
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_IFINDEX),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1, 19, 0),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_PKTTYPE),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PACKET_OUTGOING, 0, 17),
    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 0),
    BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 4),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 4, 0, 7),
    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 9),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_TCP, 0, 12),
    BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 6),
    BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x1fff, 10, 0),
    BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),
    BPF_STMT(BPF_LD | BPF_B | BPF_IND, 13),
    BPF_JUMP(BPF_JMP | BPF_JA, 4, 0, 0),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 6, 0, 6),
    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 6),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_TCP, 0, 4),
    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 53),
    BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0x12),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x02, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, 128),
    BPF_STMT(BPF_RET | BPF_K, 0),
};

static void words_of(const uint8_t *a, int family, double *w) {
  for (int i = 0; i < 4; i++) w[i] = i < (family == 4 ? 1 : 4) ? (double)(((uint32_t)a[i * 4] << 24) | ((uint32_t)a[i * 4 + 1] << 16) | ((uint32_t)a[i * 4 + 2] << 8) | a[i * 4 + 3]) : 0;
}

/** A process's name, 6 bytes in each of w[0..2] (exact in a double): a holder that exits before its
 * flow is counted is still named. Zeros when it is gone already. */
static void comm_of(int pid, double *w) {
  char path[32];
  unsigned char c[18] = {0};
  snprintf(path, sizeof path, "/proc/%d/comm", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  ssize_t n = fd < 0 ? 0 : read(fd, c, 16);
  if (fd >= 0) close(fd);
  if (n > 0 && c[n - 1] == '\n') n--;
  for (int i = 0; i < 3; i++) {
    double v = 0;
    for (int j = 0; j < 6; j++) v = v * 256 + (i * 6 + j < n ? c[i * 6 + j] : 0);
    w[i] = v;
  }
}

static void *first_loop(void *arg) {
  struct nl *diag = calloc(1, sizeof *diag);
  if (!diag) return NULL;
  diag->fd = -1;
  unsigned char pkt[128];
  int recent[FIRST_RECENT] = {0};
  int named_pid = 0;
  long named_at = 0;
  double named[3] = {0, 0, 0};
  struct stat self;
  ino_t netns = stat("/proc/self/ns/net", &self) == 0 ? self.st_ino : 0;
  long tick = -1;
  double tick_cpu = 0;
  // a connection of a millisecond is gone if this thread waits behind busy ones: it runs before them
  // where allowed (CAP_SYS_NICE: real-time, bounded by its own CPU budget below; else the highest
  // nice; else the process's priority)
  struct sched_param rt = {.sched_priority = 1};
  if (pthread_setschedparam(pthread_self(), SCHED_FIFO, &rt) != 0) setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), -20);
  while (!first_stop) {
    ssize_t n = recv(first_fd, pkt, sizeof pkt, 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      break;
    }
    struct timespec now, cpu;
    clock_gettime(CLOCK_MONOTONIC, &now);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
    long t = now.tv_sec * 10 + now.tv_nsec / 100000000;
    double cpu_ms = cpu.tv_sec * 1e3 + cpu.tv_nsec / 1e6;
    if (t != tick) {
      tick = t;
      tick_cpu = cpu_ms;
    }
    // a quarter of a core at most: past it, SYNs are read and counted, not looked up, until the next tick
    int over = cpu_ms - tick_cpu > FIRST_CPU_MS_PER_TICK;
    pthread_mutex_lock(&first_lock);
    first_counts[over ? 1 : 0]++;
    first_counts[3] = cpu_ms / 1e3;
    pthread_mutex_unlock(&first_lock);
    if (over) continue;
    int family = pkt[0] >> 4;
    uint8_t local[16] = {0}, remote[16] = {0};
    int l4;
    if (family == 4 && n >= 20) {
      memcpy(local, pkt + 12, 4);
      memcpy(remote, pkt + 16, 4);
      l4 = (pkt[0] & 15) * 4;
    } else if (family == 6 && n >= 40) {
      memcpy(local, pkt + 8, 16);
      memcpy(remote, pkt + 24, 16);
      l4 = 40;
    } else {
      continue;
    }
    if (n < l4 + 4) continue;
    int lport = (pkt[l4] << 8) | pkt[l4 + 1], rport = (pkt[l4 + 2] << 8) | pkt[l4 + 3];
    double out[4];
    // no socket here: a pod's connection forwarded by this host (its NAT is asked when counted)
    if (diag_socket(diag, IPPROTO_TCP, family, local, lport, remote, rport, out) != 0 || (out[0] == 0 && out[2] == 0)) continue;
    int32_t pid = 0;
    double comm[3] = {0, 0, 0};
    if (out[0] > 0) {
      int left = 1;
      // a socket inode is unique across network namespaces: the last holders need no check of theirs
      for (int i = 0; i < FIRST_RECENT && !pid; i++)
        if (recent[i] > 0) look(recent[i], 0, out, 1, &pid, &left, 1);
      if (!pid) {
        size_t count;
        int *pids = newest_pids(&count);
        for (size_t i = 0; pids && i < count && i < FIRST_NEWEST && !pid; i++) look(pids[i], netns, out, 1, &pid, &left, 1);
        free(pids);
      }
      if (pid && recent[0] != pid) {
        int k = 0;
        while (k < FIRST_RECENT - 1 && recent[k] != pid) k++;
        memmove(recent + 1, recent, k * sizeof *recent);
        recent[0] = pid;
      }
      // a process's name read again after a second at most (an exec renames it): one that opens many
      // connections pays once
      if (pid && (pid != named_pid || t - named_at >= 10)) {
        comm_of(pid, named);
        named_pid = pid;
        named_at = t;
      }
      if (pid) memcpy(comm, named, sizeof comm);
    }
    pthread_mutex_lock(&first_lock);
    if (first_len == FIRST_RING) {
      first_head = (first_head + 1) % FIRST_RING;
      first_len--;
      first_counts[2]++;
    }
    double *r = first_ring[(first_head + first_len++) % FIRST_RING];
    r[0] = family;
    r[1] = lport;
    r[2] = rport;
    memcpy(r + 3, out, 4 * sizeof *out);
    r[7] = pid;
    words_of(local, family, r + 8);
    words_of(remote, family, r + 12);
    memcpy(r + 16, comm, sizeof comm);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
    first_counts[3] = cpu.tv_sec + cpu.tv_nsec / 1e9;
    pthread_mutex_unlock(&first_lock);
  }
  if (diag->fd >= 0) close(diag->fd);
  free(diag);
  return NULL;
}

static void first_halt(void) {
  if (!first_running) return;
  first_stop = 1;
  pthread_join(first_thread, NULL);
  close(first_fd);
  first_fd = -1;
  first_running = 0;
}

static void first_cleanup(void *arg) { first_halt(); }

// firstStart() → 0 (the thread runs: already, or now) or -errno (EPERM: no CAP_NET_RAW)
static napi_value first_start(napi_env env, napi_callback_info info) {
  if (first_running) return int_value(env, 0);
  int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_ALL));
  if (fd < 0) return int_value(env, -errno);
  struct sock_fprog prog = {.len = sizeof first_filter / sizeof first_filter[0], .filter = first_filter};
  // 0.2 s: how soon the thread sees that it is to stop
  struct timeval tv = {.tv_sec = 0, .tv_usec = 200000};
  fd = keep_high(fd);
  if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0) {
    int e = errno;
    close(fd);
    return int_value(env, -e);
  }
  // what arrived before the filter was attached is anything: read it away
  unsigned char junk[16];
  while (recv(fd, junk, sizeof junk, MSG_DONTWAIT) >= 0) {
  }
  first_fd = fd;
  first_stop = 0;
  if (pthread_create(&first_thread, NULL, first_loop, NULL) != 0) {
    close(fd);
    first_fd = -1;
    return int_value(env, -EAGAIN);
  }
  first_running = 1;
  napi_add_env_cleanup_hook(env, first_cleanup, NULL);
  return int_value(env, 0);
}

// firstTake(out: Float64Array, counts: Float64Array(4)) → records moved into out (FIRST_FIELDS each,
// oldest first); counts: SYNs looked up, over the budget, lost, the thread's CPU seconds
static napi_value first_take(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  double *out, *counts;
  size_t olen, clen;
  if (argc < 2 || get_f64(env, argv[0], &out, &olen) || get_f64(env, argv[1], &counts, &clen) || clen < 4)
    return type_error(env, "firstTake(out: Float64Array, counts: Float64Array(4))");
  size_t k = 0;
  pthread_mutex_lock(&first_lock);
  for (; k < olen / FIRST_FIELDS && first_len > 0; k++, first_len--) {
    memcpy(out + k * FIRST_FIELDS, first_ring[first_head], sizeof first_ring[0]);
    first_head = (first_head + 1) % FIRST_RING;
  }
  memcpy(counts, first_counts, sizeof first_counts);
  pthread_mutex_unlock(&first_lock);
  return int_value(env, (int)k);
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value first_fields = int_value(env, FIRST_FIELDS);
  napi_property_descriptor props[] = {
      {"socketOf", NULL, socket_of, NULL, NULL, NULL, napi_default, NULL},
      {"conntrackOther", NULL, conntrack_other, NULL, NULL, NULL, napi_default, NULL},
      {"socketHolders", NULL, socket_holders, NULL, NULL, NULL, napi_default, NULL},
      {"firstStart", NULL, first_start, NULL, NULL, NULL, napi_default, NULL},
      {"firstTake", NULL, first_take, NULL, NULL, NULL, napi_default, NULL},
      {"firstFields", NULL, NULL, NULL, NULL, first_fields, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
