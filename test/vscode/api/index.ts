// Mocha entry for the API-level tests: VS Code loads this module inside the extension host
// (extensionTestsPath) and calls run(). It loads every *.test.js bundled next to it
// (out/test/vscode/api/**), runs them with the BDD interface, and resolves only if all pass.
//
// Environment (set through runTests' extensionTestsEnv by scripts/run-vscode-api-tests.mjs):
//   WINNOW_API_GREP     only run tests whose full title matches this regular expression
//   WINNOW_API_RESULTS  write {"passed","failed","pending"} as JSON to this file
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Mocha from 'mocha';

/** Every *.test.js below `dir`, sorted so that runs are reproducible. */
function findTestFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) findTestFiles(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

/** Called by VS Code once the extension host is up; rejects when any test fails. */
export function run(): Promise<void> {
  const mocha = new Mocha({
    ui: 'bdd',
    reporter: 'spec',
    color: false,
    // A real VS Code on 2 shared cores: opening editors and starting the worker take seconds.
    timeout: 60_000,
    slow: 5_000,
  });
  if (process.env.WINNOW_API_GREP) mocha.grep(new RegExp(process.env.WINNOW_API_GREP));
  for (const file of findTestFiles(__dirname)) mocha.addFile(file);

  return new Promise((resolve, reject) => {
    try {
      const runner = mocha.run(failures => {
        const stats = runner.stats;
        const resultsFile = process.env.WINNOW_API_RESULTS;
        if (resultsFile) {
          writeFileSync(
            resultsFile,
            JSON.stringify({
              passed: stats?.passes ?? 0,
              failed: stats?.failures ?? failures,
              pending: stats?.pending ?? 0,
            }),
          );
        }
        if (failures > 0) reject(new Error(`${failures} API test(s) failed`));
        else resolve();
      });
    } catch (e) {
      reject(e instanceof Error ? e : new Error(String(e)));
    }
  });
}
