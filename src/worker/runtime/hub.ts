/**
 * The Hugging Face Hub endpoint that model ids download from, and the HTTP traffic of one load.
 *
 * The endpoint is `winnow.models.endpoint` when set, else the worker's `HF_ENDPOINT` environment
 * variable (huggingface_hub's convention for mirrors such as https://hf-mirror.com), else
 * https://huggingface.co. Files are requested as `<endpoint>/<id>/resolve/main/<file>`, the
 * Hub's layout, which mirrors serve as well.
 *
 * Every request of a load goes through {@link HubTraffic}'s fetch, which records what was
 * downloaded (for progress messages and the log) and turns transport failures into messages
 * that name the endpoint.
 */
import { errorMessage } from './device';
import { ModelLoadError } from './errors';

/** The Hub, when neither the setting nor HF_ENDPOINT names another endpoint. */
export const DEFAULT_ENDPOINT = 'https://huggingface.co/';

/** How long a request may wait for the response headers before it fails. */
export const ENDPOINT_RESPONSE_TIMEOUT_MS = 60_000;

/** A resolved endpoint. */
export interface HubEndpoint {
  /** The URL, with a trailing slash. */
  readonly url: string;
  /** Where it came from: the setting, the environment, or the default. */
  readonly from: 'setting' | 'HF_ENDPOINT' | 'default';
}

/** `(winnow.models.endpoint)`-style note on where an endpoint came from, or ''. */
export function endpointSource(e: HubEndpoint): string {
  return e.from === 'setting'
    ? ' (winnow.models.endpoint)'
    : e.from === 'HF_ENDPOINT'
      ? ' (from HF_ENDPOINT)'
      : '';
}

/**
 * Checks an endpoint URL: http or https, no credentials, query or fragment. Returns it with a
 * trailing slash, or the reason it cannot be used.
 */
export function checkEndpointUrl(value: string): { url: string } | { problem: string } {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return { problem: 'it is not a URL' };
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    return { problem: `it must start with http:// or https:// (not ${u.protocol}//)` };
  if (u.username !== '' || u.password !== '')
    return { problem: 'it must not contain a user name or password' };
  if (u.search !== '' || u.hash !== '')
    return { problem: 'it must not have a query (?…) or fragment (#…)' };
  return { url: `${u.origin}${u.pathname.replace(/\/*$/, '')}/` };
}

/**
 * Resolves the endpoint from the setting (empty = HF_ENDPOINT, else the Hub). Throws
 * `ModelLoadError` naming the setting or variable when the value is not a usable URL.
 */
export function resolveEndpoint(
  setting: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): HubEndpoint {
  const fromSetting = setting?.trim() ?? '';
  const fromEnv = env.HF_ENDPOINT?.trim() ?? '';
  const [value, from]: [string, HubEndpoint['from']] =
    fromSetting !== ''
      ? [fromSetting, 'setting']
      : fromEnv !== ''
        ? [fromEnv, 'HF_ENDPOINT']
        : [DEFAULT_ENDPOINT, 'default'];
  const checked = checkEndpointUrl(value);
  if ('url' in checked) return { url: checked.url, from };
  const where =
    from === 'setting'
      ? `The setting winnow.models.endpoint (${JSON.stringify(value)})`
      : `The HF_ENDPOINT environment variable of the Winnow worker (${JSON.stringify(value)})`;
  throw new ModelLoadError(
    `${where} is not a usable Hugging Face endpoint: ${problemOf(checked)}. Use an http:// or ` +
      'https:// URL such as https://huggingface.co or https://hf-mirror.com' +
      (from === 'setting' ? ', or clear the setting.' : ', or set winnow.models.endpoint.'),
  );
}

function problemOf(c: { problem: string } | { url: string }): string {
  return 'problem' in c ? c.problem : '';
}

/** A transport failure (no HTTP answer) of one request. */
export interface TransportFailure {
  url: string;
  reason: string;
}

/**
 * The HTTP requests of one model load against one endpoint: what was downloaded, which answers
 * were errors, and the first transport failure. Its `fetch` replaces transformers.js's
 * `env.fetch` during the load, and serves Winnow's own downloads.
 */
export class HubTraffic {
  /** Files downloaded in full (paths relative to the model folder, e.g. `onnx/model.onnx`). */
  readonly downloaded = new Set<string>();
  /** HTTP error answers, in order (probes of optional files answer 404 too). */
  readonly httpErrors: { url: string; status: number }[] = [];
  /** The first request that got no HTTP answer at all. */
  failure: TransportFailure | undefined;
  /** Requests sent. */
  requests = 0;

  constructor(
    readonly endpoint: HubEndpoint,
    private readonly base: typeof fetch = globalThis.fetch.bind(globalThis),
    private readonly timeoutMs = ENDPOINT_RESPONSE_TIMEOUT_MS,
  ) {}

  /** A `fetch` that records the traffic and names the endpoint when a request fails. */
  readonly fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = input instanceof Request ? input.url : String(input);
    const abort = new AbortController();
    const timer = setTimeout(
      () => abort.abort(new Error(`no answer within ${this.timeoutMs / 1000} s`)),
      this.timeoutMs,
    );
    const signal = init?.signal ? AbortSignal.any([init.signal, abort.signal]) : abort.signal;
    this.requests++;
    let response: Response;
    try {
      response = await this.base(input, { ...init, signal });
    } catch (e) {
      const reason = transportReason(e, abort.signal);
      this.failure ??= { url, reason };
      throw new ModelLoadError(this.unreachableMessage({ url, reason }));
    } finally {
      clearTimeout(timer);
    }
    const ranged = new Headers(init?.headers).has('range');
    if (response.status >= 400) this.httpErrors.push({ url, status: response.status });
    else if (response.status === 200 && !ranged) {
      const file = this.fileOf(url);
      if (file !== undefined) this.downloaded.add(file);
    }
    return response;
  };

  /** Whether `file` (relative to the model folder) was downloaded during this load. */
  wasDownloaded(file: string): boolean {
    return this.downloaded.has(file);
  }

  /** The message for a request that got no answer. */
  unreachableMessage(f: TransportFailure): string {
    return (
      `Could not reach the model endpoint ${this.endpoint.url}${endpointSource(this.endpoint)}: ` +
      `${f.reason} (${f.url}). Check the network or proxy, set winnow.models.endpoint to a ` +
      'reachable Hub mirror, or turn on winnow.models.offline to use models already downloaded.'
    );
  }

  /**
   * A clearer message for a failed load of hub id `id`, when the traffic explains it: the
   * endpoint was unreachable, or it does not have the repository (`config.json` answered 404),
   * or it refused a file. Undefined when the traffic shows nothing wrong.
   */
  explain(id: string, label: string): string | undefined {
    if (this.failure)
      return `${label} could not be loaded. ${this.unreachableMessage(this.failure)}`;
    const config = this.httpErrors.find(
      e => e.url.endsWith(`/${id}/resolve/main/config.json`) && [401, 403, 404].includes(e.status),
    );
    if (config)
      return (
        `${label} was not found at the model endpoint ${this.endpoint.url}` +
        `${endpointSource(this.endpoint)}: ${config.url} answered HTTP ${config.status}. Check ` +
        'the model id (a private or gated repository also answers this way), and that the ' +
        'endpoint serves Hugging Face repositories.'
      );
    const refused = this.httpErrors.find(e => e.status !== 404 && e.status !== 416);
    if (refused)
      return (
        `${label} could not be downloaded from the model endpoint ${this.endpoint.url}` +
        `${endpointSource(this.endpoint)}: ${refused.url} answered HTTP ${refused.status}.`
      );
    return undefined;
  }

  /** `onnx/model.onnx` for `<endpoint>/<id>/resolve/<rev>/onnx/model.onnx`. */
  private fileOf(url: string): string | undefined {
    if (!url.startsWith(this.endpoint.url)) return undefined;
    const m = /^[^/]+(?:\/[^/]+)?\/resolve\/[^/]+\/(.+)$/.exec(url.slice(this.endpoint.url.length));
    return m ? decodeURIComponent(m[1]) : undefined;
  }
}

/** Why a fetch got no answer, in words (undici puts the socket error in `cause`). */
function transportReason(e: unknown, abort: AbortSignal): string {
  if (abort.aborted) return errorMessage(abort.reason);
  const cause = (e as { cause?: unknown }).cause;
  if (cause instanceof Error) {
    const code = (cause as { code?: string }).code;
    const m = errorMessage(cause);
    return code && !m.includes(code) ? `${m} (${code})` : m;
  }
  return errorMessage(e);
}
