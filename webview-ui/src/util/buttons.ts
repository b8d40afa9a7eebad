/** Buttons of the toolbar and panels: codicon buttons, text buttons, toggle state. */
import { codicon, el } from './dom';

/** A button that shows only a codicon (`label` names it for screen readers). */
export function iconButton(
  icon: string,
  label: string,
  title: string,
  cls = 'icon-button',
): HTMLButtonElement {
  const b = el('button', cls, { type: 'button', title, 'aria-label': label });
  b.append(codicon(icon));
  return b;
}

/** A button with a label, after a codicon when `icon` is set. */
export function textButton(
  icon: string,
  label: string,
  title: string,
  cls = 'secondary-button',
): HTMLButtonElement {
  const b = el('button', cls, { type: 'button', title });
  if (icon) b.append(codicon(icon));
  b.append(el('span', undefined, undefined, label));
  return b;
}

/** Shows a toggle button as pressed or not. */
export function setPressed(b: HTMLButtonElement, on: boolean): void {
  b.setAttribute('aria-pressed', String(on));
  b.classList.toggle('on', on);
}

/** Whether a toggle button is pressed. */
export function isPressed(b: HTMLButtonElement): boolean {
  return b.getAttribute('aria-pressed') === 'true';
}
