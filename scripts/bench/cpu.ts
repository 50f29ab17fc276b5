// CPU time used by processes, read from /proc: the bench divides it by the operations done, so its
// "CPU per operation" compares implementations even on a machine other work shares.
import { readdirSync, readFileSync } from "node:fs";
import { PG_ADMIN_URL, type TestDatabase, withPg } from "@billing/testkit";

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** utime + stime of one process in ms; 0 once it is gone. */
export function cpuMsOf(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    // The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** CPU ms of each PostgreSQL backend serving `database`, by pid (other databases' work is not counted). */
export async function postgresCpuByPid(database: TestDatabase | undefined): Promise<Map<number, number>> {
  if (database === undefined) return new Map();
  const pids = await withPg(PG_ADMIN_URL, async (pg) => {
    const { rows } = await pg.query<{ pid: number }>("select pid from pg_stat_activity where datname = $1", [
      database.name,
    ]);
    return rows.map((row) => row.pid);
  });
  return new Map(pids.map((pid) => [pid, cpuMsOf(pid)]));
}

/** CPU the backends spent between two readings: a backend that started in between counts whole, one that ended is lost. */
export function postgresCpuBetween(
  before: ReadonlyMap<number, number>,
  after: ReadonlyMap<number, number>,
): number {
  let total = 0;
  for (const [pid, ms] of after) total += ms - (before.get(pid) ?? 0);
  return total;
}

/** The pid of the first process whose command is `command` (e.g. "nats-server"), if one runs here. */
export function pidOfCommand(command: string): number | undefined {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, "utf8").trim() === command) return Number(entry);
    } catch {
      // Gone since the listing.
    }
  }
  return undefined;
}

/** CPU ms (user + system) this process has used. */
export function ownCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}
