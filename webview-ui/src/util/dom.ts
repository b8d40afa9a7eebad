/**
 * Tiny DOM helpers. Text always goes in through `textContent`: dataset content is data, never
 * markup, so nothing here accepts HTML.
 */

/** Creates an element with a class list, attributes and optional text. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className?: string,
  attrs?: Record<string, string>,
  text?: string,
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (attrs) for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

/** A codicon glyph (decorative, hidden from screen readers). */
export function codicon(name: string, extraClass = ''): HTMLSpanElement {
  return el('span', `codicon codicon-${name}${extraClass ? ` ${extraClass}` : ''}`, {
    'aria-hidden': 'true',
  });
}

/** Sets text only when it changed, to avoid needless layout work on every frame. */
export function setText(e: HTMLElement, text: string): void {
  if (e.textContent !== text) e.textContent = text;
}

/** Sets or removes an attribute only when it changed. */
export function setAttr(e: HTMLElement, name: string, value: string | undefined): void {
  if (value === undefined) {
    if (e.hasAttribute(name)) e.removeAttribute(name);
  } else if (e.getAttribute(name) !== value) e.setAttribute(name, value);
}

/** Formats a count for display, with thousands separators. */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}
