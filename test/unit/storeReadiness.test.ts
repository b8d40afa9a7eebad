/**
 * Store readiness (scripts/release/storeReadiness.mjs, scripts/release/nls.mjs): a generated
 * extension folder with everything the Marketplace and Open VSX need passes; taking away or
 * breaking each item in turn gives a message that names it; the repository's own folder passes.
 */
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  extractStrings,
  localizedManifest,
  manifestStrings,
  nlsProblems,
} from '../../scripts/release/nls.mjs';
import {
  checkStoreReadiness,
  readmeImages,
  repositoryWebUrl,
} from '../../scripts/release/storeReadiness.mjs';
import { Rng } from '../support/fixtures';

const repo = join(__dirname, '..', '..', '..');
const work = mkdtempSync(join(tmpdir(), 'winnow-store-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** The first bytes of a PNG of the given size (signature and IHDR: all the check reads). */
function png(width: number, height: number): Buffer {
  const b = Buffer.alloc(33);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(b);
  b.writeUInt32BE(13, 8);
  b.write('IHDR', 12, 'latin1');
  b.writeUInt32BE(width, 16);
  b.writeUInt32BE(height, 20);
  return b;
}

type Manifest = Record<string, unknown> & { contributes?: Record<string, unknown> };

function readyManifest(): Manifest {
  return {
    name: 'demo',
    publisher: 'someone',
    version: '1.2.3',
    displayName: '%extension.displayName%',
    description: '%extension.description%',
    license: 'MIT',
    engines: { vscode: '^1.91.0' },
    categories: ['Data Science', 'Other'],
    keywords: ['jsonl', 'data'],
    icon: 'media/icon.png',
    galleryBanner: { color: '#1f4e5f', theme: 'dark' },
    repository: { type: 'git', url: 'https://github.com/someone/demo.git' },
    bugs: { url: 'https://github.com/someone/demo/issues' },
    homepage: 'https://github.com/someone/demo#readme',
    contributes: { commands: [{ command: 'demo.run', title: '%command.demo.run.title%' }] },
  };
}

const READY_NLS = {
  'extension.displayName': 'Demo',
  'extension.description': 'A demo.',
  'command.demo.run.title': 'Run',
};

/** Writes a store-ready folder, then lets `change` break it. */
function folder(
  change: (m: Manifest, files: Map<string, string | Buffer | undefined>) => void,
): string {
  const dir = mkdtempSync(join(work, 'ext-'));
  const m = readyManifest();
  const files = new Map<string, string | Buffer | undefined>([
    ['package.nls.json', JSON.stringify(READY_NLS)],
    ['media/icon.png', png(128, 128)],
    ['media/shot.png', png(800, 600)],
    ['README.md', '# Demo\n\n![The view](media/shot.png)\n'],
    ['CHANGELOG.md', '# Changelog\n\n## 1.2.3\n\n- First.\n'],
    ['LICENSE', 'MIT'],
  ]);
  change(m, files);
  files.set('package.json', JSON.stringify(m));
  for (const [name, content] of files) {
    if (content === undefined) continue;
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  return dir;
}

describe('store readiness', () => {
  it('a folder with everything passes', () => {
    assert.deepEqual(checkStoreReadiness(folder(() => {})), { problems: [], warnings: [] });
  });

  const breakages: [
    string,
    (m: Manifest, f: Map<string, string | Buffer | undefined>) => void,
    RegExp,
  ][] = [
    ['no icon', m => delete m.icon, /needs "icon"/],
    ['a small icon', (_, f) => f.set('media/icon.png', png(64, 64)), /64x64/],
    ['an SVG icon', (_, f) => f.set('media/icon.png', '<svg/>'), /not a PNG/],
    ['no display name', m => delete m.displayName, /"displayName"/],
    ['no description', m => delete m.description, /"description"/],
    ['no categories', m => delete m.categories, /needs "categories"/],
    [
      'an unknown category',
      m => (m.categories = ['Datasets']),
      /"Datasets" is not a Marketplace category/,
    ],
    ['no keywords', m => delete m.keywords, /needs "keywords"/],
    [
      '31 keywords',
      m => (m.keywords = Array.from({ length: 31 }, (_, i) => `k${i}`)),
      /31 keywords/,
    ],
    ['no gallery banner', m => delete m.galleryBanner, /galleryBanner/],
    [
      'a banner theme',
      m => (m.galleryBanner = { color: '#123456', theme: 'blue' }),
      /galleryBanner/,
    ],
    ['no repository', m => delete m.repository, /repository\.url/],
    ['bugs elsewhere', m => (m.bugs = { url: 'https://elsewhere.org/x' }), /bugs\.url must be/],
    ['no homepage', m => delete m.homepage, /homepage must be/],
    ['no CHANGELOG.md', (_, f) => f.set('CHANGELOG.md', undefined), /CHANGELOG\.md is missing/],
    [
      'a CHANGELOG without this version',
      (_, f) => f.set('CHANGELOG.md', '## 1.2.2\n'),
      /no "## 1\.2\.3" entry/,
    ],
    ['no LICENSE', (_, f) => f.set('LICENSE', undefined), /LICENSE is missing/],
    [
      'no README screenshot',
      (_, f) => f.set('README.md', '# Demo\n'),
      /no screenshot from media\//,
    ],
    [
      'a missing screenshot',
      (_, f) => f.set('README.md', '![x](media/gone.png)\n![y](media/shot.png)'),
      /media\/gone\.png does not exist/,
    ],
    [
      'an http image',
      (_, f) => f.set('README.md', '![x](http://x.org/a.png) ![y](media/shot.png)'),
      /only https or relative/,
    ],
    [
      'an image outside media/',
      (_, f) => f.set('README.md', '![x](docs/a.png) ![y](media/shot.png)'),
      /belong in media\//,
    ],
    [
      'no package.nls.json',
      (_, f) => f.set('package.nls.json', undefined),
      /package\.nls\.json is missing/,
    ],
    [
      'a plain-text title',
      m => ((m.contributes!.commands as { title: string }[])[0].title = 'Run'),
      /plain text instead of package\.nls\.json keys/,
    ],
    [
      'an undefined key',
      (_, f) =>
        f.set(
          'package.nls.json',
          JSON.stringify({ ...READY_NLS, 'command.demo.run.title': undefined }),
        ),
      /does not define/,
    ],
    [
      'an unused key',
      (_, f) => f.set('package.nls.json', JSON.stringify({ ...READY_NLS, stale: 'x' })),
      /no manifest string uses: stale/,
    ],
    ['no engines.vscode', m => delete m.engines, /engines\.vscode/],
    ['engines.vscode as a range', m => (m.engines = { vscode: '>=1.91' }), /engines\.vscode/],
  ];
  for (const [what, change, message] of breakages) {
    it(`${what}: fails with a message that says so`, () => {
      const { problems } = checkStoreReadiness(folder(change));
      assert.ok(
        problems.some(p => message.test(p)),
        problems.join('\n'),
      );
    });
  }

  it('the placeholder repository is a warning, and a problem for a release', () => {
    const dir = folder(m => {
      m.repository = { type: 'git', url: 'https://example.invalid/demo.git' };
      m.bugs = { url: 'https://example.invalid/demo/issues' };
      m.homepage = 'https://example.invalid/demo#readme';
    });
    const local = checkStoreReadiness(dir);
    assert.deepEqual(local.problems, []);
    assert.match(local.warnings.join(), /placeholder https:\/\/example\.invalid\/demo/);
    assert.match(checkStoreReadiness(dir, { release: true }).problems.join(), /placeholder/);
  });

  it("the repository's own folder is ready (but for the placeholder address)", () => {
    const { problems, warnings } = checkStoreReadiness(repo);
    assert.deepEqual(problems, []);
    assert.ok(
      warnings.every(w => /placeholder/.test(w)),
      warnings.join('\n'),
    );
  });

  it('reads repository addresses and README images as the stores do', () => {
    assert.equal(
      repositoryWebUrl({ repository: { url: 'git+https://github.com/a/b.git' } }),
      'https://github.com/a/b',
    );
    assert.equal(
      repositoryWebUrl({ repository: 'https://gitlab.com/a/b/' }),
      'https://gitlab.com/a/b',
    );
    assert.deepEqual(
      readmeImages(
        '![a](media/a.png "t") <img alt="b" src="media/b.png"> [link](x.md) ![c](<media/c.png>)',
      ),
      ['media/a.png', 'media/c.png', 'media/b.png'],
    );
  });
});

describe('package.nls.json', () => {
  /** A generated manifest with commands and settings of every string kind. */
  function generatedManifest(seed: number): Manifest {
    const rng = new Rng(seed);
    const text = () => Array.from({ length: 1 + rng.int(6) }, () => `w${rng.int(1000)}`).join(' ');
    const properties: Record<string, unknown> = {};
    for (let i = 0; i < 1 + rng.int(10); i++) {
      const kind = rng.int(3);
      properties[`demo.s${i}`] =
        kind === 0
          ? {
              type: 'string',
              description: text(),
              enum: ['a', 'b'],
              enumDescriptions: [text(), text()],
            }
          : kind === 1
            ? {
                type: 'array',
                markdownDescription: text(),
                items: { type: 'string', description: text() },
              }
            : {
                anyOf: [{ type: 'number', description: text() }, { type: 'string' }],
                patternErrorMessage: text(),
              };
    }
    return {
      displayName: text(),
      description: text(),
      contributes: {
        commands: Array.from({ length: 1 + rng.int(5) }, (_, i) => ({
          command: `demo.c${i}`,
          title: text(),
          category: 'Demo',
        })),
        configuration: { title: 'Demo', properties },
      },
    };
  }

  it('extracting every literal string gives %keys% that localize back to the original', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const original = generatedManifest(seed);
      const m = structuredClone(original);
      const nls: Record<string, string> = {};
      const moved = extractStrings(m, nls);
      assert.equal(moved, manifestStrings(original).length);
      assert.ok(manifestStrings(m).every(s => /^%[^%]+%$/.test(s.get())));
      assert.deepEqual(nlsProblems(m, nls), []);
      assert.deepEqual(localizedManifest(m, nls), original);
      assert.equal(extractStrings(m, nls), 0, 'a second run moves nothing');
    }
  });
});
