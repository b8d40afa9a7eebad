/**
 * The map's geometry, free of the DOM: the data ↔ screen transform (data coordinates are the
 * layout's [−1, 1] square, y up; screen is CSS pixels of the canvas, y down), pan and zoom,
 * and which points a lasso or rectangle encloses.
 */

/** Data (cx, cy) is drawn at the canvas centre, `k` CSS pixels per data unit. */
export interface MapTransform {
  readonly cx: number;
  readonly cy: number;
  readonly k: number;
  readonly width: number;
  readonly height: number;
}

/** The transform that shows the whole [−1, 1] square with a small margin. */
export function fitTransform(width: number, height: number): MapTransform {
  return { cx: 0, cy: 0, k: Math.max(1, (Math.min(width, height) / 2) * 0.92), width, height };
}

export function toScreen(t: MapTransform, x: number, y: number): [number, number] {
  return [(x - t.cx) * t.k + t.width / 2, t.height / 2 - (y - t.cy) * t.k];
}

export function toData(t: MapTransform, sx: number, sy: number): [number, number] {
  return [(sx - t.width / 2) / t.k + t.cx, (t.height / 2 - sy) / t.k + t.cy];
}

/** Zooms by `factor` keeping the data point under (sx, sy) where it is. */
export function zoomAt(t: MapTransform, sx: number, sy: number, factor: number): MapTransform {
  const k = Math.min(Math.max(t.k * factor, 20), 1e6);
  const [x, y] = toData(t, sx, sy);
  return {
    ...t,
    k,
    cx: x - (sx - t.width / 2) / k,
    cy: y - (t.height / 2 - sy) / k,
  };
}

/** Moves the view by a drag of (dx, dy) CSS pixels. */
export function panBy(t: MapTransform, dx: number, dy: number): MapTransform {
  return { ...t, cx: t.cx - dx / t.k, cy: t.cy + dy / t.k };
}

/** Even-odd ray casting: whether (px, py) lies inside the polygon (x0, y0, x1, y1, …). */
export function pointInPolygon(px: number, py: number, poly: ArrayLike<number>): boolean {
  let inside = false;
  const n = poly.length / 2;
  for (let i = 0, j = n - 1; i < n; j = i++) {
    const xi = poly[2 * i];
    const yi = poly[2 * i + 1];
    const xj = poly[2 * j];
    const yj = poly[2 * j + 1];
    if (yi > py !== yj > py && px < ((xj - xi) * (py - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** The four corners of a rectangle as a polygon. */
export function rectanglePolygon(x0: number, y0: number, x1: number, y1: number): Float64Array {
  return Float64Array.of(x0, y0, x1, y0, x1, y1, x0, y1);
}

/**
 * The rows (ascending) whose point lies inside `poly` (data coordinates), among the rows with
 * `visible[i] = 1`. A bounding-box test first keeps this fast for a million points.
 */
export function pointsInPolygon(
  x: Float32Array,
  y: Float32Array,
  visible: Uint8Array,
  poly: ArrayLike<number>,
): Uint32Array {
  if (poly.length < 6) return new Uint32Array(0);
  let minX = Infinity;
  let maxX = -Infinity;
  let minY = Infinity;
  let maxY = -Infinity;
  for (let i = 0; i < poly.length; i += 2) {
    minX = Math.min(minX, poly[i]);
    maxX = Math.max(maxX, poly[i]);
    minY = Math.min(minY, poly[i + 1]);
    maxY = Math.max(maxY, poly[i + 1]);
  }
  const out: number[] = [];
  for (let i = 0; i < x.length; i++) {
    if (visible[i] !== 1) continue;
    const px = x[i];
    const py = y[i];
    if (px < minX || px > maxX || py < minY || py > maxY) continue;
    if (pointInPolygon(px, py, poly)) out.push(i);
  }
  return Uint32Array.from(out);
}
