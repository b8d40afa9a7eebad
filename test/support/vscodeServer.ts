// UI-test support (tier 3b): a real VS Code server with Winnow installed, its web workbench in
// headless Chromium driven by playwright-core, and helpers for what the UI tests look at.
// Recipe and selectors: docs/testing.md (proven on VS Code 1.139.1).
//
// How Winnow gets into VS Code: the packaged VSIX is installed offline into a fresh extensions
// folder before the server starts (`server-main.js --install-extension`, under a second). That
// tests what users install (the .vscodeignore allow-list, the shipped node_modules), and needs
// no test-only server flag. scripts/run-tests.mjs packages once and passes the file in
// WINNOW_VSIX. Without a VSIX (a quick local run of one test file), the repository is loaded as
// a development extension through the workbench URL instead.
import { AssertionError } from 'node:assert';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Browser, FrameLocator, Locator, Page } from 'playwright-core';
import { launchChromium, startServer, type VSCodeServer } from '../../scripts/vscodeRuntime.mjs';
import { makeWorkspace, type TempWorkspace } from './vscodeWorkspace';

/**
 * Timeouts for waits on the workbench. Observed times are far lower on an idle machine, but on
 * 2 cores shared with other test runs (load 12) the extension took 48 s to register.
 */
export const TIMEOUTS = { workbench: 90_000, extension: 120_000, webview: 60_000, hover: 30_000 };

/** Options for {@link launchVSCode}. */
export interface LaunchOptions {
  /** Folder to open. Default: a fresh temp folder holding `files`. */
  readonly workspace?: string;
  /** Files to generate in the temp workspace (relative name -> contents). */
  readonly files?: Record<string, string>;
  /**
   * VSIX to install. Default: WINNOW_VSIX; else the folder WINNOW_EXTENSION_DIR or the
   * repository is loaded as a development extension.
   */
  readonly vsix?: string;
  /** Extra user settings. */
  readonly settings?: Record<string, unknown>;
  /** Extra environment for the server and the extension host. */
  readonly env?: Record<string, string>;
}

/** The repository root: the closest folder above this bundle with Winnow's package.json. */
export function repoRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'esbuild.mjs')) || !existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
  return dir;
}

/** Folder for screenshots: WINNOW_SCREENSHOT_DIR or <repo>/test-results/screenshots. */
export function screenshotDir(): string {
  return resolve(
    process.env.WINNOW_SCREENSHOT_DIR ?? join(repoRoot(), 'test-results', 'screenshots'),
  );
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Polls `fn` until it returns a value other than undefined, or throws after `timeoutMs`. Other
 * errors of `fn` (an element not there yet) are retried; an AssertionError fails at once.
 */
export async function poll<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs: number,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      if (e instanceof AssertionError) throw e;
      lastError = e;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await new Promise(r => setTimeout(r, intervalMs));
  }
}

/** A running VS Code with its workbench open in Chromium. Call close() in every case. */
export class VSCodeSession {
  /** Console errors and page errors seen so far (useful in assertion messages). */
  readonly consoleErrors: string[] = [];

  private constructor(
    readonly server: VSCodeServer,
    readonly browser: Browser,
    readonly page: Page,
    /** The opened folder (absolute). */
    readonly workspace: string,
    private readonly tempWorkspace: TempWorkspace | undefined,
    /** Milliseconds since epoch when launch began, for timing checks. */
    readonly launchedAt: number,
  ) {}

  /**
   * Starts a server with Winnow, launches Chromium and opens the workbench on the workspace.
   * Does not wait for the workbench: call waitForWorkbench / waitForExtension.
   */
  static async launch(opts: LaunchOptions = {}): Promise<VSCodeSession> {
    const launchedAt = Date.now();
    const temp = opts.workspace ? undefined : makeWorkspace(opts.files ?? {});
    const workspace = resolve(opts.workspace ?? temp!.dir);
    const vsix = opts.vsix ?? process.env.WINNOW_VSIX;
    if (vsix && !existsSync(vsix)) throw new Error(`VSIX not found: ${vsix}`);
    let server: VSCodeServer | undefined;
    let browser: Browser | undefined;
    try {
      server = await startServer({
        installExtensions: vsix ? [vsix] : [],
        // The workbench honours a development extension in the URL payload only with this flag.
        smokeTestDriver: !vsix,
        settings: opts.settings,
        env: opts.env,
        keepRunDir: process.env.WINNOW_KEEP_RUN_DIR === '1',
      });
      browser = await launchChromium();
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      const session = new VSCodeSession(server, browser, page, workspace, temp, launchedAt);
      page.on('console', m => {
        if (m.type() === 'error') session.consoleErrors.push(m.text());
      });
      page.on('pageerror', e => session.consoleErrors.push(e.message));
      const payload: [string, string][] | undefined = vsix
        ? undefined
        : [
            [
              'extensionDevelopmentPath',
              server.remoteUri(process.env.WINNOW_EXTENSION_DIR ?? repoRoot()),
            ],
          ];
      await page.goto(server.workbenchUrl(workspace, payload));
      return session;
    } catch (e) {
      await browser?.close().catch(() => undefined);
      server?.stop();
      temp?.dispose();
      throw e;
    }
  }

  /** Waits until the workbench has rendered (the explorer may still be empty). */
  async waitForWorkbench(timeoutMs = TIMEOUTS.workbench): Promise<void> {
    await this.page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: timeoutMs });
  }

  /**
   * Waits until a command with this palette title is listed, i.e. the extension's
   * contributions are registered. Files opened before that open in the plain text editor.
   */
  async waitForExtension(commandTitle: string, timeoutMs = TIMEOUTS.extension): Promise<void> {
    await this.waitForWorkbench(timeoutMs);
    const input = this.page.locator('.quick-input-widget input');
    await poll(
      `the command "${commandTitle}" in the palette`,
      async () => {
        await this.page.keyboard.press('F1');
        await input.waitFor({ state: 'visible', timeout: 5_000 });
        await input.fill(`>${commandTitle}`);
        const row = await this.findPaletteRow(commandTitle, 1_500).catch(() => undefined);
        await this.page.keyboard.press('Escape');
        return row ? true : undefined;
      },
      timeoutMs,
      500,
    );
  }

  /**
   * The quick-input row for `title`: the row whose label is exactly `title`, else the first
   * whose label starts with it (VS Code's "View: Focus Problems (Errors, Warnings, Infos)").
   * Playwright's hasText alone is a case-insensitive substring match, which picks wrong rows.
   */
  private async findPaletteRow(title: string, timeoutMs: number): Promise<Locator> {
    const rows = this.page.locator('.quick-input-list .monaco-list-row');
    return poll(
      `the palette row "${title}"`,
      async () => {
        const labels = await rows.evaluateAll(els =>
          els.map(e => (e.querySelector('.label-name')?.textContent ?? '').trim()),
        );
        let i = labels.indexOf(title);
        if (i < 0) i = labels.findIndex(l => l.startsWith(title));
        return i < 0 ? undefined : rows.nth(i);
      },
      timeoutMs,
      100,
    );
  }

  /**
   * Runs a command by its palette title, e.g. "Winnow: Open as Text" or "View: Focus Problems"
   * (an exact title, or the start of one).
   */
  async runCommand(title: string, timeoutMs = 15_000): Promise<void> {
    const input = this.page.locator('.quick-input-widget input');
    // Park the pointer in a corner: a tooltip under it can cover palette rows.
    await this.page.mouse.move(1, 1);
    // Under load the palette sometimes closes right after it opened (focus moving into a
    // webview that finished loading): open it again rather than wait out the time limit.
    await poll(
      'the command palette',
      async () => {
        if (!(await input.isVisible())) await this.page.keyboard.press('F1');
        await input.waitFor({ state: 'visible', timeout: 5_000 });
        await input.fill(`>${title}`, { timeout: 2_000 });
        return true;
      },
      timeoutMs,
      200,
    );
    const row = await this.findPaletteRow(title, timeoutMs);
    // Select by keyboard, not by a click: a row's tooltip (a context-view hover) can sit over
    // the next row and intercept the pointer. The palette focuses its first row.
    const index = Number((await row.getAttribute('data-index')) ?? '0');
    for (let i = 0; i < index; i++) await this.page.keyboard.press('ArrowDown');
    await this.page.keyboard.press('Enter');
    // The palette took the command once it closed, or once the command opened a quick input
    // of its own (Go to File, a save dialog): either way its text is no longer `>title`.
    await poll(
      `the palette to run "${title}"`,
      async () =>
        !(await input.isVisible()) || (await input.inputValue()) !== `>${title}` ? true : undefined,
      timeoutMs,
      100,
    );
  }

  /**
   * Hides the notification toasts and centre if any is showing (the hide command is only in the
   * palette then); a failure to hide them fails.
   */
  async hideNotifications(): Promise<void> {
    const shown = this.page.locator('.notification-toast, .notifications-center.visible');
    if ((await shown.count()) === 0) return;
    await this.runCommand('Notifications: Hide Notifications');
  }

  /** Switches from the dark to the light theme and waits until the workbench shows it. */
  async switchToLightTheme(): Promise<void> {
    await this.runCommand('Preferences: Toggle between Light/Dark Themes');
    await poll(
      'the light theme',
      async () =>
        (await this.page.locator('.monaco-workbench.vs').count()) > 0 ? true : undefined,
      20_000,
    );
  }

  /**
   * Opens a file of the workspace by its relative path through Quick Open (which respects the
   * default editor, so a .jsonl opens in the dataset view once the extension is ready).
   */
  async openFile(relativePath: string, timeoutMs = 30_000): Promise<void> {
    const name = relativePath.split('/').pop()!;
    const input = this.page.locator('.quick-input-widget input');
    await poll(
      `"${relativePath}" in Quick Open`,
      async () => {
        await this.runCommand('Go to File...');
        // Quick Open may not have opened (the command was lost): try again, do not wait out the
        // whole time limit on one attempt.
        const opened = await input
          .waitFor({ state: 'visible', timeout: 3_000 })
          .then(() => true)
          .catch(() => false);
        if (!opened) return undefined;
        await input.fill(relativePath, { timeout: 3_000 });
        const row = this.page
          .locator('.quick-input-list .monaco-list-row')
          .filter({
            has: this.page.locator('.label-name', {
              hasText: new RegExp(`^${escapeRegExp(name)}$`),
            }),
          })
          .first();
        const ok = await row
          .waitFor({ state: 'visible', timeout: 3_000 })
          .then(() => true)
          .catch(() => false);
        if (!ok) {
          await this.page.keyboard.press('Escape');
          return undefined;
        }
        // Select by keyboard (see runCommand): Quick Open focuses its first row.
        const index = Number((await row.getAttribute('data-index')) ?? '0');
        for (let i = 0; i < index; i++) await this.page.keyboard.press('ArrowDown');
        await this.page.keyboard.press('Enter');
        return true;
      },
      timeoutMs,
      500,
    );
    // The editor tab shows the file name once it is open.
    await this.page
      .locator('.tabs-container .tab', { hasText: name })
      .first()
      .waitFor({ state: 'visible', timeout: timeoutMs });
  }

  /** The content frame of the active custom editor webview (the dataset view). */
  webview(): FrameLocator {
    return this.page.frameLocator('iframe.webview.ready').frameLocator('iframe#active-frame');
  }

  /** Lines currently rendered by the active text editor. */
  async editorLines(): Promise<string[]> {
    return this.page.locator('.monaco-editor .view-lines .view-line').allInnerTexts();
  }

  /**
   * Moves the cursor of the active text editor to LINE:COLUMN (1-based), as "Go to Line/Column"
   * does. The palette is opened and given the `:` prefix directly: through runCommand the quick
   * input stays open for the line number, and runCommand would wait for it to close.
   */
  async goToLine(line: number, column = 1, timeoutMs = 15_000): Promise<void> {
    const input = this.page.locator('.quick-input-widget input');
    await this.page.keyboard.press('F1');
    await input.waitFor({ state: 'visible', timeout: timeoutMs });
    await input.fill(`:${line}:${column}`);
    await this.page.keyboard.press('Enter');
    await input.waitFor({ state: 'hidden', timeout: timeoutMs });
  }

  /**
   * Moves the cursor to LINE:COLUMN (1-based) of the active text editor, shows the hover there,
   * and returns its text once `accept` says yes (hovers from several providers share one
   * widget, and a language server's part can arrive later, so this retries).
   */
  async hoverText(
    line: number,
    column: number,
    accept: (text: string) => boolean = t => t.trim().length > 0,
    timeoutMs = TIMEOUTS.hover,
  ): Promise<string> {
    const hover = this.page.locator('.monaco-hover:not(.hidden) .monaco-hover-content');
    let last = '';
    try {
      return await poll(
        `a hover at ${line}:${column}`,
        async () => {
          await this.goToLine(line, column);
          await this.runCommand('Show or Focus Hover');
          await hover.first().waitFor({ state: 'visible', timeout: 3_000 });
          last = (await hover.allInnerTexts()).join('\n');
          await this.page.keyboard.press('Escape');
          return accept(last) ? last : undefined;
        },
        timeoutMs,
        500,
      );
    } catch (e) {
      throw new Error(`${(e as Error).message}; last hover text: ${JSON.stringify(last)}`);
    }
  }

  /**
   * Focuses the Problems panel and returns the text of its rows: none only when the panel shows
   * its "no problems" message. Throws when the panel shows neither rows nor that message.
   */
  async problems(timeoutMs = 10_000): Promise<string[]> {
    await this.runCommand('View: Focus Problems');
    const rows = this.page.locator('.markers-panel .monaco-list-row');
    // The message box is there but empty (not visible) while the panel lists rows.
    await this.page
      .locator(
        '.markers-panel .monaco-list-row:visible, .markers-panel .message-box-container:visible',
      )
      .first()
      .waitFor({ state: 'visible', timeout: timeoutMs });
    return rows.allInnerTexts();
  }

  /** Polls the Problems panel until `accept` says yes; returns the rows. */
  async waitForProblems(
    accept: (rows: string[]) => boolean,
    timeoutMs = TIMEOUTS.hover,
  ): Promise<string[]> {
    let last: string[] = [];
    try {
      return await poll(
        'the Problems panel',
        async () => {
          last = await this.problems();
          return accept(last) ? last : undefined;
        },
        timeoutMs,
        500,
      );
    } catch (e) {
      throw new Error(`${(e as Error).message}; last rows: ${JSON.stringify(last)}`);
    }
  }

  /** Texts of the visible notification toasts. */
  async notifications(): Promise<string[]> {
    return this.page.locator('.notification-toast').allInnerTexts();
  }

  /** Saves a PNG of the whole window to test-results/screenshots/<name>.png; returns the path. */
  async screenshot(name: string): Promise<string> {
    const dir = screenshotDir();
    mkdirSync(dir, { recursive: true });
    const path = join(dir, `${name.replace(/[^\w.-]+/g, '-')}.png`);
    await this.page.screenshot({ path });
    return path;
  }

  /** The server's output so far (attach it to failures). */
  serverLog(): string {
    return this.server.readLog();
  }

  /** Closes the browser, kills the server's process tree and removes the temp folders. */
  async close(): Promise<void> {
    try {
      await this.browser.close();
    } catch {
      // The browser may already be gone.
    } finally {
      this.server.stop();
      this.tempWorkspace?.dispose();
    }
  }
}

/** Shorthand for {@link VSCodeSession.launch}. */
export function launchVSCode(opts: LaunchOptions = {}): Promise<VSCodeSession> {
  return VSCodeSession.launch(opts);
}

interface ManifestCommand {
  readonly command: string;
  readonly title: string;
  readonly category?: string;
}

/**
 * The palette title ("Category: Title") of a Winnow command that is always listed (no
 * `when` clause in menus.commandPalette): what waitForExtension can wait for, whatever the
 * current set of commands is.
 */
export function alwaysListedCommandTitle(): string {
  const pkg = JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')) as {
    contributes?: {
      commands?: ManifestCommand[];
      menus?: { commandPalette?: { command: string; when?: string }[] };
    };
  };
  const hidden = new Set(
    (pkg.contributes?.menus?.commandPalette ?? []).filter(m => m.when).map(m => m.command),
  );
  const cmd = (pkg.contributes?.commands ?? []).find(c => !hidden.has(c.command));
  if (!cmd) throw new Error('package.json contributes no command that is always in the palette');
  // The manifest names its strings as "%key%" from package.nls.json, as VS Code shows them.
  const nls = JSON.parse(readFileSync(join(repoRoot(), 'package.nls.json'), 'utf8')) as Record<
    string,
    string
  >;
  const text = (s: string) => s.replace(/^%([^%]+)%$/, (_, key: string) => nls[key] ?? s);
  return cmd.category ? `${text(cmd.category)}: ${text(cmd.title)}` : text(cmd.title);
}
