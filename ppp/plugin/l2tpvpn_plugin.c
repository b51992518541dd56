/*
 * l2tpvpn.so: pppd plugin of the l2tpvpn LNS (pppd 2.4.9, Debian 12).
 *
 * Options (all root-only, OPT_PRIV):
 *   l2tpvpn_report_fd <n>     report session events over inherited descriptor n, one line each (below)
 *   l2tpvpn_secrets <path>    answer CHAP (incl. MS-CHAPv2) and PAP from the l2tvpn user store at <path>
 *                             instead of /etc/ppp/chap-secrets and pap-secrets
 *   l2tpvpn_sighup_is_hangup  SIGHUP means the line is gone (below)
 *
 * Hang-up: l2tpvpnd sends SIGHUP only once the L2TP session is closed (CDN or StopCCN, either side). pppd would
 * treat it as an operator's request: LCP Terminate-Request, then wait for a Terminate-Ack that no one can send
 * any more (2 transmissions x 3 s). The kernel never tells pppd instead: the PPP channel of a PPPoL2TP session
 * is unregistered only when its socket's last descriptor closes, and pppd holds that descriptor itself. So the
 * plugin turns the SIGHUP into a hang-up: LCP sends its one Terminate-Request and finishes on the next turn of
 * pppd's loop, which then runs ip-down, reports the final counters and exits at once.
 *
 * Report protocol, version 1: ASCII lines "<event> key=value ...\n". Values are percent-encoded: every byte
 * outside 0x21..0x7e, and '%' and '=', becomes %XX, so a peer-chosen name cannot forge fields or lines.
 * Parsed by ppp/plugin_report.cpp, which documents each event:
 *   hello version=1 pppd=2.4.9 pid=<pid>
 *   phase value=<PHASE_*> name=<name>
 *   auth peer=<authenticated peer name>
 *   ip-up ifname=<if> local=<a.b.c.d> remote=<a.b.c.d>
 *   ip-down ifname=<if>
 *   stats bytes_in=<n> bytes_out=<n> packets_in=<n> packets_out=<n> connect_time=<s>
 *   exit status=<pppd exit status>
 * The descriptor is made non-blocking: pppd is single-threaded and must never stall on a slow reader; a
 * line that does not fit is dropped and counted ("dropped=<n>" on the next line that does fit).
 *
 * Secrets: pppd's server-side get_secret() reads only chap-secrets; the one hook that lets a plugin own the
 * check is chap_verify_hook. Ours looks the user up and then calls the digest's own verify_response()
 * (chap-md5, MS-CHAP, MS-CHAPv2 in pppd), so pppd still does all the cryptography and MPPE key derivation; we
 * only supply the secret. An unknown user is verified against an unguessable dummy secret and always
 * refused, so the failure looks exactly like a wrong password (no user enumeration). chap_check_hook and
 * pap_check_hook say "we have secrets"; allowed_address_hook allows exactly the address pppd was told to give
 * (or the user's static address, which we install after authentication).
 *
 * Nothing here logs a secret. The user store must be a regular file, mode 0600 (no group/other bits), owned
 * by root; otherwise every lookup fails.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pppd/pppd.h>
#include <pppd/patchlevel.h>
#include <pppd/chap-new.h>
#include <pppd/fsm.h>
#include <pppd/ipcp.h>
#include <pppd/lcp.h>
#include <pppd/magic.h>

#define L2TPVPN_EXPORT __attribute__((visibility("default")))

L2TPVPN_EXPORT char pppd_version[] = VERSION;

#define MAX_STORE_SIZE (4 * 1024 * 1024)
#define MAX_LINE 1024

static int report_fd = -1;
static unsigned long dropped_lines;
static char *secrets_path;
static u_int32_t static_remote; /* network order; 0: none */
static bool sighup_is_hangup;

/* ---- reporting ---- */

static void put_escaped(char *out, size_t *len, size_t cap, const char *value) {
  static const char hex[] = "0123456789ABCDEF";
  for (const unsigned char *p = (const unsigned char *)value; *p; ++p) {
    if (*p > 0x20 && *p < 0x7f && *p != '%' && *p != '=') {
      if (*len + 1 < cap) out[(*len)++] = (char)*p;
    } else if (*len + 3 < cap) {
      out[(*len)++] = '%';
      out[(*len)++] = hex[*p >> 4];
      out[(*len)++] = hex[*p & 15];
    }
  }
}

/* report("auth", "peer", name, NULL): pairs of key, value, NULL-terminated. */
static void report(const char *event, ...) {
  char line[MAX_LINE];
  size_t len = 0;
  va_list ap;
  const char *key;
  if (report_fd < 0) return;
  len = (size_t)slprintf(line, sizeof line, "%s", event);
  va_start(ap, event);
  while ((key = va_arg(ap, const char *)) != NULL) {
    const char *value = va_arg(ap, const char *);
    if (len + strlen(key) + 3 >= sizeof line) break;
    line[len++] = ' ';
    memcpy(line + len, key, strlen(key));
    len += strlen(key);
    line[len++] = '=';
    put_escaped(line, &len, sizeof line - 32, value ? value : "");
  }
  va_end(ap);
  if (dropped_lines) len += (size_t)slprintf(line + len, sizeof line - len, " dropped=%lu", dropped_lines);
  line[len++] = '\n';
  for (;;) {
    ssize_t n = write(report_fd, line, len);
    if (n == (ssize_t)len) {
      dropped_lines = 0;
      return;
    }
    if (n < 0 && errno == EINTR) continue;
    /* EAGAIN, a short write (then the reader sees a truncated line it will reject), or a closed reader. */
    ++dropped_lines;
    return;
  }
}

static const char *phase_name(int p) {
  static const char *names[] = {"dead",     "initialize", "serialconn", "dormant", "establish",
                                "authenticate", "callback", "network", "running", "terminate",
                                "disconnect", "holdoff", "master"};
  return p >= 0 && p < (int)(sizeof names / sizeof names[0]) ? names[p] : "unknown";
}

static void on_phase(void *arg, int p) {
  char v[16];
  (void)arg;
  slprintf(v, sizeof v, "%d", p);
  report("phase", "value", v, "name", phase_name(p), NULL);
}

static void on_auth_up(void *arg, int unused) {
  (void)arg;
  (void)unused;
  report("auth", "peer", peer_authname, NULL);
}

static void addr_text(char *out, size_t cap, u_int32_t net_order) {
  const unsigned char *b = (const unsigned char *)&net_order;
  slprintf(out, (int)cap, "%d.%d.%d.%d", b[0], b[1], b[2], b[3]);
}

static void on_ip_up(void *arg, int unused) {
  char local[16], remote[16];
  (void)arg;
  (void)unused;
  addr_text(local, sizeof local, ipcp_gotoptions[0].ouraddr);
  addr_text(remote, sizeof remote, ipcp_hisoptions[0].hisaddr);
  report("ip-up", "ifname", ifname, "local", local, "remote", remote, NULL);
}

static void report_stats(void) {
  char bi[24], bo[24], pi[24], po[24], ct[24];
  if (!link_stats_valid) return;
  slprintf(bi, sizeof bi, "%u", link_stats.bytes_in);
  slprintf(bo, sizeof bo, "%u", link_stats.bytes_out);
  slprintf(pi, sizeof pi, "%u", link_stats.pkts_in);
  slprintf(po, sizeof po, "%u", link_stats.pkts_out);
  slprintf(ct, sizeof ct, "%u", link_connect_time);
  report("stats", "bytes_in", bi, "bytes_out", bo, "packets_in", pi, "packets_out", po, "connect_time", ct, NULL);
}

static void on_ip_down(void *arg, int unused) {
  (void)arg;
  (void)unused;
  /* ipcp_down() updated link_stats just before running these notifiers. */
  report_stats();
  report("ip-down", "ifname", ifname, NULL);
}

static void on_exit_notify(void *arg, int exit_status) {
  char v[16];
  (void)arg;
  slprintf(v, sizeof v, "%d", exit_status);
  report("exit", "status", v, NULL);
}

/* ---- the user store ---- */

struct user_entry {
  char password[MAXSECRETLEN];
  int password_len;
  u_int32_t address; /* network order, 0: none */
};

static int parse_quad(const char *s, size_t n, u_int32_t *out) {
  unsigned v[4];
  size_t i = 0;
  for (int k = 0; k < 4; ++k) {
    size_t start = i;
    unsigned x = 0;
    if (k > 0) {
      if (i >= n || s[i] != '.') return 0;
      start = ++i;
    }
    while (i < n && s[i] >= '0' && s[i] <= '9' && i - start < 3) x = x * 10 + (unsigned)(s[i++] - '0');
    if (i == start || x > 255 || (i - start > 1 && s[start] == '0')) return 0;
    v[k] = x;
  }
  if (i != n) return 0;
  *out = htonl((v[0] << 24) | (v[1] << 16) | (v[2] << 8) | v[3]);
  return 1;
}

/* Reads the store and fills *u for `name`. 1: found, 0: not found or unusable store (logged, no secrets). */
static int lookup_user(const char *name, struct user_entry *u) {
  struct stat st;
  char *buf, *line, *save = NULL;
  ssize_t got = 0, n;
  int fd, found = 0;
  memset(u, 0, sizeof *u);
  if (!secrets_path) return 0;
  fd = open(secrets_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    error("l2tpvpn: cannot open user store %s: %m", secrets_path);
    return 0;
  }
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) != 0 || st.st_uid != geteuid() ||
      st.st_size > MAX_STORE_SIZE) {
    error("l2tpvpn: refusing user store %s: must be a regular file owned by root, mode 0600", secrets_path);
    close(fd);
    return 0;
  }
  buf = malloc((size_t)st.st_size + 1);
  if (!buf) {
    close(fd);
    return 0;
  }
  while (got < st.st_size && ((n = read(fd, buf + got, (size_t)(st.st_size - got))) > 0 || (n < 0 && errno == EINTR))) {
    if (n > 0) got += n;
  }
  close(fd);
  buf[got] = '\0';
  /* Same grammar as ppp/user_store.cpp: words split on space/tab; first word the user; '#' starts a comment
   * line; then key=value words. The C++ side validated the file when it wrote it. */
  for (line = strtok_r(buf, "\n", &save); line && !found; line = strtok_r(NULL, "\n", &save)) {
    char *w, *wsave = NULL;
    size_t l = strlen(line);
    if (l && line[l - 1] == '\r') line[--l] = '\0';
    w = strtok_r(line, " \t", &wsave);
    if (!w || w[0] == '#' || strcmp(w, name) != 0) continue;
    found = 1;
    while ((w = strtok_r(NULL, " \t", &wsave)) != NULL) {
      if (strncmp(w, "password=", 9) == 0 && strlen(w + 9) < sizeof u->password) {
        strlcpy(u->password, w + 9, sizeof u->password);
        u->password_len = (int)strlen(u->password);
      } else if (strncmp(w, "address=", 8) == 0) {
        if (!parse_quad(w + 8, strlen(w + 8), &u->address)) u->address = 0;
      }
    }
    if (u->password_len == 0) found = 0;
  }
  /* Do not leave other users' passwords in freed memory. explicit_bzero, not memset: a store before free() is
   * dead to the compiler, and gcc -O2 drops such a memset. */
  explicit_bzero(buf, (size_t)got);
  free(buf);
  return found;
}

static void adopt_static_address(const struct user_entry *u) {
  if (u->address) {
    static_remote = u->address;
    ipcp_wantoptions[0].hisaddr = u->address;
    ipcp_wantoptions[0].accept_remote = 0;
  }
}

static int l2tpvpn_chap_check(void) { return 1; }
static int l2tpvpn_pap_check(void) { return 1; }

static int l2tpvpn_chap_verify(char *name, char *ourname, int id, struct chap_digest_type *digest,
                               unsigned char *challenge, unsigned char *response, char *message,
                               int message_space) {
  struct user_entry u;
  int ok;
  (void)ourname;
  if (lookup_user(name, &u)) {
    ok = digest->verify_response(id, name, (unsigned char *)u.password, u.password_len, challenge, response,
                                 message, message_space);
    if (ok) adopt_static_address(&u);
  } else {
    /* Unknown user: run the real check against a secret nobody knows, so the reply (e.g. MS-CHAPv2's
     * "E=691 R=0 C=... V=3") is the same as for a wrong password, then refuse whatever it says. */
    unsigned char dummy[32];
    for (size_t i = 0; i < sizeof dummy; ++i) dummy[i] = (unsigned char)(magic() & 0xff);
    digest->verify_response(id, name, dummy, (int)sizeof dummy, challenge, response, message, message_space);
    ok = 0;
  }
  explicit_bzero(&u, sizeof u); /* u dies here: a memset would be a dead store */
  if (!ok) report("auth-fail", "peer", name, NULL);
  return ok;
}

static int l2tpvpn_pap_auth(char *user, char *passwd, char **msgp, struct wordlist **paddrs,
                            struct wordlist **popts) {
  struct user_entry u;
  int ok = 0;
  (void)paddrs;
  (void)popts;
  if (lookup_user(user, &u)) {
    size_t a = strlen(passwd), b = (size_t)u.password_len;
    unsigned char diff = (unsigned char)(a != b);
    for (size_t i = 0; i < b; ++i) diff |= (unsigned char)(u.password[i] ^ (i < a ? passwd[i] : 0));
    ok = diff == 0;
    if (ok) adopt_static_address(&u);
  }
  explicit_bzero(&u, sizeof u); /* u dies here: a memset would be a dead store */
  if (!ok) report("auth-fail", "peer", user, NULL);
  *msgp = ok ? "Login ok" : "Login incorrect";
  return ok;
}

static int l2tpvpn_allowed_address(u_int32_t addr) {
  /* Only the address we hand out: the user's static one, else the one on pppd's command line. */
  u_int32_t want = static_remote ? static_remote : ipcp_wantoptions[0].hisaddr;
  return want != 0 && addr == want;
}

/* ---- options ---- */

static int opt_report_fd(char **argv) {
  char *end;
  long fd = strtol(argv[0], &end, 10);
  int flags;
  if (*argv[0] == '\0' || *end != '\0' || fd < 3 || fd > 65535) {
    option_error("l2tpvpn_report_fd: expected a descriptor number >= 3");
    return 0;
  }
  flags = fcntl((int)fd, F_GETFL);
  if (flags < 0) {
    option_error("l2tpvpn_report_fd: descriptor %ld is not open", fd);
    return 0;
  }
  fcntl((int)fd, F_SETFL, flags | O_NONBLOCK);
  fcntl((int)fd, F_SETFD, FD_CLOEXEC); /* not for pppd's scripts */
  report_fd = (int)fd;
  {
    char pid[16];
    slprintf(pid, sizeof pid, "%d", (int)getpid());
    report("hello", "version", "1", "pppd", VERSION, "pid", pid, NULL);
  }
  return 1;
}

static int opt_secrets(char **argv) {
  if (argv[0][0] != '/') {
    option_error("l2tpvpn_secrets: expected an absolute path");
    return 0;
  }
  free(secrets_path);
  secrets_path = strdup(argv[0]);
  if (!secrets_path) novm("l2tpvpn_secrets");
  chap_check_hook = l2tpvpn_chap_check;
  chap_verify_hook = l2tpvpn_chap_verify;
  pap_check_hook = l2tpvpn_pap_check;
  pap_auth_hook = l2tpvpn_pap_auth;
  allowed_address_hook = l2tpvpn_allowed_address;
  return 1;
}

/* Runs inside pppd's signal handler, before its main loop sees the signal and closes LCP: only plain stores.
 * No Terminate-Request retransmission and no wait for an ack (the main loop arms the LCP timer with these). */
static void on_signal(void *arg, int sig) {
  (void)arg;
  if (sig != SIGHUP || !sighup_is_hangup) return;
  lcp_fsm[0].maxtermtransmits = 0;
  lcp_fsm[0].timeouttime = 0;
}

static option_t l2tpvpn_options[] = {
    {"l2tpvpn_report_fd", o_special, (void *)opt_report_fd, "Report session events to this descriptor",
     OPT_PRIV, NULL, 0, 0, NULL, 0, 0},
    {"l2tpvpn_secrets", o_special, (void *)opt_secrets, "Take CHAP/PAP secrets from this l2tpvpn user store",
     OPT_PRIV, NULL, 0, 0, NULL, 0, 0},
    {"l2tpvpn_sighup_is_hangup", o_bool, &sighup_is_hangup, "SIGHUP means the L2TP session is already closed",
     OPT_PRIV | 1, NULL, 0, 0, NULL, 0, 0},
    {NULL, 0, NULL, NULL, 0, NULL, 0, 0, NULL, 0, 0},
};

L2TPVPN_EXPORT void plugin_init(void) {
  add_options(l2tpvpn_options);
  add_notifier(&phasechange, on_phase, NULL);
  add_notifier(&auth_up_notifier, on_auth_up, NULL);
  add_notifier(&ip_up_notifier, on_ip_up, NULL);
  add_notifier(&ip_down_notifier, on_ip_down, NULL);
  add_notifier(&exitnotify, on_exit_notify, NULL);
  add_notifier(&sigreceived, on_signal, NULL);
}
