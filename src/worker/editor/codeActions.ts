/**
 * Code actions on dataset lines: "Keep example" / "Drop example". They run the host command
 * `winnow.setDecision(uri, lines, decision)` (docs/scores-api.md), which records the decision in the
 * same store as the dataset view. The URI travels as a string; the client's middleware turns it
 * into a `vscode.Uri` before VS Code runs the command.
 */
import type { CodeAction, CodeActionParams } from 'vscode-languageserver/node';

/** The host command the actions run. */
export const SET_DECISION_COMMAND = 'winnow.setDecision';

/** Lines one action covers at most (a selection of the whole file is still one action). */
const maxLines = 100_000;

/** The keep/drop actions for the lines of `params.range` (all lines the selection touches). */
export function decisionActions(params: CodeActionParams, lineCount: number): CodeAction[] {
  // A request for specific kinds (e.g. fix-all on save) never wants these.
  if (params.context.only && params.context.only.length > 0) return [];
  const { start, end } = params.range;
  // A selection that ends at column 0 of a line does not include that line.
  const lastLine = end.line > start.line && end.character === 0 ? end.line - 1 : end.line;
  const last = Math.min(lastLine, lineCount - 1, start.line + maxLines - 1);
  if (last < start.line) return [];
  const lines: number[] = [];
  for (let l = start.line; l <= last; l++) lines.push(l);
  const n = lines.length;
  const uri = params.textDocument.uri;
  return (['keep', 'drop'] as const).map(decision => {
    const verb = decision === 'keep' ? 'Keep' : 'Drop';
    const title = n === 1 ? `${verb} example` : `${verb} ${n} examples`;
    return {
      title,
      command: { title, command: SET_DECISION_COMMAND, arguments: [uri, lines, decision] },
    };
  });
}
