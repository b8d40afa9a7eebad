/** Schema detection and text extraction for every supported training-data shape. */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { detectSchema, extractText, getPath } from '../../src/core/jsonl';

test('each shape is detected, with its label and fields in first-seen order', () => {
  const cases: [Record<string, unknown>[], string, string, string[]][] = [
    [[{ text: 'a', meta: {} }], 'text', 'Text (text)', ['text', 'meta']],
    [[{ content: 'a' }], 'text', 'Text (content)', ['content']],
    [
      [{ instruction: 'i', input: '', output: 'o' }],
      'alpaca',
      'Alpaca (instruction/input/output)',
      ['instruction', 'input', 'output'],
    ],
    [
      [{ instruction: 'i', context: '', response: 'r', category: 'qa' }],
      'dolly',
      'Dolly (instruction/context/response)',
      ['instruction', 'context', 'response', 'category'],
    ],
    [
      [{ messages: [{ role: 'user', content: 'hi' }] }],
      'openai',
      'OpenAI chat (messages)',
      ['messages'],
    ],
    [
      [{ system: 's', messages: [] }],
      'openai',
      'OpenAI chat (messages, top-level system)',
      ['system', 'messages'],
    ],
    [
      [{ id: 'x', conversations: [{ from: 'human', value: 'hi' }] }],
      'sharegpt',
      'ShareGPT (conversations)',
      ['id', 'conversations'],
    ],
    [[{ a: 1 }, { b: 'x' }], 'unknown', 'Unknown (all string fields)', ['a', 'b']],
    [[], 'unknown', 'Unknown (all string fields)', []],
  ];
  for (const [sample, kind, label, fields] of cases) {
    assert.deepEqual(
      (({ kind: k, label: l, fields: f }) => ({ kind: k, label: l, fields: f }))(
        detectSchema(sample),
      ),
      { kind, label, fields },
    );
  }
});

test('the majority decides; rows of other shapes and unmatched rows do not flip it', () => {
  const sample = [
    { text: 'a' },
    { instruction: 'i', output: 'o' },
    { instruction: 'i', output: 'o' },
    { other: 1 },
    { other: 2 },
    { other: 3 },
  ];
  assert.equal(detectSchema(sample).kind, 'alpaca');
  // Ties go to the earlier rule (openai before text).
  assert.equal(detectSchema([{ text: 'a' }, { messages: [] }]).kind, 'openai');
});

test('extraction joins fields and chat turns as documented', () => {
  const alpaca = detectSchema([{ instruction: 'i', input: '', output: 'o' }]);
  assert.equal(extractText({ instruction: 'Add.', input: '', output: '4' }, alpaca), 'Add.\n\n4');
  assert.equal(
    extractText({ instruction: 'Add.', input: '2+2', output: '4' }, alpaca),
    'Add.\n\n2+2\n\n4',
  );

  const dolly = detectSchema([{ instruction: 'i', context: 'c', response: 'r' }]);
  assert.equal(
    extractText({ instruction: 'Q?', context: 'Ctx.', response: 'A.', category: 'qa' }, dolly),
    'Q?\n\nCtx.\n\nA.',
  );

  const openai = detectSchema([{ messages: [] }]);
  assert.equal(
    extractText(
      {
        system: 'Be brief.',
        messages: [
          { role: 'system', content: 'Sys.' },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'Part 1' },
              { type: 'image_url' },
              { type: 'text', text: 'Part 2' },
            ],
          },
          { role: 'assistant', content: null, tool_calls: [{ id: 't' }] },
          { role: 'tool', content: '42' },
          { role: 'assistant', content: 'It is 42.' },
        ],
      },
      openai,
    ),
    'system: Be brief.\n\nsystem: Sys.\n\nuser: Part 1\nPart 2\n\ntool: 42\n\nassistant: It is 42.',
  );

  const sharegpt = detectSchema([{ conversations: [] }]);
  assert.equal(
    extractText(
      {
        conversations: [
          { from: 'system', value: 'S' },
          { from: 'human', value: 'Hi' },
          { from: 'gpt', value: 'Hello' },
          { role: 'user', content: 'Mixed' },
        ],
      },
      sharegpt,
    ),
    'system: S\n\nuser: Hi\n\nassistant: Hello\n\nuser: Mixed',
  );

  const text = detectSchema([{ text: 't' }]);
  assert.equal(extractText({ text: 'Plain.', url: 'u' }, text), 'Plain.');
  const content = detectSchema([{ content: 'c' }]);
  assert.equal(extractText({ content: 'C.' }, content), 'C.');
});

test('rows that do not fit the detected schema fall back to all string fields', () => {
  const alpaca = detectSchema([{ instruction: 'i', output: 'o' }]);
  assert.equal(extractText({ title: 'T', n: 3, body: 'B', empty: '' }, alpaca), 'T\n\nB');
  const openai = detectSchema([{ messages: [] }]);
  assert.equal(extractText({ text: 'x' }, openai), 'x');
  assert.equal(extractText({ a: 'x', b: 'y' }, detectSchema([])), 'x\n\ny');
});

test('a field-path override reads nested values; non-strings become JSON', () => {
  const s = detectSchema([{ data: { text: 'x' } }], ' data.text ');
  assert.deepEqual([s.kind, s.label, s.field], ['custom', 'Field: data.text', 'data.text']);
  assert.equal(extractText({ data: { text: 'Nested.' } }, s), 'Nested.');
  assert.equal(extractText({ data: {} }, s), '');
  const idx = detectSchema([], 'messages[1].content');
  assert.equal(extractText({ messages: [{ content: 'a' }, { content: 'b' }] }, idx), 'b');
  const obj = detectSchema([], 'meta');
  assert.equal(extractText({ meta: { a: [1, 2] } }, obj), '{"a":[1,2]}');
  assert.equal(extractText({ meta: 3.5 }, obj), '3.5');
  assert.equal(getPath({ a: { b: 1 } }, 'a.__proto__'), undefined);
});

test('a template override fills placeholders, escapes and literal braces', () => {
  const s = detectSchema(
    [{ instruction: 'i' }],
    '{instruction}\\n{input}\\t{{literal}} {meta.score}',
  );
  assert.equal(s.kind, 'custom');
  assert.equal(s.template, '{instruction}\\n{input}\\t{{literal}} {meta.score}');
  assert.equal(
    extractText({ instruction: 'Do X.', input: 'data', meta: { score: 0.5 } }, s),
    'Do X.\ndata\t{literal} 0.5',
  );
  assert.equal(extractText({ instruction: 'Only.' }, s), 'Only.\n\t{literal} ');
  // An empty override is no override.
  assert.equal(detectSchema([{ text: 'a' }], '  ').kind, 'text');
});
