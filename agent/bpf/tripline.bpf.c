// SPDX-License-Identifier: (Apache-2.0 OR GPL-2.0-only)
/*
 * Tripline's kernel side: tracepoint programs (kprobes, fentry and BPF-LSM are not
 * available on every kernel), and optional cgroup programs at the cgroup root that read
 * DNS answers; CO-RE against the running kernel's BTF. Every observation
 * is a fixed-size record in one ring buffer; a failed reserve is counted per kind and per
 * cgroup so userspace can report the gap instead of learning a profile blind.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "tripline.h"

#define AT_FDCWD -100
#define O_WRONLY 01
#define O_RDWR 02
#define O_CREAT 0100
#define O_TRUNC 01000
#define WRITE_INTENT (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC)
#define AF_INET 2
#define AF_INET6 10
#define SOCK_DGRAM 2
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define PF_KTHREAD 0x00200000
#define TCP_SYN_SENT 2
#define TCP_CLOSE 7
#define TCP_LISTEN 10
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define IP_MF_OFFSET 0x3fff
#define DNS_PORT 53

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by the loader before load: the agent's own events would be pure noise (and a
 * feedback loop: every event the agent sends is itself a syscall). */
const volatile __u32 self_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20); /* resized by the loader */
} events SEC(".maps");

struct tl_bits {
	__u64 words[TL_SYSCALL_MAX / 64];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct tl_bits);
} syscall_bits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tl_argv);
} argv_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct tl_argv);
} pending_argv SEC(".maps");

/* Records assembled here are copied into the ring buffer at their real length. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tl_file);
} file_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tl_exec);
} exec_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536); /* resized by the loader */
	__type(key, struct tl_peer_key);
	__type(value, __u8);
} seen_peers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tl_dns);
} dns_scratch SEC(".maps");

/* Addresses whose port-53 answers are read, IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d),
 * to TL_RESOLVER_REMOTE or TL_RESOLVER_LOCAL. Filled by the loader; an answer from
 * anywhere else (a resolver the workload runs or points itself at) is never read. One
 * from a trusted address in a network namespace the workload made itself is read, but
 * names only connects made from that namespace (the record carries its cookie;
 * agent/dns/resolved-names.ts). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct tl_addr);
	__type(value, __u8);
} dns_resolvers SEC(".maps");

/* The network namespace cookie of each UDP socket, recorded when the socket is created,
 * for kernels whose cgroup_skb programs cannot call bpf_get_netns_cookie (it came to them
 * in Linux 6.15). Freed with the socket. A socket created before the agent started has none,
 * and the answers it receives name nothing. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} sock_netns SEC(".maps");

/* A resolver reached over the network: its answers never arrive on loopback, so one that
 * does was sent from inside the namespace (IPV6_FREEBIND lets any process send from an
 * address it does not have). TL_RESOLVER_LOCAL: a loopback resolver, listed on purpose. */
#define TL_RESOLVER_REMOTE 1
#define TL_RESOLVER_LOCAL 2
#define LOOPBACK_IFINDEX 1

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TL_KIND_MAX);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct tl_cgroup_drop_key);
	__type(value, __u64);
} cgroup_drops SEC(".maps");

static __always_inline bool is_self(void)
{
	return self_tgid != 0 && (bpf_get_current_pid_tgid() >> 32) == self_tgid;
}

static __always_inline void count_drop(__u32 kind, __u64 cgroup_id)
{
	__u64 *n = bpf_map_lookup_elem(&drops, &kind);
	if (n)
		*n += 1;
	struct tl_cgroup_drop_key key = { .cgroup_id = cgroup_id, .kind = kind };
	__u64 *c = bpf_map_lookup_elem(&cgroup_drops, &key);
	if (c) {
		__sync_fetch_and_add(c, 1);
	} else {
		__u64 one = 1;
		if (bpf_map_update_elem(&cgroup_drops, &key, &one, BPF_NOEXIST)) {
			c = bpf_map_lookup_elem(&cgroup_drops, &key);
			if (c)
				__sync_fetch_and_add(c, 1);
		}
	}
}

static __always_inline void fill_hdr(struct tl_hdr *h, __u32 kind, __u64 cgroup_id)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	h->time_ns = bpf_ktime_get_ns();
	h->cgroup_id = cgroup_id;
	h->kind = kind;
	h->pid = bpf_get_current_pid_tgid() >> 32;
	h->ppid = BPF_CORE_READ(task, real_parent, tgid);
	h->uid = (__u32)bpf_get_current_uid_gid();
	bpf_get_current_comm(h->comm, sizeof(h->comm));
}

/* Reserves a record of `size` bytes with its header filled, or counts the drop. */
static __always_inline void *reserve(__u64 size, __u32 kind)
{
	__u64 cgroup_id = bpf_get_current_cgroup_id();
	struct tl_hdr *h = bpf_ringbuf_reserve(&events, size, 0);
	if (!h) {
		count_drop(kind, cgroup_id);
		return NULL;
	}
	fill_hdr(h, kind, cgroup_id);
	return h;
}

/* ---- exec ---------------------------------------------------------------------- */

static __always_inline void capture_argv(const char *const *argv)
{
	__u32 zero = 0;
	struct tl_argv *a = bpf_map_lookup_elem(&argv_scratch, &zero);
	if (!a)
		return;
	a->flags = 0;
	a->argc = 0;
	__u32 off = 0;
	for (int i = 0; i < TL_ARGC_MAX; i++) {
		const char *p = NULL;
		if (bpf_probe_read_user(&p, sizeof(p), &argv[i]) || !p)
			goto done;
		if (off >= TL_ARGS_MAX) {
			a->flags |= TL_EXEC_ARGV_TRUNCATED;
			goto done;
		}
		long n = bpf_probe_read_user_str(&a->buf[off & (TL_ARGS_MAX - 1)], TL_ARG_ONE_MAX, p);
		if (n <= 0) {
			a->flags |= TL_EXEC_ARGV_TRUNCATED;
			goto done;
		}
		if (n == TL_ARG_ONE_MAX)
			a->flags |= TL_EXEC_ARGV_TRUNCATED;
		off += n;
		a->argc++;
	}
	{
		const char *more = NULL;
		if (!bpf_probe_read_user(&more, sizeof(more), &argv[TL_ARGC_MAX]) && more)
			a->flags |= TL_EXEC_ARGV_TRUNCATED;
	}
done:
	if (off > TL_ARGS_MAX) {
		off = TL_ARGS_MAX;
		a->flags |= TL_EXEC_ARGV_TRUNCATED;
	}
	a->len = off;
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	bpf_map_update_elem(&pending_argv, &tid, a, BPF_ANY);
}

SEC("tracepoint/syscalls/sys_enter_execve")
int tl_enter_execve(struct trace_event_raw_sys_enter *ctx)
{
	if (is_self())
		return 0;
	capture_argv((const char *const *)ctx->args[1]);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_execveat")
int tl_enter_execveat(struct trace_event_raw_sys_enter *ctx)
{
	if (is_self())
		return 0;
	capture_argv((const char *const *)ctx->args[2]);
	return 0;
}

SEC("tracepoint/sched/sched_process_exec")
int tl_process_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	if (is_self())
		return 0;
	/* The argv was stored under the calling thread's id, which old_pid still names
	 * when a non-leader thread execs. */
	__u32 old_tid = ctx->old_pid;
	__u32 zero = 0;
	struct tl_exec *e = bpf_map_lookup_elem(&exec_scratch, &zero);
	if (!e)
		return 0;
	__u64 cgroup_id = bpf_get_current_cgroup_id();
	fill_hdr(&e->h, TL_KIND_EXEC, cgroup_id);
	unsigned int loc = ctx->__data_loc_filename & 0xFFFF;
	long n = bpf_probe_read_kernel_str(e->data, TL_PATH_MAX, (void *)ctx + loc);
	__u32 fn_len = n > 0 ? n : 0;
	if (fn_len > TL_PATH_MAX)
		fn_len = TL_PATH_MAX;
	e->filename_len = fn_len;
	__u32 args_len = 0;
	struct tl_argv *a = bpf_map_lookup_elem(&pending_argv, &old_tid);
	if (a) {
		e->flags = a->flags;
		e->argc = a->argc;
		args_len = a->len;
		if (args_len > TL_ARGS_MAX)
			args_len = TL_ARGS_MAX;
		bpf_probe_read_kernel(&e->data[fn_len], args_len, a->buf);
		bpf_map_delete_elem(&pending_argv, &old_tid);
	} else {
		e->flags = TL_EXEC_ARGV_MISSING;
		e->argc = 0;
	}
	e->args_len = args_len;
	if (bpf_ringbuf_output(&events, e, TL_EXEC_FIXED + fn_len + args_len, 0))
		count_drop(TL_KIND_EXEC, cgroup_id);
	return 0;
}

/* ---- syscall set --------------------------------------------------------------- */

/* Runs on every syscall on the machine: the common case is one hash lookup and one
 * bit test, with the atomic and the ring-buffer write only for a cgroup's first use. */
SEC("raw_tracepoint/sys_enter")
int tl_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 nr = ctx->args[1];
	if (nr >= TL_SYSCALL_MAX)
		return 0;
	__u64 cgroup_id = bpf_get_current_cgroup_id();
	struct tl_bits *bits = bpf_map_lookup_elem(&syscall_bits, &cgroup_id);
	if (!bits) {
		struct tl_bits empty = {};
		bpf_map_update_elem(&syscall_bits, &cgroup_id, &empty, BPF_NOEXIST);
		bits = bpf_map_lookup_elem(&syscall_bits, &cgroup_id);
		if (!bits)
			return 0;
	}
	__u64 *word = &bits->words[(nr >> 6) & (TL_SYSCALL_MAX / 64 - 1)];
	__u64 mask = 1ULL << (nr & 63);
	if (*word & mask)
		return 0;
	/* Checked only here, off the common path; the agent never sets a bit, so its
	 * cgroup neighbours still report the syscalls it uses. */
	if (is_self())
		return 0;
	if (__sync_fetch_and_or(word, mask) & mask)
		return 0; /* another CPU reported it first */
	struct tl_syscall *s = reserve(sizeof(*s), TL_KIND_SYSCALL);
	if (!s) {
		/* Forget the bit so the next call retries: a dropped "new syscall" must not
		 * become a syscall the profile never learns. */
		__sync_fetch_and_and(word, ~mask);
		return 0;
	}
	s->nr = nr;
	s->pad = 0;
	bpf_ringbuf_submit(s, 0);
	return 0;
}

/* ---- file writes --------------------------------------------------------------- */

/* Reads a string of at most TL_PATH_MAX bytes into dst, from user memory or (kernel, a
 * constant after inlining) kernel memory; returns its length with the NUL, in
 * [1, TL_PATH_MAX] (an unreadable string becomes ""). */
static __always_inline __u32 read_path(char *dst, const char *src, __u32 *flags_ext, bool kernel)
{
	long n = kernel ? bpf_probe_read_kernel_str(dst, TL_PATH_MAX, src) : bpf_probe_read_user_str(dst, TL_PATH_MAX, src);
	if (n <= 0) {
		dst[0] = 0;
		return 1;
	}
	if (n >= TL_PATH_MAX) {
		*flags_ext |= TL_FILE_PATH_TRUNCATED;
		return TL_PATH_MAX;
	}
	return n;
}

static __always_inline void emit_file_from(__u32 op, __u32 flags, int dirfd, const char *path, int old_dirfd,
					   const char *old_path, bool kernel)
{
	if (is_self())
		return;
	__u32 zero = 0;
	struct tl_file *f = bpf_map_lookup_elem(&file_scratch, &zero);
	if (!f)
		return;
	__u64 cgroup_id = bpf_get_current_cgroup_id();
	fill_hdr(&f->h, TL_KIND_FILE, cgroup_id);
	f->op = op;
	f->flags = flags;
	f->dirfd = dirfd;
	f->old_dirfd = old_dirfd;
	f->flags_ext = 0;
	__u32 n = read_path(f->data, path, &f->flags_ext, kernel);
	__u32 m = 0;
	if (old_path)
		m = read_path(&f->data[n & (TL_PATH_MAX * 2 - 1)], old_path, &f->flags_ext, kernel);
	f->path_len = n;
	f->old_len = m;
	/* Assembled in per-CPU scratch and copied out at its real length (bpf_ringbuf_reserve
	 * only takes a constant size). */
	__u64 size = TL_FILE_FIXED + n + m;
	if (size > sizeof(*f))
		return;
	if (bpf_ringbuf_output(&events, f, size, 0))
		count_drop(TL_KIND_FILE, cgroup_id);
}

/* A file event whose paths are in user memory (syscall arguments). */
static __always_inline void emit_file(__u32 op, __u32 flags, int dirfd, const char *path, int old_dirfd,
				      const char *old_path)
{
	emit_file_from(op, flags, dirfd, path, old_dirfd, old_path, false);
}

SEC("tracepoint/syscalls/sys_enter_open")
int tl_enter_open(struct trace_event_raw_sys_enter *ctx)
{
	__u32 flags = ctx->args[1];
	if (flags & WRITE_INTENT)
		emit_file(TL_FILE_OPEN_WRITE, flags, AT_FDCWD, (const char *)ctx->args[0], 0, NULL);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_openat")
int tl_enter_openat(struct trace_event_raw_sys_enter *ctx)
{
	__u32 flags = ctx->args[2];
	if (flags & WRITE_INTENT)
		emit_file(TL_FILE_OPEN_WRITE, flags, (int)ctx->args[0], (const char *)ctx->args[1], 0, NULL);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_openat2")
int tl_enter_openat2(struct trace_event_raw_sys_enter *ctx)
{
	__u64 flags = 0;
	struct open_how *how = (struct open_how *)ctx->args[2];
	if (bpf_probe_read_user(&flags, sizeof(flags), &how->flags))
		return 0;
	if (flags & WRITE_INTENT)
		emit_file(TL_FILE_OPEN_WRITE, (__u32)flags, (int)ctx->args[0], (const char *)ctx->args[1], 0, NULL);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_creat")
int tl_enter_creat(struct trace_event_raw_sys_enter *ctx)
{
	emit_file(TL_FILE_OPEN_WRITE, O_CREAT | O_WRONLY | O_TRUNC, AT_FDCWD, (const char *)ctx->args[0], 0, NULL);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_rename")
int tl_enter_rename(struct trace_event_raw_sys_enter *ctx)
{
	emit_file(TL_FILE_RENAME, 0, AT_FDCWD, (const char *)ctx->args[1], AT_FDCWD, (const char *)ctx->args[0]);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_renameat")
int tl_enter_renameat(struct trace_event_raw_sys_enter *ctx)
{
	emit_file(TL_FILE_RENAME, 0, (int)ctx->args[2], (const char *)ctx->args[3], (int)ctx->args[0],
		  (const char *)ctx->args[1]);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_renameat2")
int tl_enter_renameat2(struct trace_event_raw_sys_enter *ctx)
{
	emit_file(TL_FILE_RENAME, (__u32)ctx->args[4], (int)ctx->args[2], (const char *)ctx->args[3],
		  (int)ctx->args[0], (const char *)ctx->args[1]);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_unlink")
int tl_enter_unlink(struct trace_event_raw_sys_enter *ctx)
{
	emit_file(TL_FILE_UNLINK, 0, AT_FDCWD, (const char *)ctx->args[0], 0, NULL);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_unlinkat")
int tl_enter_unlinkat(struct trace_event_raw_sys_enter *ctx)
{
	emit_file(TL_FILE_UNLINK, (__u32)ctx->args[2], (int)ctx->args[0], (const char *)ctx->args[1], 0, NULL);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_chmod")
int tl_enter_chmod(struct trace_event_raw_sys_enter *ctx)
{
	emit_file(TL_FILE_CHMOD, (__u32)ctx->args[1], AT_FDCWD, (const char *)ctx->args[0], 0, NULL);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_fchmodat")
int tl_enter_fchmodat(struct trace_event_raw_sys_enter *ctx)
{
	emit_file(TL_FILE_CHMOD, (__u32)ctx->args[2], (int)ctx->args[0], (const char *)ctx->args[1], 0, NULL);
	return 0;
}

/* Linux 6.6+; the loader treats it as optional. */
SEC("tracepoint/syscalls/sys_enter_fchmodat2")
int tl_enter_fchmodat2(struct trace_event_raw_sys_enter *ctx)
{
	emit_file(TL_FILE_CHMOD, (__u32)ctx->args[2], (int)ctx->args[0], (const char *)ctx->args[1], 0, NULL);
	return 0;
}

/* ---- sockets ------------------------------------------------------------------- */

/* The socket behind a descriptor of the current task, or NULL when it is not one. */
static __always_inline struct socket *socket_of_fd(int fd)
{
	if (fd < 0)
		return NULL;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	if (!fdt || (__u32)fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *file = NULL;
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) || !file)
		return NULL;
	if ((BPF_CORE_READ(file, f_inode, i_mode) & S_IFMT) != S_IFSOCK)
		return NULL;
	return BPF_CORE_READ(file, private_data);
}

/* Reads an AF_INET/AF_INET6 sockaddr from user memory; false for other families. */
static __always_inline bool read_sockaddr(const void *uaddr, __u16 *family, __u16 *port, __u8 addr[16])
{
	__u16 fam = 0;
	if (!uaddr || bpf_probe_read_user(&fam, sizeof(fam), uaddr))
		return false;
	__be16 be_port = 0;
	if (fam == AF_INET) {
		struct sockaddr_in sin = {};
		if (bpf_probe_read_user(&sin, sizeof(sin), uaddr))
			return false;
		be_port = sin.sin_port;
		__builtin_memcpy(addr, &sin.sin_addr.s_addr, 4);
	} else if (fam == AF_INET6) {
		struct sockaddr_in6 sin6 = {};
		if (bpf_probe_read_user(&sin6, sizeof(sin6), uaddr))
			return false;
		be_port = sin6.sin6_port;
		__builtin_memcpy(addr, &sin6.sin6_addr, 16);
	} else {
		return false;
	}
	*family = fam;
	*port = __builtin_bswap16(be_port);
	return true;
}

static __always_inline void emit_sock(__u32 kind, __u16 family, __u16 port, __u8 proto, const __u8 addr[16],
				      __u64 sock_ino, __u64 netns)
{
	struct tl_sock *s = reserve(sizeof(*s), kind);
	if (!s)
		return;
	s->family = family;
	s->port = port;
	s->proto = proto;
	s->pad[0] = s->pad[1] = s->pad[2] = 0;
	__builtin_memcpy(s->addr, addr, 16);
	s->sock_ino = sock_ino;
	s->netns = netns;
	bpf_ringbuf_submit(s, 0);
}

/* Reports key's peer (family, port, address, protocol, namespace filled in) once per
 * process: fills in the process and checks the LRU of peers already reported. */
static __always_inline void report_peer(struct tl_peer_key *key)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	key->start_ns = BPF_CORE_READ(task, group_leader, start_time);
	key->tgid = bpf_get_current_pid_tgid() >> 32;
	if (bpf_map_lookup_elem(&seen_peers, key))
		return;
	__u8 one = 1;
	bpf_map_update_elem(&seen_peers, key, &one, BPF_ANY);
	emit_sock(TL_KIND_CONNECT, key->family, key->port, key->proto, key->addr, 0, key->netns);
}

/* One connect event per (process, protocol, peer): the LRU forgets the oldest peers
 * first, so a long-lived process re-reports a peer only after many others. True when
 * the peer was read (reported now or before). */
static __always_inline bool emit_peer(int fd, const void *uaddr, bool udp_only)
{
	if (is_self())
		return false;
	struct tl_peer_key key = {};
	__u16 fam = 0;
	if (!read_sockaddr(uaddr, &fam, &key.port, key.addr) || key.port == 0)
		return false;
	struct socket *sock = socket_of_fd(fd);
	if (!sock)
		return false;
	__u16 proto = BPF_CORE_READ(sock, sk, sk_protocol);
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return false;
	if (udp_only && proto != IPPROTO_UDP)
		return false;
	key.proto = proto;
	key.family = fam;
	/* A DNS answer names this connect only if it reached the same network namespace. */
	key.netns = BPF_CORE_READ(sock, sk, __sk_common.skc_net.net, net_cookie);
	report_peer(&key);
	return true;
}

/* Threads inside a connect(2) whose peer the entry tracepoint read. Their move to
 * SYN_SENT is not reported again: a connect-time load balancer (Cilium's or Calico's
 * eBPF service handling) rewrites a service address to a backend's before the kernel
 * connects, and reporting both would make every service call two peers. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u8);
} connecting SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_connect")
int tl_enter_connect(struct trace_event_raw_sys_enter *ctx)
{
	if (emit_peer((int)ctx->args[0], (const void *)ctx->args[1], false)) {
		__u32 tid = (__u32)bpf_get_current_pid_tgid();
		__u8 one = 1;
		bpf_map_update_elem(&connecting, &tid, &one, BPF_ANY);
	}
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_connect")
int tl_exit_connect(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	bpf_map_delete_elem(&connecting, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_sendto")
int tl_enter_sendto(struct trace_event_raw_sys_enter *ctx)
{
	/* sendto without an address goes to the connected peer, already seen at connect. */
	if (ctx->args[4])
		emit_peer((int)ctx->args[0], (const void *)ctx->args[4], true);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_sendmsg")
int tl_enter_sendmsg(struct trace_event_raw_sys_enter *ctx)
{
	struct user_msghdr *msg = (struct user_msghdr *)ctx->args[1];
	void *name = NULL;
	if (bpf_probe_read_user(&name, sizeof(name), &msg->msg_name) || !name)
		return 0;
	emit_peer((int)ctx->args[0], name, true);
	return 0;
}

/* UDP has no listen(): a bind to a non-zero port is the listener. TCP binds are left to
 * the TCP_LISTEN transition below, since a bound TCP socket may only ever connect. */
SEC("tracepoint/syscalls/sys_enter_bind")
int tl_enter_bind(struct trace_event_raw_sys_enter *ctx)
{
	if (is_self())
		return 0;
	__u16 family = 0, port = 0;
	__u8 addr[16] = {};
	if (!read_sockaddr((const void *)ctx->args[1], &family, &port, addr) || port == 0)
		return 0;
	struct socket *sock = socket_of_fd((int)ctx->args[0]);
	if (!sock || BPF_CORE_READ(sock, type) != SOCK_DGRAM)
		return 0;
	if (BPF_CORE_READ(sock, sk, sk_protocol) != IPPROTO_UDP)
		return 0;
	emit_sock(TL_KIND_LISTEN, family, port, IPPROTO_UDP, addr, 0, 0);
	return 0;
}

/* The move to TCP_LISTEN happens only inside listen(2) (inet_listen), so the current
 * task, its pid and its cgroup are the listener's. */
/* A TCP connect as the kernel makes it: the move from CLOSE to SYN_SENT happens inside
 * connect (tcp_v4_connect, tcp_v6_connect), in the connecting task. This reports the
 * TCP connects no connect(2) argument showed: io_uring's (inline, or run later by an
 * io-wq worker, a thread of the same process; on a registered file or a descriptor a
 * linked request made) and TCP Fast Open's. Kernel threads' connects (NFS, iSCSI,
 * MPTCP subflows) belong to no workload and are left out. */
static __always_inline void tcp_connect_state(struct sock *sk, __u16 family, __u16 dport, const __u8 *daddr,
					      const __u8 *daddr_v6)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	if (bpf_map_lookup_elem(&connecting, &tid))
		return;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	if (BPF_CORE_READ(task, flags) & PF_KTHREAD)
		return;
	struct tl_peer_key key = {};
	if (family == AF_INET)
		bpf_probe_read_kernel(key.addr, 4, daddr);
	else if (family == AF_INET6)
		bpf_probe_read_kernel(key.addr, 16, daddr_v6);
	else
		return;
	key.port = dport;
	key.proto = IPPROTO_TCP;
	key.family = family;
	key.netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, net_cookie);
	report_peer(&key);
}

SEC("tracepoint/sock/inet_sock_set_state")
int tl_sock_set_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	/* Each field is loaded once, up front: the verifier refuses loads through a ctx
	 * pointer plus offset, which the compiler otherwise forms for reuse. */
	int oldstate = ctx->oldstate;
	int newstate = ctx->newstate;
	if (ctx->protocol != IPPROTO_TCP || (newstate != TCP_LISTEN && newstate != TCP_SYN_SENT) || is_self())
		return 0;
	__u16 family = ctx->family;
	__u16 sport = ctx->sport;
	struct sock *sk = (struct sock *)ctx->skaddr;
	if (newstate == TCP_SYN_SENT) {
		if (oldstate == TCP_CLOSE)
			tcp_connect_state(sk, family, ctx->dport, ctx->daddr, ctx->daddr_v6);
		return 0;
	}
	__u8 addr[16] = {};
	if (family == AF_INET)
		bpf_probe_read_kernel(addr, 4, ctx->saddr);
	else if (family == AF_INET6)
		bpf_probe_read_kernel(addr, 16, ctx->saddr_v6);
	else
		return 0;
	/* listen(2) without bind(2) picks its port just after this transition, so sport is 0
	 * here; the socket's inode lets userspace read the port from /proc/<pid>/net/tcp. */
	__u64 ino = 0;
	if (sport == 0)
		ino = BPF_CORE_READ(sk, sk_socket, file, f_inode, i_ino);
	emit_sock(TL_KIND_LISTEN, family, sport, IPPROTO_TCP, addr, ino, 0);
	return 0;
}

/* ---- io_uring ------------------------------------------------------------------ */

/* The path a request prepared: a pointer to a struct filename, or, on kernels with the
 * delayed_filename change (after 6.19), that pointer wrapped in a struct. Both layouts
 * are local types, so the build does not depend on which one the build host's
 * vmlinux.h has; CO-RE matches them by name without the ___ suffix, and a field exists
 * only where its type fits (a pointer never matches a struct). */
struct filename___tl {
	const char *name;
} __attribute__((preserve_access_index));

struct delayed_filename___tl {
	struct filename___tl *__incomplete_filename;
} __attribute__((preserve_access_index));

struct io_open___ptr {
	struct filename___tl *filename;
} __attribute__((preserve_access_index));

struct io_open___delayed {
	struct delayed_filename___tl filename;
} __attribute__((preserve_access_index));

struct io_rename___ptr {
	struct filename___tl *oldpath;
	struct filename___tl *newpath;
} __attribute__((preserve_access_index));

struct io_rename___delayed {
	struct delayed_filename___tl oldpath;
	struct delayed_filename___tl newpath;
} __attribute__((preserve_access_index));

struct io_unlink___ptr {
	struct filename___tl *filename;
} __attribute__((preserve_access_index));

struct io_unlink___delayed {
	struct delayed_filename___tl filename;
} __attribute__((preserve_access_index));

/* The kernel's copy of a request's path, for either layout; NULL for neither. */
#define URING_PATH(req_type, p, field)                                                                  \
	(bpf_core_field_exists(((struct req_type##___ptr *)(p))->field)                                 \
		 ? BPF_CORE_READ((struct req_type##___ptr *)(p), field, name)                            \
		 : bpf_core_field_exists(((struct req_type##___delayed *)(p))->field)                    \
			   ? BPF_CORE_READ((struct req_type##___delayed *)(p), field.__incomplete_filename, name) \
			   : NULL)

/* A UDP connect submitted through a ring. The socket is the request's fd in the
 * process's table at submission (a registered "fixed" file is an index into the ring's
 * own table, and a descriptor a linked request makes does not exist yet: a listed blind
 * spot). The address is read from the user's buffer, as for connect(2): where the kernel
 * keeps its own copy differs between versions (an io_async_msghdr, then a bare
 * sockaddr_storage), and reading the wrong one would report a wrong peer. */
static __always_inline void uring_connect(struct io_kiocb *req, void *cmd)
{
	if (!bpf_core_type_exists(struct io_connect) || !bpf_core_field_exists(req->cqe.fd))
		return;
	if (BPF_CORE_READ(req, flags) & REQ_F_FIXED_FILE)
		return;
	struct io_connect *conn = cmd;
	/* UDP only: a TCP connect is reported from its move to SYN_SENT, which sees the
	 * socket whatever descriptor named it. */
	emit_peer(BPF_CORE_READ(req, cqe.fd), BPF_CORE_READ(conn, addr), true);
}

/* A file opened, renamed or removed, or a connection opened, through an io_uring ring
 * makes no such syscall, so the syscall tracepoints above never see it: the io_uring
 * blind spot of syscall-based sensors. io_uring_submit_req fires once a request is
 * prepared, in the submitting task or the ring's SQPOLL thread (a thread of the same
 * process): paths are already copied into the kernel (struct filename) and flags into
 * the request, so for files what is read is what the kernel will act on. TCP connects
 * through a ring are reported by tl_sock_set_state (their move to SYN_SENT), which
 * sees the socket whatever descriptor named it; this program reads UDP ones. Linux
 * 6.4+ (the tracepoint's name; before, io_uring_submit_sqe); optional in the loader,
 * and the type checks keep it loadable where the request layout differs. */
SEC("raw_tracepoint/io_uring_submit_req")
int tl_uring_submit(struct bpf_raw_tracepoint_args *ctx)
{
	/* A raw tracepoint: the kernel does not format the event (with its opcode name) for
	 * each request, which a classic tracepoint program would pay on every submission. */
	struct io_kiocb *req = (struct io_kiocb *)ctx->args[0];
#ifdef TL_TEST_REFUSED_OPTIONAL
	/* Built into a test object only: a read the verifier refuses, showing that a refused
	 * optional program costs only itself (test/integration/ebpf/sensor-lifecycle.test.ts). */
	if (ctx->args[1] == 1)
		return *(int *)ctx->args[2];
#endif
	if (!bpf_core_field_exists(req->cmd))
		return 0;
	__u8 op = BPF_CORE_READ(req, opcode);
	void *cmd = __builtin_preserve_access_index(&req->cmd);
	if (op == IORING_OP_OPENAT || op == IORING_OP_OPENAT2) {
		if (!bpf_core_type_exists(struct io_open))
			return 0;
		struct io_open *open = cmd;
		__u64 flags = BPF_CORE_READ(open, how.flags);
		const char *path = URING_PATH(io_open, open, filename);
		if ((flags & WRITE_INTENT) && path)
			emit_file_from(TL_FILE_OPEN_WRITE, (__u32)flags, BPF_CORE_READ(open, dfd), path, 0, NULL, true);
	} else if (op == IORING_OP_RENAMEAT) {
		if (!bpf_core_type_exists(struct io_rename))
			return 0;
		struct io_rename *ren = cmd;
		const char *to = URING_PATH(io_rename, ren, newpath);
		const char *from = URING_PATH(io_rename, ren, oldpath);
		if (to && from)
			emit_file_from(TL_FILE_RENAME, BPF_CORE_READ(ren, flags), BPF_CORE_READ(ren, new_dfd), to,
				       BPF_CORE_READ(ren, old_dfd), from, true);
	} else if (op == IORING_OP_UNLINKAT) {
		if (!bpf_core_type_exists(struct io_unlink))
			return 0;
		struct io_unlink *un = cmd;
		const char *path = URING_PATH(io_unlink, un, filename);
		if (path)
			emit_file_from(TL_FILE_UNLINK, BPF_CORE_READ(un, flags), BPF_CORE_READ(un, dfd), path, 0, NULL,
				       true);
	} else if (op == IORING_OP_CONNECT) {
		uring_connect(req, cmd);
	}
	return 0;
}

/* ---- DNS answers ----------------------------------------------------------------- */

#define DNS_ANSWERS_PER_SEC 100
#define DNS_ANSWERS_BURST 200
#define DNS_NS_PER_ANSWER (1000000000ULL / DNS_ANSWERS_PER_SEC)

struct tl_dns_budget {
	__u64 refill_ns;
	__u64 tokens;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64);
	__type(value, struct tl_dns_budget);
} dns_budget SEC(".maps");

/* A token bucket per cgroup: DNS_ANSWERS_PER_SEC answers, bursts of DNS_ANSWERS_BURST.
 * Updates from two CPUs at once may race and let an extra answer through, which is fine
 * for a limit that only protects the ring buffer. */
static __always_inline bool dns_budget_take(__u64 cgroup_id)
{
	__u64 now = bpf_ktime_get_ns();
	struct tl_dns_budget *b = bpf_map_lookup_elem(&dns_budget, &cgroup_id);
	if (!b) {
		struct tl_dns_budget fresh = { .refill_ns = now, .tokens = DNS_ANSWERS_BURST - 1 };
		bpf_map_update_elem(&dns_budget, &cgroup_id, &fresh, BPF_ANY);
		return true;
	}
	/* Another CPU may have moved refill_ns past this CPU's `now`: no underflow. */
	__u64 refill_ns = b->refill_ns;
	__u64 earned = now > refill_ns ? (now - refill_ns) / DNS_NS_PER_ANSWER : 0;
	if (earned) {
		__u64 t = b->tokens + earned;
		b->tokens = t > DNS_ANSWERS_BURST ? DNS_ANSWERS_BURST : t;
		b->refill_ns = refill_ns + earned * DNS_NS_PER_ANSWER;
	}
	if (b->tokens == 0)
		return false;
	b->tokens--;
	return true;
}

/* The network namespace of the socket receiving skb, 0 when unknown. from_helper is a
 * constant after inlining: each program keeps only its own branch, so the kernel that
 * refuses one program's helper never sees it in the other. */
static __always_inline __u64 receiver_netns(struct __sk_buff *skb, bool from_helper)
{
	if (from_helper)
		return bpf_get_netns_cookie(skb);
	struct bpf_sock *sk = skb->sk;
	if (!sk)
		return 0;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return 0;
	__u64 *netns = bpf_sk_storage_get(&sock_netns, sk, 0, 0);
	return netns ? *netns : 0;
}

/* Copies the UDP payload of a DNS response from a trusted resolver into the ring buffer,
 * for userspace to parse: the answers name the addresses a later connect goes to. The
 * cgroup hook sees every socket's traffic whatever its network namespace, and runs for
 * every received packet, so everything but port-53 UDP from a resolver returns at once.
 * Observation only: the verdict is always 1 (deliver). */
static __always_inline int dns_answer(struct __sk_buff *skb, bool netns_from_helper)
{
	/* Headers are read in place (direct packet access), not copied with
	 * bpf_skb_load_bytes: this runs for every packet, and the socket layer has already
	 * made the IP and UDP headers linear when it delivers a datagram. */
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct tl_addr from = {};
	struct udphdr *udp;
	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = data;
		if ((void *)(ip + 1) > data_end || ip->protocol != IPPROTO_UDP)
			return 1;
		/* A fragment carries no UDP header (or only part of the message). */
		if (ip->frag_off & bpf_htons(IP_MF_OFFSET))
			return 1;
		udp = data + ip->ihl * 4;
		from.b[10] = from.b[11] = 0xff;
		__builtin_memcpy(&from.b[12], &ip->saddr, 4);
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = data;
		/* Extension headers are not walked: resolvers do not send them. */
		if ((void *)(ip6 + 1) > data_end || ip6->nexthdr != IPPROTO_UDP)
			return 1;
		udp = (void *)(ip6 + 1);
		__builtin_memcpy(from.b, &ip6->saddr, 16);
	} else {
		return 1;
	}
	if ((void *)(udp + 1) > data_end || udp->source != bpf_htons(DNS_PORT))
		return 1;
	__u8 *resolver = bpf_map_lookup_elem(&dns_resolvers, &from);
	if (!resolver || (*resolver != TL_RESOLVER_LOCAL && skb->ingress_ifindex == LOOPBACK_IFINDEX))
		return 1;
	__u32 udp_off = (void *)udp - data;
	__u32 off = udp_off + sizeof(*udp);

	/* Only answers that can name an address are copied: a response (QR), to a standard
	 * query (opcode 0), not truncated, NOERROR, one question, at least one answer. The
	 * NXDOMAINs of search-domain expansion, the bulk of resolver traffic, stop here. */
	__u8 dns_hdr[12];
	if (bpf_skb_load_bytes(skb, off, dns_hdr, sizeof(dns_hdr)))
		return 1;
	if ((dns_hdr[2] & 0xfa) != 0x80 || (dns_hdr[3] & 0x0f) != 0 || dns_hdr[4] != 0 || dns_hdr[5] != 1 ||
	    (dns_hdr[6] == 0 && dns_hdr[7] == 0))
		return 1;

	__u64 cgroup_id = bpf_skb_cgroup_id(skb);
	/* A container flooding its resolver must not crowd every other observation of the
	 * node out of the ring buffer. */
	if (!dns_budget_take(cgroup_id)) {
		count_drop(TL_KIND_DNS, cgroup_id);
		return 1;
	}
	__u32 zero = 0;
	struct tl_dns *d = bpf_map_lookup_elem(&dns_scratch, &zero);
	if (!d)
		return 1;
	__u32 len = skb->len > off ? skb->len - off : 0;
	d->flags = 0;
	if (len > TL_DNS_MAX) {
		len = TL_DNS_MAX;
		d->flags = TL_DNS_CUT;
	}
	/* The DNS header alone is 12 bytes; anything shorter is not an answer. */
	if (len < 12 || bpf_skb_load_bytes(skb, off, d->payload, len))
		return 1;
	d->payload_len = len;
	/* 0 (a socket older than the agent, on the sock_netns path): sent all the same, so
	 * userspace counts what it cannot attribute. */
	d->netns = receiver_netns(skb, netns_from_helper);
	d->h.time_ns = bpf_ktime_get_ns();
	d->h.cgroup_id = cgroup_id;
	d->h.kind = TL_KIND_DNS;
	d->h.pid = d->h.ppid = d->h.uid = 0;
	__builtin_memset(d->h.comm, 0, sizeof(d->h.comm));
	if (bpf_ringbuf_output(&events, d, TL_DNS_FIXED + len, 0))
		count_drop(TL_KIND_DNS, cgroup_id);
	return 1;
}

SEC("cgroup_skb/ingress")
int tl_dns_answer(struct __sk_buff *skb)
{
	return dns_answer(skb, true);
}

/* For kernels without bpf_get_netns_cookie in cgroup_skb programs: loaded instead of
 * tl_dns_answer, with tl_sock_netns. */
SEC("cgroup_skb/ingress")
int tl_dns_by_sock(struct __sk_buff *skb)
{
	return dns_answer(skb, false);
}

/* Records a new UDP socket's network namespace for tl_dns_by_sock. Runs in the process
 * creating the socket, so the namespace is the one its answers will reach. Always
 * allows the socket (1): observation only. */
SEC("cgroup/sock_create")
int tl_sock_netns(struct bpf_sock *sk)
{
	if (sk->protocol != IPPROTO_UDP)
		return 1;
	__u64 *netns = bpf_sk_storage_get(&sock_netns, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (netns)
		*netns = bpf_get_netns_cookie(sk);
	return 1;
}
