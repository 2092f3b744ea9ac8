/**
 * What the benchmarks read of processes and the lab's servers: a free port, a process's peak
 * RSS and CPU time (/proc), the sessions each user has open on a lab Dovecot (doveadm who).
 * @module
 */
import type { LabInfo, LabSide } from "../lab/types.ts";
import { run } from "../lab/util.ts";

/** Installs a Debian package with apt-get (refreshing the package lists when it is not found). */
export async function aptInstall(pkg: string): Promise<void> {
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  const first = await run("apt-get", ["install", "-y", "-q", pkg], { env, allowFail: true });
  if (first.code !== 0) {
    await run("apt-get", ["update", "-q"], { env });
    await run("apt-get", ["install", "-y", "-q", pkg], { env });
  }
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** VmHWM of a live process in MiB (NaN when unreadable). */
export function peakRssOf(pid: number): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** user + system CPU seconds of a live process so far. */
export function cpuOf(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  // The command name is in parentheses and may hold spaces: split after the last ")".
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** Sessions per user on one of the lab's Dovecot instances (from `doveadm who`). */
export async function sessionsOf(
  lab: LabInfo,
  side: LabSide = "prod",
): Promise<Map<string, number>> {
  const res = await run("doveadm", ["-c", lab.imap[side].configFile, "-f", "tab", "who"], {
    allowFail: true,
  });
  const out = new Map<string, number>();
  for (const line of res.stdout.split("\n").slice(1)) {
    const [user, n] = line.split("\t");
    if (user) out.set(user, Number(n));
  }
  return out;
}
