/**
 * Draws the map: every point with WebGL2 (one `gl.POINTS` draw of position, colour and flag
 * buffers, so panning a million points is one uniform change per frame), and on a 2-D canvas
 * overlay the density contours and the lasso being drawn.
 *
 * Why not `embedding-atlas`: its EmbeddingView (0.26) renders with WebGPU only (it requires the
 * `shader-f16` feature and shows "WebGPU is unavailable" otherwise) and imports
 * @uwdata/mosaic-core (DuckDB-WASM) even without Mosaic, so it would be blank in VS Code
 * webviews without WebGPU and in the software-GL test browser, and would multiply the bundle.
 */
import { type MapTransform, toScreen } from './geometry';

/** Flag bits per point. */
export const VISIBLE = 1;
export const SELECTED = 2;

const VERTEX = `#version 300 es
in vec2 a_pos;
in vec4 a_color;
in float a_flags;
uniform vec2 u_scale;
uniform vec2 u_offset;
uniform float u_size;
uniform float u_dim;
out vec4 v_color;
void main() {
  float flags = a_flags;
  bool visible = mod(flags, 2.0) > 0.5;
  bool selected = flags > 1.5;
  gl_Position = visible ? vec4(a_pos * u_scale + u_offset, 0.0, 1.0) : vec4(2.0, 2.0, 2.0, 1.0);
  gl_PointSize = selected ? u_size + 2.0 : u_size;
  vec4 c = a_color;
  if (u_dim > 0.5 && !selected) c.a *= 0.25;
  v_color = c;
}`;

const FRAGMENT = `#version 300 es
precision mediump float;
in vec4 v_color;
out vec4 color;
void main() {
  vec2 d = gl_PointCoord - vec2(0.5);
  if (dot(d, d) > 0.25) discard;
  color = vec4(v_color.rgb * v_color.a, v_color.a);
}`;

function compile(gl: WebGL2RenderingContext, type: number, source: string): WebGLShader {
  const shader = gl.createShader(type);
  if (!shader) throw new Error('WebGL: cannot create a shader');
  gl.shaderSource(shader, source);
  gl.compileShader(shader);
  if (!gl.getShaderParameter(shader, gl.COMPILE_STATUS))
    throw new Error(`WebGL shader: ${gl.getShaderInfoLog(shader) ?? 'failed'}`);
  return shader;
}

function program(gl: WebGL2RenderingContext): WebGLProgram {
  const p = gl.createProgram();
  if (!p) throw new Error('WebGL: cannot create a program');
  gl.attachShader(p, compile(gl, gl.VERTEX_SHADER, VERTEX));
  gl.attachShader(p, compile(gl, gl.FRAGMENT_SHADER, FRAGMENT));
  gl.linkProgram(p);
  if (!gl.getProgramParameter(p, gl.LINK_STATUS))
    throw new Error(`WebGL program: ${gl.getProgramInfoLog(p) ?? 'failed'}`);
  return p;
}

/** What the overlay draws besides the points. */
export interface Overlay {
  /** Contour segments (x0, y0, x1, y1, …) in data coordinates, and their CSS colour. */
  contours?: Float32Array;
  contourColor?: string;
  /** The lasso or rectangle being drawn, in screen (CSS pixel) coordinates. */
  path?: readonly number[];
  pathColor?: string;
}

export class MapRenderer {
  private readonly gl: WebGL2RenderingContext;
  private readonly prog: WebGLProgram;
  private readonly buffers: { pos: WebGLBuffer; color: WebGLBuffer; flags: WebGLBuffer };
  private count = 0;
  private dim = false;
  private transform: MapTransform | undefined;
  private overlay: Overlay = {};
  private pending = 0;
  /** Frames drawn so far (tests and the render benchmark read it). */
  frames = 0;
  /** The GPU renderer string WebGL reports (software rasterisers say so here). */
  readonly rendererName: string;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly overlayCanvas: HTMLCanvasElement,
  ) {
    const gl = canvas.getContext('webgl2', { antialias: false, premultipliedAlpha: true });
    if (!gl)
      throw new Error('WebGL2 is not available in this webview, so the map cannot be drawn.');
    this.gl = gl;
    this.prog = program(gl);
    const make = () => {
      const b = gl.createBuffer();
      if (!b) throw new Error('WebGL: cannot create a buffer');
      return b;
    };
    this.buffers = { pos: make(), color: make(), flags: make() };
    const info = gl.getExtension('WEBGL_debug_renderer_info');
    this.rendererName = String(
      info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER),
    );
  }

  /** Point positions (data coordinates); NaN points are never drawn (their flag is 0). */
  setPoints(x: Float32Array, y: Float32Array): void {
    const n = x.length;
    const xy = new Float32Array(2 * n);
    for (let i = 0; i < n; i++) {
      xy[2 * i] = x[i];
      xy[2 * i + 1] = y[i];
    }
    this.count = n;
    this.upload(this.buffers.pos, xy, 'a_pos', 2, this.gl.FLOAT, false);
    this.schedule();
  }

  /** RGBA bytes per point. */
  setColors(rgba: Uint8Array): void {
    this.upload(this.buffers.color, rgba, 'a_color', 4, this.gl.UNSIGNED_BYTE, true);
    this.schedule();
  }

  /** Flag bytes per point ({@link VISIBLE}, {@link SELECTED}); `dim` fades unselected points. */
  setFlags(flags: Uint8Array, dim: boolean): void {
    this.dim = dim;
    this.upload(this.buffers.flags, flags, 'a_flags', 1, this.gl.UNSIGNED_BYTE, false);
    this.schedule();
  }

  setTransform(t: MapTransform): void {
    this.transform = t;
    this.schedule();
  }

  setOverlay(o: Overlay): void {
    this.overlay = o;
    this.schedule();
  }

  private upload(
    buffer: WebGLBuffer,
    data: ArrayBufferView,
    name: string,
    size: number,
    type: number,
    normalized: boolean,
  ): void {
    const gl = this.gl;
    gl.bindBuffer(gl.ARRAY_BUFFER, buffer);
    gl.bufferData(gl.ARRAY_BUFFER, data, gl.STATIC_DRAW);
    const at = gl.getAttribLocation(this.prog, name);
    gl.enableVertexAttribArray(at);
    gl.vertexAttribPointer(at, size, type, normalized, 0, 0);
  }

  /** Draws on the next animation frame (several changes in one frame draw once). */
  schedule(): void {
    if (this.pending) return;
    this.pending = requestAnimationFrame(() => {
      this.pending = 0;
      this.draw();
    });
  }

  /** Draws now. */
  draw(): void {
    const t = this.transform;
    if (!t) return;
    const dpr = window.devicePixelRatio || 1;
    for (const c of [this.canvas, this.overlayCanvas]) {
      const w = Math.max(1, Math.round(t.width * dpr));
      const h = Math.max(1, Math.round(t.height * dpr));
      if (c.width !== w || c.height !== h) [c.width, c.height] = [w, h];
    }
    this.drawPoints(t, dpr);
    this.drawOverlay(t, dpr);
    this.frames++;
    this.canvas.dataset.frames = String(this.frames);
  }

  private drawPoints(t: MapTransform, dpr: number): void {
    const gl = this.gl;
    gl.viewport(0, 0, this.canvas.width, this.canvas.height);
    gl.clearColor(0, 0, 0, 0);
    gl.clear(gl.COLOR_BUFFER_BIT);
    if (this.count === 0) return;
    gl.useProgram(this.prog);
    gl.enable(gl.BLEND);
    gl.blendFunc(gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
    const sx = (2 * t.k) / t.width;
    const sy = (2 * t.k) / t.height;
    gl.uniform2f(gl.getUniformLocation(this.prog, 'u_scale'), sx, sy);
    gl.uniform2f(gl.getUniformLocation(this.prog, 'u_offset'), -t.cx * sx, -t.cy * sy);
    // Points shrink in crowded maps (a million rows: about 2 px) and grow as the user zooms in.
    const crowd = Math.sqrt(2000 / Math.max(this.count, 2000));
    const zoom = Math.sqrt(t.k / Math.max(1, Math.min(t.width, t.height) * 0.46));
    const base = Math.min(9, Math.max(1.5, (2 + 6 * crowd) * zoom));
    gl.uniform1f(gl.getUniformLocation(this.prog, 'u_size'), base * dpr);
    gl.uniform1f(gl.getUniformLocation(this.prog, 'u_dim'), this.dim ? 1 : 0);
    gl.drawArrays(gl.POINTS, 0, this.count);
  }

  private drawOverlay(t: MapTransform, dpr: number): void {
    const ctx = this.overlayCanvas.getContext('2d');
    if (!ctx) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, t.width, t.height);
    const { contours, path } = this.overlay;
    if (contours && contours.length > 0) {
      ctx.strokeStyle = this.overlay.contourColor ?? 'gray';
      ctx.globalAlpha = 0.7;
      ctx.lineWidth = 1;
      ctx.beginPath();
      for (let i = 0; i < contours.length; i += 4) {
        const [x0, y0] = toScreen(t, contours[i], contours[i + 1]);
        const [x1, y1] = toScreen(t, contours[i + 2], contours[i + 3]);
        ctx.moveTo(x0, y0);
        ctx.lineTo(x1, y1);
      }
      ctx.stroke();
      ctx.globalAlpha = 1;
    }
    if (path && path.length >= 4) {
      ctx.strokeStyle = this.overlay.pathColor ?? 'orange';
      ctx.setLineDash([4, 3]);
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      ctx.moveTo(path[0], path[1]);
      for (let i = 2; i < path.length; i += 2) ctx.lineTo(path[i], path[i + 1]);
      ctx.closePath();
      ctx.stroke();
      ctx.setLineDash([]);
    }
  }
}
