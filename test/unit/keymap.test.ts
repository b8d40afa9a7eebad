// The dataset view's keyboard map (webview-ui/src/grid/keymap.ts): both triage layouts.
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { actionFor, keyHelp, navigationFor, triageKeys } from '../../webview-ui/src/grid/keymap';

describe('dataset view keymap', () => {
  test('y/n: y keeps, n drops, j/k move; d does nothing', () => {
    assert.equal(actionFor('y', false, 'y/n'), 'keep');
    assert.equal(actionFor('n', false, 'y/n'), 'drop');
    assert.equal(actionFor('d', false, 'y/n'), undefined);
    assert.equal(navigationFor('k', false, 'y/n'), 'up');
    assert.equal(navigationFor('j', false, 'y/n'), 'down');
    assert.equal(navigationFor('K', true, 'y/n'), 'up', 'Shift+K extends the selection up');
  });

  test('k/d: k keeps and no longer moves, d drops, ↑ still moves up', () => {
    assert.equal(actionFor('k', false, 'k/d'), 'keep');
    assert.equal(actionFor('d', false, 'k/d'), 'drop');
    assert.equal(navigationFor('k', false, 'k/d'), undefined);
    assert.equal(navigationFor('K', true, 'k/d'), undefined);
    assert.equal(navigationFor('ArrowUp', false, 'k/d'), 'up');
    assert.equal(navigationFor('j', false, 'k/d'), 'down');
    assert.equal(actionFor('y', false, 'k/d'), undefined);
    assert.equal(actionFor('n', false, 'k/d'), undefined);
  });

  test('shared keys; shifted letters are not actions except U and ?', () => {
    for (const keys of ['y/n', 'k/d'] as const) {
      assert.equal(actionFor('u', false, keys), 'undo');
      assert.equal(actionFor('U', true, keys), 'redo');
      assert.equal(actionFor('?', true, keys), 'help');
      assert.equal(actionFor('/', false, keys), 'search');
      assert.equal(actionFor('Enter', false, keys), 'detail');
      assert.equal(actionFor('X', true, keys), undefined);
    }
  });

  test('the help lists the keys of the layout; unknown settings fall back to y/n', () => {
    const text = (keys: 'y/n' | 'k/d') => keyHelp(keys).map(([k, w]) => `${k}: ${w}`);
    assert.ok(text('k/d').some(l => l.startsWith('k: Keep')));
    assert.ok(text('k/d').some(l => l.startsWith('d: Drop')));
    assert.ok(text('y/n').some(l => l.startsWith('y: Keep')));
    assert.ok(!text('k/d').some(l => l.startsWith('y: ')));
    assert.equal(triageKeys('k/d'), 'k/d');
    assert.equal(triageKeys('vim'), 'y/n');
    assert.equal(triageKeys(undefined), 'y/n');
  });
});
