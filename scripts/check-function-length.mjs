// Lists functions longer than a limit (default 80 lines), counting every line from the function's
// first line to its last, nested functions included. It runs ESLint's own `max-lines-per-function`
// rule with the options `npm run lint` enforces (functionLengthOptions in eslint.config.mjs), so
// it counts what the linter does and needs no AST walking of its own.
//   node scripts/check-function-length.mjs                      src/ and webview-ui/src/
//   node scripts/check-function-length.mjs webview-ui/src       only these folders or files
//   node scripts/check-function-length.mjs --max 60 src/core    another limit
// Prints `file:line  N lines  name` for each offender, longest first; exits 1 when there is one.
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { relative } from 'node:path';
import { functionLengthOptions } from '../eslint.config.mjs';

function parseArgs(argv) {
  let max = functionLengthOptions.max;
  const paths = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--max') max = Number(argv[++i]);
    else paths.push(argv[i]);
  }
  if (!Number.isInteger(max) || max < 1) throw new Error('--max needs a positive whole number');
  return { max, paths: paths.length ? paths : ['src', 'webview-ui/src'] };
}

const { max, paths } = parseArgs(process.argv.slice(2));
const eslint = new ESLint({
  overrideConfigFile: true,
  overrideConfig: [
    {
      files: ['**/*.ts', '**/*.mts', '**/*.mjs', '**/*.js'],
      languageOptions: { parser: tseslint.parser },
      rules: {
        'max-lines-per-function': ['error', { ...functionLengthOptions, max }],
      },
    },
  ],
});

const results = await eslint.lintFiles(
  paths.map(p => (/\.[cm]?[jt]s$/.test(p) ? p : `${p}/**/*.ts`)),
);
const offenders = [];
for (const { filePath, messages } of results)
  for (const m of messages) {
    if (m.fatal) throw new Error(`${relative('.', filePath)}:${m.line}: ${m.message}`);
    if (m.ruleId !== 'max-lines-per-function') continue;
    // ESLint says: "<Function name> has too many lines (N). Maximum allowed is M."
    const lines = Number(/\((\d+)\)/.exec(m.message)?.[1]);
    const name = m.message.replace(/ has too many lines.*$/, '');
    offenders.push({ where: `${relative('.', filePath)}:${m.line}`, lines, name });
  }

offenders.sort((a, b) => b.lines - a.lines);
for (const o of offenders)
  console.log(`${o.where.padEnd(56)} ${String(o.lines).padStart(4)} lines  ${o.name}`);
console.log(
  offenders.length
    ? `${offenders.length} function(s) longer than ${max} lines.`
    : `No function longer than ${max} lines.`,
);
process.exitCode = offenders.length ? 1 : 0;
