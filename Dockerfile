# syntax=docker/dockerfile:1
#
# Two images from one build:
#   docker build --target agent     -t tripline/agent:0.1.0 .
#   docker build --target collector -t tripline/collector:0.1.0 .
#
# Base images are pinned by exact version tag (the Node 20 release the test suite runs
# on). Pin them by digest too when you build: `docker buildx imagetools inspect
# node:20.20.2-bookworm-slim` prints it; this file was written without registry access.
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

# ---- build: TypeScript, generated protobuf code and the CO-RE BPF object ------------
FROM ${NODE_IMAGE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      clang llvm libbpf-dev bpftool make linux-libc-dev ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/gen-proto.mjs scripts/copy-generated.mjs scripts/
COPY proto/ proto/
COPY lib/ lib/
COPY agent/ agent/
COPY collector/ collector/
COPY cli/ cli/
# vmlinux.h is generated from the BTF of the kernel this build runs on
# (/sys/kernel/btf/vmlinux, visible in build containers). CO-RE relocations make the
# object load on any kernel with BTF, so the build host's kernel version does not matter.
# A build host without BTF can pass one: --build-arg BTF=/src/vmlinux.btf after copying it in.
ARG BTF=/sys/kernel/btf/vmlinux
RUN npm run proto \
 && make -C agent/bpf BTF="${BTF}" \
 && npx tsc -p tsconfig.build.json \
 && node scripts/copy-generated.mjs

# ---- production dependencies only --------------------------------------------------
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# ---- common runtime: Node 20 slim, no compilers or build tools -----------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
ENTRYPOINT ["node", "/app/dist/cli/main.js"]

# ---- collector: unprivileged ---------------------------------------------------------
FROM runtime AS collector
RUN groupadd --system --gid 10001 tripline \
 && useradd --system --uid 10001 --gid tripline --home-dir /var/lib/tripline --shell /usr/sbin/nologin tripline \
 && mkdir -p /var/lib/tripline && chown tripline:tripline /var/lib/tripline
USER 10001:10001
EXPOSE 7443 7680
CMD ["collector", "--config", "/etc/tripline/collector.yaml", "--data-dir", "/var/lib/tripline"]

# ---- agent: loads eBPF programs ------------------------------------------------------
# The agent runs as uid 0 because loading and attaching BPF programs and reading other
# processes' /proc entries need capabilities (BPF, PERFMON, SYS_PTRACE, DAC_READ_SEARCH,
# SYS_RESOURCE) that Kubernetes grants to the container's root user; the DaemonSet drops
# every other capability, is not `privileged`, and mounts host paths read-only (see
# docs/security.md). libbpf1 is the only native library it needs, loaded through koffi.
FROM runtime AS agent
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libbpf1 \
 && rm -rf /var/lib/apt/lists/*
# The sensor looks for agent/bpf/.output/ above its compiled module, with the syscall table beside the object.
COPY --from=build /src/agent/bpf/.output/tripline.bpf.o /src/agent/bpf/.output/syscalls-x86_64.json ./agent/bpf/.output/
USER 0:0
EXPOSE 9464
CMD ["agent", "--config", "/etc/tripline/agent.yaml"]
