/**
 * The page `npm run bench:map -- --only render` loads into headless Chromium: the dataset view's
 * own map renderer (webview-ui/src/map/renderer.ts) on N generated points, panned every frame.
 * It exposes `window.benchMap(n, ms)`, which resolves with the frames drawn and the renderer.
 */
import { fitTransform, panBy } from '../../../webview-ui/src/map/geometry';
import { pointColors } from '../../../webview-ui/src/map/palette';
import { MapRenderer, VISIBLE } from '../../../webview-ui/src/map/renderer';

interface BenchResult {
  frames: number;
  seconds: number;
  renderer: string;
}

/** Clustered points in [−1, 1] (a cheap LCG: the page only needs something map-like). */
function points(n: number): { x: Float32Array; y: Float32Array; score: Float32Array } {
  let s = 12345;
  const rnd = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
  const x = new Float32Array(n);
  const y = new Float32Array(n);
  const score = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 40;
    const r = 0.08 * Math.sqrt(-2 * Math.log(rnd() + 1e-12));
    const a = 2 * Math.PI * rnd();
    x[i] = Math.cos(c * 2.4) * 0.7 * ((c % 7) / 7 + 0.3) + r * Math.cos(a);
    y[i] = Math.sin(c * 2.4) * 0.7 * ((c % 7) / 7 + 0.3) + r * Math.sin(a);
    score[i] = rnd();
  }
  return { x, y, score };
}

async function benchMap(n: number, ms: number, draw: boolean): Promise<BenchResult> {
  const canvas = document.getElementById('map') as HTMLCanvasElement;
  const overlay = document.getElementById('overlay') as HTMLCanvasElement;
  const r = new MapRenderer(canvas, overlay);
  const { x, y, score } = points(n);
  r.setPoints(x, y);
  r.setColors(pointColors('score', { rowCount: n, score }).rgba);
  r.setFlags(new Uint8Array(n).fill(VISIBLE), false);
  let t = fitTransform(canvas.clientWidth, canvas.clientHeight);
  r.setTransform(t);
  r.draw();
  const start = performance.now();
  let frames = 0;
  await new Promise<void>(resolve => {
    const step = () => {
      // One pan per frame, as a drag does; the draw happens in this frame.
      t = panBy(t, 3, 1);
      if (draw) {
        r.setTransform(t);
        r.draw();
        // Wait for the GPU (software GL) to finish, so frames are real, not queued.
        (canvas.getContext('webgl2') as WebGL2RenderingContext).finish();
      }
      frames++;
      if (performance.now() - start < ms) requestAnimationFrame(step);
      else resolve();
    };
    requestAnimationFrame(step);
  });
  return { frames, seconds: (performance.now() - start) / 1000, renderer: r.rendererName };
}

(window as unknown as { benchMap: typeof benchMap }).benchMap = benchMap;
