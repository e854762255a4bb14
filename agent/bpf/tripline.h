/* SPDX-License-Identifier: (Apache-2.0 OR GPL-2.0-only) */
/*
 * Ring-buffer record layouts shared by the BPF programs and the userspace decoders
 * (agent/sensors/ebpf/records.ts mirrors every offset; change both together).
 * Fixed-size records: bpf_ringbuf_reserve needs a constant size, and a fixed layout
 * lets userspace decode with plain DataView reads at known offsets.
 */
#ifndef TRIPLINE_H
#define TRIPLINE_H

#define TL_COMM_LEN 16
#define TL_PATH_MAX 256
#define TL_ARGS_MAX 1024    /* argv bytes kept per exec (NUL-separated) */
#define TL_ARG_ONE_MAX 256  /* bytes read per argument */
#define TL_ARGC_MAX 32      /* arguments read per exec */
#define TL_SYSCALL_MAX 512  /* syscall numbers tracked per cgroup (bits) */
#define TL_DNS_MAX 1232     /* DNS payload bytes kept: the EDNS UDP size DNS flag day 2020 settled on */

enum tl_kind {
	TL_KIND_EXEC = 1,
	TL_KIND_SYSCALL = 2,
	TL_KIND_FILE = 3,
	TL_KIND_LISTEN = 4,
	TL_KIND_CONNECT = 5,
	TL_KIND_DNS = 6,
	TL_KIND_MAX = 7,
};

enum tl_file_op {
	TL_FILE_OPEN_WRITE = 1,
	TL_FILE_RENAME = 2,
	TL_FILE_UNLINK = 3,
	TL_FILE_CHMOD = 4,
};

/* tl_exec.flags */
#define TL_EXEC_ARGV_TRUNCATED 0x1
#define TL_EXEC_ARGV_MISSING 0x2

/* tl_file.flags_ext */
#define TL_FILE_PATH_TRUNCATED 0x1

struct tl_hdr {
	__u64 time_ns;   /* CLOCK_MONOTONIC */
	__u64 cgroup_id; /* cgroup v2 id of the task */
	__u32 kind;      /* enum tl_kind */
	__u32 pid;       /* tgid */
	__u32 ppid;      /* parent tgid */
	__u32 uid;
	char comm[TL_COMM_LEN];
}; /* 48 bytes */

/* Variable length like tl_file: the filename and argv bytes follow a fixed part. */
struct tl_exec {
	struct tl_hdr h;
	__u32 flags;        /* TL_EXEC_* */
	__u32 argc;         /* arguments captured */
	__u32 args_len;     /* bytes of argv in data, after the filename */
	__u32 filename_len; /* bytes of filename at the start of data, with its NUL */
	char data[TL_PATH_MAX + TL_ARGS_MAX];
}; /* 64 bytes + filename_len + args_len */
#define TL_EXEC_FIXED 64

struct tl_syscall {
	struct tl_hdr h;
	__u32 nr;
	__u32 pad;
}; /* 56 bytes */

/* Variable length: only the bytes the paths use go into the ring buffer, so a storm
 * of short paths buffers about six times as many records as a fixed 584-byte layout. */
struct tl_file {
	struct tl_hdr h;
	__u32 op;        /* enum tl_file_op */
	__u32 flags;     /* open flags, or the mode for chmod */
	__s32 dirfd;     /* dirfd of path (AT_FDCWD for the legacy calls) */
	__s32 old_dirfd; /* dirfd of old_path (rename) */
	__u32 flags_ext; /* TL_FILE_PATH_TRUNCATED */
	__u16 path_len;  /* bytes of path in data, with its NUL */
	__u16 old_len;   /* bytes of old_path following it, with its NUL; 0 if none */
	char data[TL_PATH_MAX * 2]; /* path (new name for rename), then the rename source */
}; /* 72 bytes + path_len + old_len */
#define TL_FILE_FIXED 72

struct tl_sock {
	struct tl_hdr h;
	__u16 family; /* AF_INET / AF_INET6 */
	__u16 port;   /* host byte order */
	__u8 proto;   /* IPPROTO_TCP / IPPROTO_UDP */
	__u8 pad[3];
	__u8 addr[16]; /* IPv4 in the first 4 bytes */
	__u64 sock_ino; /* inode of the socket (listen only): finds an autobound port in /proc */
	__u64 netns;    /* network namespace cookie of the socket (connect only) */
}; /* 88 bytes */

/* A DNS response a trusted resolver sent to a socket of the cgroup. Received in softirq
 * context, so the header names no process: pid, ppid, uid and comm are zero. */
struct tl_dns {
	struct tl_hdr h;
	__u32 payload_len; /* bytes of DNS message in payload */
	__u32 flags;       /* TL_DNS_CUT: the message was longer than TL_DNS_MAX */
	__u64 netns;       /* network namespace cookie of the receiving socket */
	char payload[TL_DNS_MAX];
}; /* 64 bytes + payload_len */
#define TL_DNS_FIXED 64
#define TL_DNS_CUT 0x1

struct tl_addr {
	__u8 b[16];
};

/* Argument capture between sys_enter_execve and sched_process_exec, keyed by tid. */
struct tl_argv {
	__u32 flags;
	__u32 argc;
	__u32 len;
	__u32 pad;
	char buf[TL_ARGS_MAX + TL_ARG_ONE_MAX]; /* slack keeps every read in bounds */
};

/* start_ns tells a process from a later one reusing its pid, so a stale entry cannot
 * hide the new process's first connection to the same peer. */
struct tl_peer_key {
	__u64 start_ns; /* group leader's start time */
	__u32 tgid;
	__u16 port;
	__u8 proto;
	__u8 family;
	__u8 addr[16];
	/* The socket's network namespace: a connect from another namespace of the same
	 * process is another observation (and may carry another name, or none). */
	__u64 netns;
};

struct tl_cgroup_drop_key {
	__u64 cgroup_id;
	__u32 kind;
	__u32 pad;
};

#endif
