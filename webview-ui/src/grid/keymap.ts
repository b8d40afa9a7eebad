/**
 * The dataset view's keyboard map. Two triage layouts (setting `winnow.datasetView.triageKeys`):
 *
 * - `y/n` (default): j/k or the arrows move, y keeps, n drops;
 * - `k/d`: k keeps and d drops (one hand on the home row); j or ↓ moves down and ↑ moves up,
 *   since k no longer does.
 *
 * Pure (no DOM): unit-tested in Node.
 */
import type { TriageKeys } from '../../../src/shared/protocol/webview';
import { type NavigationKey, navigationKeyFor } from './paging';

export type { TriageKeys };

/** Keys of the grid that are not navigation (handled by the view). */
export type GridAction =
  | 'keep'
  | 'drop'
  | 'clear'
  | 'undo'
  | 'redo'
  | 'search'
  | 'detail'
  | 'open'
  | 'filters'
  | 'refresh'
  | 'help';

const COMMON_ACTIONS: Readonly<Record<string, GridAction>> = {
  x: 'clear',
  u: 'undo',
  U: 'redo',
  '/': 'search',
  Enter: 'detail',
  o: 'open',
  f: 'filters',
  r: 'refresh',
  '?': 'help',
};

const TRIAGE: Readonly<Record<TriageKeys, Readonly<Record<string, GridAction>>>> = {
  'y/n': { y: 'keep', n: 'drop' },
  'k/d': { k: 'keep', d: 'drop' },
};

/** A setting value as a layout (anything unknown is the default). */
export function triageKeys(value: unknown): TriageKeys {
  return value === 'k/d' ? 'k/d' : 'y/n';
}

/**
 * The navigation a key means in a layout. Shift+letter moves too (it extends the selection), so
 * the letter is matched case-insensitively.
 */
export function navigationFor(
  key: string,
  shift: boolean,
  keys: TriageKeys,
): NavigationKey | undefined {
  const k = shift && key.length === 1 ? key.toLowerCase() : key;
  if (keys === 'k/d' && k === 'k') return undefined;
  return navigationKeyFor(k);
}

/** The action a key means in a layout (shifted letters only for U and ?). */
export function actionFor(key: string, shift: boolean, keys: TriageKeys): GridAction | undefined {
  const action = TRIAGE[keys][key] ?? COMMON_ACTIONS[key];
  if (!action) return undefined;
  if (shift && key !== 'U' && key !== '?') return undefined;
  return action;
}

/** The keep and drop keys of a layout (for tooltips). */
export function triageKeyNames(keys: TriageKeys): { readonly keep: string; readonly drop: string } {
  return keys === 'k/d' ? { keep: 'k', drop: 'd' } : { keep: 'y', drop: 'n' };
}

/** The keyboard map of a layout, shown by the help overlay (`?`). */
export function keyHelp(keys: TriageKeys): readonly (readonly [string, string])[] {
  const { keep, drop } = triageKeyNames(keys);
  return [
    [keys === 'k/d' ? 'j / ↓, ↑' : 'j / ↓, k / ↑', 'Next / previous row'],
    ['PageDown / PageUp, Home / End', 'Move by a screen, to the first / last row'],
    ['Shift + move, Space', 'Extend the selection, select or unselect the row'],
    ['Escape', 'Clear the selection (or leave a text box)'],
    [keep, 'Keep the selected rows, or the focused row and move on'],
    [drop, 'Drop the selected rows, or the focused row and move on'],
    ['x', 'Clear the decision'],
    ['u / Shift+U', 'Undo / redo (Ctrl+Z / Ctrl+Shift+Z work too)'],
    ['/', 'Search the whole file'],
    ['Enter', 'Show or hide the detail panel'],
    ['o', 'Show the row in the text editor'],
    ['f', 'Show or hide filters and histograms'],
    ['r', 'Refresh a view whose decisions or scores changed'],
    ['?', `This help (triage keys: ${keys}; setting winnow.datasetView.triageKeys)`],
  ];
}
