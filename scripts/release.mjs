#!/usr/bin/env node
// The release of .github/workflows/release.yml, run here short of publishing (steps in
// scripts/release/steps.mjs): dependencies, build, the unit and LSP tiers, every target packaged
// and verified, the linux-x64 VSIX loaded natively and the linux-arm64 VSIX under qemu-user,
// and the publishing commands it would run, with what still blocks publishing.
//
//   node scripts/release.mjs [--out-dir DIR] [--no-setup] [--no-tests] [--release] [--report FILE]
//
//   --out-dir   where the VSIXs go (default out/release)
//   --no-setup  skip `npm ci` and the build (the caller did them: scripts/run-tests.mjs's
//               release tier, after scripts/test.sh's own set-up)
//   --no-tests  skip the unit and LSP tiers (the caller runs them)
//   --release   package as for publishing: the placeholder repository address fails
//   --report    write every step's outcome as JSON (`{ steps: [{ id, ok, seconds, ... }] }`)
//
// Ends with a table of the VSIXs (size, native headers, where each was loaded) and exits
// non-zero when a step failed.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeFor } from './release/emulation.mjs';
import { STEPS, publishCommands } from './release/steps.mjs';
import { isPlaceholderRepository } from './release/storeReadiness.mjs';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = name => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const out = resolve(opt('--out-dir') ?? join(repo, 'out', 'release'));
const log = msg => console.log(`[release] ${msg}`);

/** Runs a step's command with inherited output; resolves with its exit code. */
function runStep(step, extraArgs = []) {
  const fill = s => s.replaceAll('{out}', out);
  // Here `npm ci` is scripts/ensure-deps.sh: it runs npm ci only when node_modules does not
  // match the lock (a node_modules other clones share is not wiped for nothing).
  const command = step.id === 'deps' ? 'bash scripts/ensure-deps.sh' : step.command;
  const [cmd, ...cmdArgs] = fill(command).split(' ');
  const env = {
    ...process.env,
    ...Object.fromEntries(Object.entries(step.env ?? {}).map(([k, v]) => [k, fill(v)])),
  };
  return new Promise(done => {
    // Options of `node --test` go before its files.
    const at = cmdArgs[0] === '--test' ? 1 : cmdArgs.length;
    const all = [...cmdArgs.slice(0, at), ...extraArgs, ...cmdArgs.slice(at)];
    const child = spawn(cmd === 'node' ? process.execPath : cmd, all, {
      cwd: repo,
      env,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('error', e => {
      console.error(`[release] ${cmd}: ${e.message}`);
      done(1);
    });
    child.on('exit', (code, signal) => done(code ?? (signal ? 1 : 0)));
  });
}

/** The load test's counts, from its TAP file. */
function tapCounts(file) {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const num = key => Number(new RegExp(`^# ${key} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
  return { passed: num('pass'), failed: num('fail') + num('cancelled'), skipped: num('skipped') };
}

function skippedStep(step) {
  if (args.includes('--no-setup') && (step.id === 'deps' || step.id === 'build'))
    return '--no-setup';
  if (args.includes('--no-tests') && step.id === 'tests') return '--no-tests';
  return undefined;
}

/** The table of VSIXs: size, limit, every native file's header, where it was loaded. */
function summary(report, loadTap) {
  const loaded = existsSync(loadTap) ? readFileSync(loadTap, 'utf8') : '';
  const lines = [
    '| VSIX | size | limit | native files: header | loaded |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const r of report.reports) {
    const n = nodeFor(r.target);
    const ok = new RegExp(`^ok \\d+ - the ${r.target} VSIX`, 'm').test(loaded) && !n.missing;
    const where = n.missing
      ? `no: ${n.missing}`
      : ok
        ? `yes, ${n.how}: tiny-t5 through its onnxruntime-node, and its worker scored a dataset`
        : 'FAILED';
    const headers = r.natives
      .map(x => `${x.path.replace(/^node_modules\//, '')}: ${x.detail}`)
      .join('<br>');
    lines.push(
      `| ${basename(r.vsix)} | ${(r.bytes / 2 ** 20).toFixed(1)} MiB | ${(r.limitBytes / 2 ** 20).toFixed(0)} MiB | ${headers} | ${where} |`,
    );
  }
  for (const s of report.skipped)
    lines.push(`| winnow-${s.target} (not built) | | | ${s.reason} | |`);
  return lines.join('\n');
}

async function main() {
  mkdirSync(out, { recursive: true });
  for (const f of ['package-report.json', 'load.tap']) rmSync(join(out, f), { force: true });
  const results = [];
  const loadTap = join(out, 'load.tap');
  for (const step of STEPS) {
    const why = skippedStep(step);
    if (why) {
      log(`${step.id}: skipped (${why})`);
      continue;
    }
    log(`${step.id}: ${step.what}`);
    const t0 = Date.now();
    const extra =
      step.id === 'package' && args.includes('--release')
        ? ['--release']
        : step.id === 'load'
          ? [
              '--test-reporter=spec',
              '--test-reporter-destination=stdout',
              '--test-reporter=tap',
              `--test-reporter-destination=${loadTap}`,
            ]
          : [];
    const code = await runStep(step, extra);
    const result = {
      id: step.id,
      what: step.what,
      ok: code === 0,
      seconds: (Date.now() - t0) / 1000,
    };
    if (step.id === 'load') Object.assign(result, tapCounts(loadTap));
    results.push(result);
    log(
      `${step.id}: ${result.ok ? 'ok' : `FAILED (exit ${code})`} in ${result.seconds.toFixed(1)} s`,
    );
    if (!result.ok && step.id !== 'tests') break; // later steps need this one
  }
  const reportFile = join(out, 'package-report.json');
  const report = existsSync(reportFile) ? JSON.parse(readFileSync(reportFile, 'utf8')) : undefined;
  if (report) {
    const table = summary(report, loadTap);
    writeFileSync(join(out, 'SUMMARY.md'), `${table}\n`);
    console.log(`\n${table}\n`);
    log('publishing (not run here; the workflow runs it with VSCE_PAT and OVSX_PAT):');
    for (const r of report.reports)
      for (const c of publishCommands(relative(repo, r.vsix))) log(`  ${c}`);
  }
  const manifest = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));
  if (isPlaceholderRepository(manifest))
    log(
      'publishing is blocked: package.json repository.url (and bugs.url, homepage) is still the placeholder',
    );
  if (opt('--report'))
    writeFileSync(resolve(opt('--report')), `${JSON.stringify({ steps: results }, null, 2)}\n`);
  const failed = results.filter(r => !r.ok);
  log(
    failed.length
      ? `FAILED: ${failed.map(r => r.id).join(', ')}`
      : `all ${results.length} steps passed`,
  );
  process.exitCode = failed.length ? 1 : 0;
}

await main();
