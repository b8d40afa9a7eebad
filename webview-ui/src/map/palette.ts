/**
 * Point colours of the map, one RGBA quadruple per row, for each "colour by" mode: continuous
 * ramps for the ASK-LLM score and the DENSITY rank, fixed colours for decisions, categories for
 * field sets (schema) and near-duplicate groups. Missing values are a neutral grey.
 */
export type ColorMode = 'score' | 'decision' | 'density' | 'schema' | 'duplicates';

/** A perceptually ordered ramp (viridis stops), low to high. */
const RAMP: readonly [number, number, number][] = [
  [68, 1, 84],
  [59, 82, 139],
  [33, 145, 140],
  [94, 201, 98],
  [253, 231, 37],
];
/** Categorical colours (Tableau 10). */
export const CATEGORY_COLORS: readonly [number, number, number][] = [
  [78, 121, 167],
  [242, 142, 43],
  [225, 87, 89],
  [118, 183, 178],
  [89, 161, 79],
  [237, 201, 72],
  [176, 122, 161],
  [255, 157, 167],
  [156, 117, 95],
  [186, 176, 172],
];
export const NONE_COLOR: [number, number, number] = [128, 128, 128];
export const DECISION_COLORS: readonly [number, number, number][] = [
  [128, 128, 128],
  [63, 185, 80],
  [248, 81, 73],
];

export function rampColor(t: number): [number, number, number] {
  const v = Math.min(1, Math.max(0, t)) * (RAMP.length - 1);
  const i = Math.min(RAMP.length - 2, Math.floor(v));
  const f = v - i;
  const a = RAMP[i];
  const b = RAMP[i + 1];
  return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f];
}

/** What colours are computed from (the host's `map` columns and state, decoded). */
export interface ColorInputs {
  readonly rowCount: number;
  readonly score?: Float32Array;
  readonly density?: Float32Array;
  readonly decisions?: Uint8Array;
  readonly schema?: Uint8Array;
  readonly groups?: Int32Array;
}

function range(values: Float32Array): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values)
    if (v === v) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  return lo <= hi ? [lo, hi] : [0, 1];
}

/** The colour of each row for `mode`, as RGBA bytes, and the value range of a ramp. */
export function pointColors(
  mode: ColorMode,
  c: ColorInputs,
): { rgba: Uint8Array; range?: [number, number] } {
  const n = c.rowCount;
  const rgba = new Uint8Array(n * 4);
  const put = (i: number, [r, g, b]: readonly [number, number, number], a = 230) => {
    rgba[4 * i] = r;
    rgba[4 * i + 1] = g;
    rgba[4 * i + 2] = b;
    rgba[4 * i + 3] = a;
  };
  let shown: [number, number] | undefined;
  const values = mode === 'score' ? c.score : mode === 'density' ? c.density : undefined;
  if (values) {
    const [lo, hi] = (shown = mode === 'density' ? [0, 1] : range(values));
    const span = hi > lo ? hi - lo : 1;
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (v === v) put(i, rampColor((v - lo) / span));
      else put(i, NONE_COLOR, 150);
    }
  } else
    for (let i = 0; i < n; i++) {
      if (mode === 'decision') put(i, DECISION_COLORS[c.decisions?.[i] ?? 0] ?? NONE_COLOR);
      else if (mode === 'schema') {
        const k = c.schema?.[i] ?? 255;
        put(
          i,
          k === 255 ? NONE_COLOR : CATEGORY_COLORS[k % CATEGORY_COLORS.length],
          k === 255 ? 120 : 230,
        );
      } else {
        const g = c.groups?.[i] ?? -1;
        put(i, g < 0 ? NONE_COLOR : CATEGORY_COLORS[g % CATEGORY_COLORS.length], g < 0 ? 130 : 240);
      }
    }
  return shown ? { rgba, range: shown } : { rgba };
}

/** A CSS colour for a legend swatch. */
export function css([r, g, b]: readonly [number, number, number]): string {
  return `rgb(${Math.round(r)}, ${Math.round(g)}, ${Math.round(b)})`;
}
