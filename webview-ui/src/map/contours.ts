/**
 * Density contours of the map's visible points: a 2-D histogram over the [−1, 1] square,
 * smoothed with a Gaussian, then iso-lines by marching squares at a few fractions of the peak.
 * Segments are in data coordinates, so panning and zooming only redraws them.
 */
const GRID = 128;
const LEVELS = [0.08, 0.2, 0.4, 0.65];

function blur(grid: Float32Array, sigma: number): Float32Array {
  const radius = Math.ceil(sigma * 3);
  const kernel = Array.from({ length: 2 * radius + 1 }, (_, i) =>
    Math.exp(-((i - radius) ** 2) / (2 * sigma * sigma)),
  );
  const sum = kernel.reduce((a, b) => a + b, 0);
  const w = kernel.map(v => v / sum);
  const pass = (src: Float32Array, dx: number, dy: number) => {
    const out = new Float32Array(GRID * GRID);
    for (let y = 0; y < GRID; y++)
      for (let x = 0; x < GRID; x++) {
        let s = 0;
        for (let k = -radius; k <= radius; k++) {
          const xx = x + k * dx;
          const yy = y + k * dy;
          if (xx >= 0 && xx < GRID && yy >= 0 && yy < GRID)
            s += w[k + radius] * src[yy * GRID + xx];
        }
        out[y * GRID + x] = s;
      }
    return out;
  };
  return pass(pass(grid, 1, 0), 0, 1);
}

/** Where the level crosses the edge between two grid values, as a fraction of the edge. */
function cross(a: number, b: number, level: number): number {
  return a === b ? 0.5 : (level - a) / (b - a);
}

/** Marching squares on one level: segments pushed as (x0, y0, x1, y1) in data coordinates. */
function isoLines(g: Float32Array, level: number, out: number[]): void {
  const toData = (v: number) => (v / (GRID - 1)) * 2 - 1;
  for (let y = 0; y < GRID - 1; y++)
    for (let x = 0; x < GRID - 1; x++) {
      const a = g[y * GRID + x];
      const b = g[y * GRID + x + 1];
      const c = g[(y + 1) * GRID + x + 1];
      const d = g[(y + 1) * GRID + x];
      const pts: number[] = [];
      if (a >= level !== b >= level) pts.push(x + cross(a, b, level), y);
      if (b >= level !== c >= level) pts.push(x + 1, y + cross(b, c, level));
      if (d >= level !== c >= level) pts.push(x + cross(d, c, level), y + 1);
      if (a >= level !== d >= level) pts.push(x, y + cross(a, d, level));
      for (let k = 0; k + 3 < pts.length; k += 4)
        out.push(toData(pts[k]), toData(pts[k + 1]), toData(pts[k + 2]), toData(pts[k + 3]));
    }
}

/** Contour segments (x0, y0, x1, y1, …) of the visible points' density. */
export function densityContours(
  x: Float32Array,
  y: Float32Array,
  visible: Uint8Array,
): Float32Array {
  const grid = new Float32Array(GRID * GRID);
  let n = 0;
  for (let i = 0; i < x.length; i++) {
    if (visible[i] !== 1) continue;
    const gx = Math.round(((x[i] + 1) / 2) * (GRID - 1));
    const gy = Math.round(((y[i] + 1) / 2) * (GRID - 1));
    if (gx >= 0 && gx < GRID && gy >= 0 && gy < GRID) {
      grid[gy * GRID + gx]++;
      n++;
    }
  }
  if (n === 0) return new Float32Array(0);
  const smooth = blur(grid, 2);
  let peak = 0;
  for (const v of smooth) peak = Math.max(peak, v);
  const segments: number[] = [];
  for (const f of LEVELS) isoLines(smooth, f * peak, segments);
  return Float32Array.from(segments);
}
