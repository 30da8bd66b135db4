import { readdirSync, readFileSync } from 'node:fs';

/** Resident memory of this process and of every process it started (moto, its watchdog), bytes. */
export interface TreeRss {
  self: number;
  children: number;
}

function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0; // gone meanwhile
  }
}

/**
 * RSS of this process and of its descendants, from `/proc` (Linux). moto runs in its own process group but is still
 * our child, so walking parent pids finds it. Elsewhere `children` is 0 (no `/proc`).
 */
export function treeRss(root = process.pid): TreeRss {
  const self = process.memoryUsage.rss();
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return { self, children: 0 };
  }
  const parent = new Map<number, number>();
  for (const e of entries) {
    try {
      // The command name (field 2) may hold spaces and parentheses: ppid is the 2nd field after the last ')'.
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parent.set(Number(e), ppid);
    } catch {
      // exited while we looked
    }
  }
  let children = 0;
  for (const pid of parent.keys()) {
    let p = parent.get(pid);
    while (p !== undefined && p > 1 && p !== root) p = parent.get(p);
    if (p === root && pid !== root) children += rssOf(pid);
  }
  return { self, children };
}
