// The release, step by step: what .github/workflows/release.yml runs on a hosted CI and what
// scripts/release.mjs runs here, short of publishing. A unit test (test/unit/releaseWorkflow)
// checks that the workflow runs each of these commands, so the two cannot drift apart.

/** ovsx is not a dependency (it brings a second vsce); the workflow runs this version with npx. */
export const OVSX_VERSION = '1.4.0';

/** The OSes the unit and LSP tiers run on in the workflow. */
export const TEST_OSES = ['ubuntu-latest', 'macos-latest', 'windows-latest'];

/**
 * The steps, in order: `{ id, what, command }`. `command` is run as is (a shell line in the
 * workflow; split on spaces here, so no quoting). `{out}` is the folder the VSIXs go to.
 */
export const STEPS = [
  { id: 'deps', what: 'install the locked dependencies', command: 'npm ci' },
  { id: 'build', what: 'build the bundles and the tests', command: 'node esbuild.mjs --tests' },
  { id: 'tests', what: 'the unit and LSP tiers', command: 'node scripts/run-tests.mjs unit lsp' },
  {
    id: 'package',
    what: 'package and verify every target',
    command:
      'node scripts/package.mjs --target all --out-dir {out} --report {out}/package-report.json',
  },
  { id: 'qemu', what: 'qemu-user and the arm64 Node', command: 'bash scripts/setup-qemu-arm64.sh' },
  {
    id: 'load',
    what: 'load the VSIXs: linux-x64 natively, linux-arm64 under qemu',
    command: 'node --test out/test/platform/vsixLoad.test.js',
    env: { WINNOW_VSIX_DIR: '{out}', WINNOW_REQUIRE_ARM64: '1' },
  },
];

/** The publishing commands for one VSIX (tokens from VSCE_PAT and OVSX_PAT in the environment). */
export function publishCommands(vsix) {
  return [
    `npx vsce publish --packagePath ${vsix}`,
    `npx --yes ovsx@${OVSX_VERSION} publish --packagePath ${vsix}`,
  ];
}
