/** A trailing throttle that always delivers the latest arguments. */
export interface Throttled<A extends unknown[]> {
  /** Delivers within `ms`, with the arguments of the last call by then. */
  (...args: A): void;
  /** Delivers now and drops a pending delivery (which would carry older arguments). */
  now(...args: A): void;
}

export function throttle<A extends unknown[]>(fn: (...args: A) => void, ms: number): Throttled<A> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let last: A | undefined;
  const throttled = ((...args: A) => {
    last = args;
    timer ??= setTimeout(() => {
      timer = undefined;
      if (last) fn(...last);
      last = undefined;
    }, ms);
  }) as Throttled<A>;
  throttled.now = (...args: A) => {
    clearTimeout(timer);
    timer = undefined;
    last = undefined;
    fn(...args);
  };
  return throttled;
}
