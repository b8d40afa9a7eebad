/**
 * Dataset view bootstrap: sends uncaught problems to the "Winnow" log, asks the host for `init`
 * and starts the view (./datasetView.ts). Messages to the host go through ./actions.ts, messages
 * from it through ./hostEvents.ts.
 */
import './styles/main.css';
import { log, requestInit } from './actions';
import { DatasetView } from './datasetView';
import { el } from './util/dom';
import { errorMessage } from './util/errors';
import { loadViewState } from './util/host';
import { isDefaultQuery } from './util/query';

function showFatal(message: string): void {
  const box = el('div', 'fatal', { role: 'alert' });
  box.textContent = message;
  document.body.replaceChildren(box);
}

// Uncaught problems in the view go to the "Winnow" log, where users and tests can see them.
window.addEventListener('error', e =>
  log('error', `Uncaught: ${e.message} (${e.filename}:${e.lineno})`),
);
window.addEventListener('unhandledrejection', e =>
  log(
    'error',
    `Unhandled rejection: ${e.reason instanceof Error ? e.reason.stack : String(e.reason)}`,
  ),
);

const saved = loadViewState();
// The saved top row is a position in the saved view: the host can seed it only for the file itself.
requestInit(saved && isDefaultQuery(saved.query) ? saved.topRow : undefined).then(
  init => new DatasetView(init, saved).mount(saved),
  (e: unknown) => {
    const message = errorMessage(e);
    showFatal(`Winnow could not open this file: ${message}`);
    log('error', `Dataset view failed to start: ${message}`);
  },
);
