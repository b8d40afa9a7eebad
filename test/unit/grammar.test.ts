/**
 * The `.winnow-prompt` TextMate grammar, checked with a small line tokenizer that follows
 * TextMate's rules for `match` patterns (leftmost match wins, the earlier pattern wins a tie,
 * captures get their own scopes). The grammar's regexes use only the subset that Oniguruma and
 * JavaScript read alike, which the first test enforces.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

interface Rule {
  match?: string;
  name?: string;
  include?: string;
  captures?: Record<string, { name: string }>;
  begin?: string;
}
interface Grammar {
  scopeName: string;
  patterns: Rule[];
  repository: Record<string, Rule>;
}

const root = join(__dirname, '..', '..', '..');
const grammar = JSON.parse(
  readFileSync(join(root, 'syntaxes', 'winnow-prompt.tmLanguage.json'), 'utf8'),
) as Grammar;
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  contributes: { grammars: { language: string; scopeName: string; path: string }[] };
};

function rules(): Rule[] {
  return grammar.patterns.map(p => {
    if (!p.include) return p;
    const rule = grammar.repository[p.include.replace(/^#/, '')];
    assert.ok(rule, `include ${p.include} resolves`);
    return rule;
  });
}

interface Token {
  text: string;
  scopes: string[];
}

/** Tokenizes one line with the grammar's top-level `match` rules. */
function tokenizeLine(line: string): Token[] {
  const compiled = rules().map(r => ({ rule: r, re: new RegExp(r.match!, 'dg') }));
  const tokens: Token[] = [];
  let pos = 0;
  const base = grammar.scopeName;
  while (pos <= line.length) {
    let best: { rule: Rule; m: RegExpExecArray } | undefined;
    for (const { rule, re } of compiled) {
      re.lastIndex = pos;
      const m = re.exec(line);
      if (m && m[0].length > 0 && (!best || m.index < best.m.index)) best = { rule, m };
    }
    if (!best) {
      if (pos < line.length) tokens.push({ text: line.slice(pos), scopes: [base] });
      break;
    }
    const { rule, m } = best;
    if (m.index > pos) tokens.push({ text: line.slice(pos, m.index), scopes: [base] });
    const outer = rule.name ? [base, rule.name] : [base];
    // Split the match by its captures (they do not nest in this grammar).
    const indices = m.indices!;
    let at = m.index;
    const end = m.index + m[0].length;
    const groups = Object.keys(rule.captures ?? {})
      .map(Number)
      .filter(g => indices[g])
      .sort((a, b) => indices[a]![0] - indices[b]![0]);
    for (const g of groups) {
      const [s, e] = indices[g]!;
      if (s > at) tokens.push({ text: line.slice(at, s), scopes: outer });
      tokens.push({ text: line.slice(s, e), scopes: [...outer, rule.captures![g]!.name] });
      at = e;
    }
    if (end > at) tokens.push({ text: line.slice(at, end), scopes: outer });
    pos = end;
  }
  return tokens;
}

function scopeOf(line: string, text: string): string[] {
  const token = tokenizeLine(line).find(t => t.text === text);
  assert.ok(token, `token ${JSON.stringify(text)} in ${JSON.stringify(line)}`);
  return token.scopes;
}

describe('winnow-prompt grammar', () => {
  it('is the grammar package.json contributes, for the winnow-prompt language', () => {
    const entry = manifest.contributes.grammars.find(g => g.language === 'winnow-prompt');
    assert.ok(entry);
    assert.equal(entry.scopeName, 'text.winnow-prompt');
    assert.equal(grammar.scopeName, 'text.winnow-prompt');
    assert.equal(entry.path, './syntaxes/winnow-prompt.tmLanguage.json');
  });

  it('uses only match rules whose regexes JavaScript compiles the same way as Oniguruma', () => {
    for (const rule of rules()) {
      assert.ok(rule.match, 'every top-level rule is a match rule');
      // Oniguruma-only syntax that JavaScript would read differently or reject.
      assert.doesNotMatch(rule.match, /\(\?[imx]+\)|\\[hHAzZG]|\(\?<[!=]?[a-z]|\\p\{/);
      assert.doesNotThrow(() => new RegExp(rule.match!, 'u'));
    }
  });

  it('highlights the {{document}} placeholder, with or without spaces', () => {
    const line = 'Text: {{document}} and {{ document }}.';
    const tokens = tokenizeLine(line);
    const names = tokens.filter(t =>
      t.scopes.includes('variable.other.placeholder.document.winnow-prompt'),
    );
    assert.deepEqual(
      names.map(t => t.text),
      ['document', 'document'],
    );
    assert.ok(
      scopeOf(line, '{{').includes('punctuation.definition.placeholder.begin.winnow-prompt'),
    );
    assert.deepEqual(scopeOf(line, 'Text: '), ['text.winnow-prompt']);
  });

  it('flags any other {{name}} as an unknown placeholder', () => {
    const line = 'Use {{doc}} or {{ text }} but {{document}}';
    const tokens = tokenizeLine(line);
    const invalid = tokens
      .filter(t => t.scopes.includes('invalid.illegal.unknown-placeholder.winnow-prompt'))
      .map(t => t.text);
    assert.deepEqual(invalid, ['{{doc}}', '{{ text }}']);
    assert.ok(
      scopeOf(line, 'document').includes('variable.other.placeholder.document.winnow-prompt'),
    );
  });

  it('marks ### delimiter lines, and only whole lines of ###', () => {
    assert.deepEqual(scopeOf('###', '###'), [
      'text.winnow-prompt',
      'keyword.control.delimiter.winnow-prompt',
    ]);
    assert.ok(scopeOf('  ###  ', '###').includes('keyword.control.delimiter.winnow-prompt'));
    assert.deepEqual(tokenizeLine('within ### and ###'), [
      { text: 'within ### and ###', scopes: ['text.winnow-prompt'] },
    ]);
  });

  it('marks the FLAN OPTIONS: block with - yes / - no items', () => {
    assert.ok(scopeOf('OPTIONS:', 'OPTIONS').includes('keyword.other.options.winnow-prompt'));
    assert.ok(scopeOf('- yes', 'yes').includes('constant.language.answer.yes.winnow-prompt'));
    assert.ok(scopeOf('- no', 'no').includes('constant.language.answer.no.winnow-prompt'));
    assert.ok(scopeOf('- Yes', '-').includes('punctuation.definition.list.begin.winnow-prompt'));
    // A list item that is not an answer option stays plain text.
    assert.deepEqual(tokenizeLine('- maybe'), [
      { text: '- maybe', scopes: ['text.winnow-prompt'] },
    ]);
  });

  it('marks the decoder-only OPTIONS: yes/no and ANSWER: lines', () => {
    for (const line of ['OPTIONS: yes/no', 'OPTIONS: yes / no']) {
      assert.ok(scopeOf(line, 'OPTIONS').includes('keyword.other.options.winnow-prompt'));
      assert.ok(scopeOf(line, 'yes').includes('constant.language.answer.yes.winnow-prompt'));
      assert.ok(scopeOf(line, 'no').includes('constant.language.answer.no.winnow-prompt'));
    }
    assert.ok(scopeOf('ANSWER:', 'ANSWER').includes('keyword.other.answer.winnow-prompt'));
  });

  it('tokenizes the paper prompt: one document slot, two delimiters, two options', () => {
    const prompt = [
      '###',
      '{{document}}',
      '###',
      '',
      'Does the previous paragraph demarcated within ### and ### contain informative signal for pre-training a large-language model?',
      '',
      'OPTIONS:',
      '- yes',
      '- no',
    ];
    const all = prompt.flatMap(tokenizeLine);
    const count = (scope: string) => all.filter(t => t.scopes.includes(scope)).length;
    assert.equal(count('variable.other.placeholder.document.winnow-prompt'), 1);
    assert.equal(count('keyword.control.delimiter.winnow-prompt'), 2);
    assert.equal(count('keyword.other.options.winnow-prompt'), 1);
    assert.equal(count('constant.language.answer.yes.winnow-prompt'), 1);
    assert.equal(count('constant.language.answer.no.winnow-prompt'), 1);
    assert.equal(count('invalid.illegal.unknown-placeholder.winnow-prompt'), 0);
  });
});
