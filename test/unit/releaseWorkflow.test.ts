/**
 * The hosted release workflow (.github/workflows/release.yml) cannot run here, so its shape is
 * checked against the local release script's steps (scripts/release/steps.mjs): the unit and LSP
 * tiers on ubuntu, macOS and Windows; every target packaged, verified and load-tested on Linux;
 * publishing with vsce and ovsx for tags only, with the tokens from secrets and nowhere else.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { OVSX_VERSION, STEPS, TEST_OSES, publishCommands } from '../../scripts/release/steps.mjs';

const repo = join(__dirname, '..', '..', '..');
const text = readFileSync(join(repo, '.github', 'workflows', 'release.yml'), 'utf8');

interface Step {
  run?: string;
  uses?: string;
  env?: Record<string, string>;
}
interface Job {
  'runs-on': string;
  needs?: string[];
  if?: string;
  strategy?: { matrix: { os: string[] } };
  steps: Step[];
}
const workflow = parse(text) as { on: Record<string, unknown>; jobs: Record<string, Job> };
const runs = (job: Job) => job.steps.map(s => (s.run ?? '').replace(/\s+/g, ' ').trim());

describe('the release workflow', () => {
  it('runs the unit and LSP tiers on ubuntu, macOS and Windows', () => {
    const test = workflow.jobs.test;
    assert.deepEqual(test.strategy?.matrix.os, TEST_OSES);
    assert.equal(test['runs-on'], '${{ matrix.os }}');
    for (const id of ['deps', 'build', 'tests'])
      assert.ok(runs(test).includes(STEPS.find(s => s.id === id)!.command), id);
  });

  it("builds every target on Linux with the local script's commands, in its order", () => {
    const pkg = workflow.jobs.package;
    assert.equal(pkg['runs-on'], 'ubuntu-latest');
    const lines = runs(pkg);
    let last = -1;
    for (const step of STEPS.filter(s => s.id !== 'tests')) {
      const command = step.command.replaceAll('{out}', 'out/release');
      const at = lines.findIndex(l => l.startsWith(command));
      assert.ok(at > last, `${step.id}: "${command}" in order in\n${lines.join('\n')}`);
      last = at;
      for (const [k, v] of Object.entries(step.env ?? {}))
        assert.equal(
          pkg.steps[at].env?.[k],
          v.replaceAll('{out}', 'out/release'),
          `${step.id} ${k}`,
        );
    }
  });

  it('publishes for tags only, after both jobs, with vsce and ovsx and tokens from secrets', () => {
    const publish = workflow.jobs.publish;
    assert.deepEqual(publish.needs, ['test', 'package']);
    assert.match(publish.if ?? '', /startsWith\(github\.ref, 'refs\/tags\/v'\)/);
    const [vsce, ovsx] = publishCommands('"$vsix"');
    const lines = runs(publish);
    assert.ok(
      lines.some(l => l.includes(vsce)),
      vsce,
    );
    assert.ok(
      lines.some(l => l.includes(ovsx)),
      ovsx,
    );
    assert.ok(ovsx.includes(`ovsx@${OVSX_VERSION}`));
    const envOf = (cmd: string) => publish.steps.find(s => s.run?.includes(cmd))?.env ?? {};
    assert.deepEqual(envOf('vsce publish'), { VSCE_PAT: '${{ secrets.VSCE_PAT }}' });
    assert.deepEqual(envOf('ovsx'), { OVSX_PAT: '${{ secrets.OVSX_PAT }}' });
    // The tokens appear nowhere else: not in a command line, not in another job.
    const mentions = text.split('\n').filter(l => /secrets\./.test(l));
    assert.equal(mentions.length, 2, mentions.join('\n'));
  });

  it('uploads the VSIXs from the package job and downloads them to publish', () => {
    assert.ok(workflow.jobs.package.steps.some(s => s.uses?.startsWith('actions/upload-artifact')));
    assert.ok(
      workflow.jobs.publish.steps.some(s => s.uses?.startsWith('actions/download-artifact')),
    );
    assert.ok('push' in workflow.on && 'workflow_dispatch' in workflow.on);
  });
});
