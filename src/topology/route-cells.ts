// Which route of each table a route cell takes: for every (table, cell), the target of the table's
// longest route covering the cell ('' where none does; index 0 is "no cell").

export interface Route {
  cidr: { family: 4 | 6; start: bigint; length: number };
  target: string;
}

/**
 * Per table, the target of each cell. A table's routes are kept by prefix length, then network
 * address, so a cell's longest covering route is found by masking the cell's start to each length the
 * table has, longest first: tables × cells × lengths lookups, never a scan of the table per cell
 * (100k routes would be 10^10 comparisons).
 */
export function longestRoutes(tables: Route[][], cells: Route['cidr'][]): string[][] {
  return tables.map((table) => {
    const byLength = new Map<number, Map<bigint, string>>();
    for (const r of table) {
      const key = r.cidr.family * 256 + r.cidr.length;
      let starts = byLength.get(key);
      if (!starts) byLength.set(key, (starts = new Map()));
      // two routes to one destination: the first (AWS refuses the second)
      if (!starts.has(r.cidr.start)) starts.set(r.cidr.start, r.target);
    }
    const lengths = [...byLength.keys()].sort((a, b) => b - a);
    const targets = new Array<string>(cells.length);
    targets[0] = '';
    for (let i = 1; i < cells.length; i++) {
      const c = cells[i];
      const bits = c.family === 4 ? 32 : 128;
      let target = '';
      for (const key of lengths) {
        const length = key - c.family * 256;
        if (length < 0 || length > bits || length > c.length) continue;
        const hostBits = BigInt(bits - length);
        const hit = byLength.get(key)!.get((c.start >> hostBits) << hostBits);
        if (hit !== undefined) {
          target = hit;
          break;
        }
      }
      targets[i] = target;
    }
    return targets;
  });
}
