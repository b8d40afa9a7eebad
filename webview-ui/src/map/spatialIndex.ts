/**
 * A uniform grid over the map's points (data coordinates) for hover and click: the nearest
 * visible point to the pointer without scanning a million points per mouse move.
 */
const CELLS = 256;

export class SpatialIndex {
  private readonly start: Uint32Array;
  private readonly rows: Uint32Array;

  constructor(
    private readonly x: Float32Array,
    private readonly y: Float32Array,
  ) {
    const count = new Uint32Array(CELLS * CELLS + 1);
    const cellOf = new Int32Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const c = this.cell(x[i], y[i]);
      cellOf[i] = c;
      if (c >= 0) count[c + 1]++;
    }
    for (let c = 0; c < CELLS * CELLS; c++) count[c + 1] += count[c];
    this.start = count.slice();
    const fill = count.slice(0, CELLS * CELLS);
    this.rows = new Uint32Array(count[CELLS * CELLS]);
    for (let i = 0; i < x.length; i++) if (cellOf[i] >= 0) this.rows[fill[cellOf[i]]++] = i;
  }

  private static coord(v: number): number {
    return Math.min(CELLS - 1, Math.max(0, Math.floor(((v + 1) / 2) * CELLS)));
  }

  private cell(x: number, y: number): number {
    if (!(x === x && y === y)) return -1;
    return SpatialIndex.coord(y) * CELLS + SpatialIndex.coord(x);
  }

  /** The visible row nearest to (px, py) within `radius` (data units), or −1. */
  nearest(px: number, py: number, radius: number, visible: Uint8Array): number {
    const x0 = SpatialIndex.coord(px - radius);
    const x1 = SpatialIndex.coord(px + radius);
    const y0 = SpatialIndex.coord(py - radius);
    const y1 = SpatialIndex.coord(py + radius);
    let best = -1;
    let bestD = radius * radius;
    for (let cy = y0; cy <= y1; cy++)
      for (let cx = x0; cx <= x1; cx++) {
        const c = cy * CELLS + cx;
        for (let k = this.start[c]; k < this.start[c + 1]; k++) {
          const i = this.rows[k];
          if (visible[i] !== 1) continue;
          const d = (this.x[i] - px) ** 2 + (this.y[i] - py) ** 2;
          if (d <= bestD) {
            bestD = d;
            best = i;
          }
        }
      }
    return best;
  }
}
