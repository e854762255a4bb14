/**
 * Where the cgroup v2 hierarchy is mounted. Pure unified hosts mount it at /sys/fs/cgroup;
 * hybrid hosts (v1 controllers plus v2) at /sys/fs/cgroup/unified. Read from mountinfo
 * rather than guessed, because containers and distributions differ.
 */
import { readFileSync } from 'node:fs';

const PREFERRED = ['/sys/fs/cgroup', '/sys/fs/cgroup/unified'];

/** Mount points of every cgroup2 file system listed in a mountinfo text. */
export function cgroupV2MountPoints(mountinfo: string): string[] {
  const out: string[] = [];
  for (const line of mountinfo.split('\n')) {
    // "<id> <parent> <maj:min> <root> <mount point> <options> [optional…] - <fstype> <source> <super options>"
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const fstype = line.slice(sep + 3).split(' ')[0];
    if (fstype !== 'cgroup2') continue;
    const mountPoint = line.slice(0, sep).split(' ')[4];
    if (mountPoint)
      out.push(mountPoint.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8))));
  }
  return out;
}

/** The cgroup v2 mount point to resolve ids under, or undefined when there is none. */
export function findCgroupV2Root(mountinfo?: string): string | undefined {
  let text = mountinfo;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/mountinfo', 'utf8');
    } catch {
      return undefined;
    }
  }
  const mounts = cgroupV2MountPoints(text);
  return PREFERRED.find((p) => mounts.includes(p)) ?? mounts[0];
}
