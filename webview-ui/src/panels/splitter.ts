/** The splitter between the grid and the detail panel: drag it, or use the arrow keys on it. */
import { el } from '../util/dom';

/** Narrowest detail panel, and the least room left to the grid beside it, in px. */
const MIN_PANEL_PX = 240;
const MIN_GRID_PX = 320;
/** How far one arrow key press moves the splitter. */
const KEY_STEP_PX = 24;

/**
 * A splitter that resizes `panel` (to its right).
 * @param onResize called with each new width (to persist it)
 */
export function createSplitter(panel: HTMLElement, onResize: (px: number) => void): HTMLElement {
  const splitter = el('div', 'splitter', {
    role: 'separator',
    tabindex: '0',
    'aria-orientation': 'vertical',
    'aria-label': 'Resize the detail panel',
  });
  const setWidth = (px: number) => {
    const w = Math.max(MIN_PANEL_PX, Math.min(Math.round(px), window.innerWidth - MIN_GRID_PX));
    panel.style.width = `${w}px`;
    onResize(w);
  };
  splitter.addEventListener('pointerdown', e => {
    e.preventDefault();
    splitter.setPointerCapture(e.pointerId);
    const startX = e.clientX;
    const startW = panel.getBoundingClientRect().width;
    const move = (ev: PointerEvent) => setWidth(startW - (ev.clientX - startX));
    const up = () => {
      splitter.removeEventListener('pointermove', move);
      splitter.removeEventListener('pointerup', up);
    };
    splitter.addEventListener('pointermove', move);
    splitter.addEventListener('pointerup', up);
  });
  splitter.addEventListener('keydown', e => {
    if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
    e.preventDefault();
    setWidth(
      panel.getBoundingClientRect().width + (e.key === 'ArrowLeft' ? KEY_STEP_PX : -KEY_STEP_PX),
    );
  });
  return splitter;
}
