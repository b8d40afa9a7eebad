/**
 * ASK-LLM prompt templates (docs/askllm.md#prompt). A template is plain text with exactly
 * one `{{document}}` placeholder, the form users edit in `.winnow-prompt` files.
 */
import { createHash } from 'node:crypto';

/** The document placeholder in prompt templates. */
export const DOCUMENT_PLACEHOLDER = '{{document}}';

const QUESTION =
  'Does the previous paragraph demarcated within ### and ### contain informative signal for ' +
  'pre-training a large-language model? An informative datapoint should be well-formatted, ' +
  'contain some usable knowledge of the world, and strictly NOT have any harmful, racist, ' +
  'sexist, etc. content.';

/** A prompt template with a stable id and a human-readable name. */
export interface PromptTemplate {
  /** Stable id recorded with every score, e.g. `paper` or `file:<path>`. */
  readonly id: string;
  /** Name shown to users (hover, status). */
  readonly name: string;
  /** Template text with one `{{document}}` placeholder. */
  readonly text: string;
}

/**
 * The paper's prompt (Fig. 3) in nano-askllm's exact string form: `###\n{doc}\n###\n\n`,
 * the question on one line, then the FLAN `OPTIONS:` block with a trailing newline. Used for
 * encoder-decoder scorers such as Flan-T5.
 */
export const PAPER_PROMPT: PromptTemplate = {
  id: 'paper',
  name: 'ASK-LLM (paper)',
  text: `###\n${DOCUMENT_PLACEHOLDER}\n###\n\n${QUESTION}\n\nOPTIONS:\n- yes\n- no\n`,
};

/**
 * The decoder-only variant (§2.2): same prefix and question, ending `OPTIONS: yes/no\nANSWER:`
 * with no trailing newline. Chat models get it as the user message of their chat template,
 * with the generation prompt (§2.6).
 */
export const PAPER_PROMPT_DECODER: PromptTemplate = {
  id: 'paper-answer',
  name: 'ASK-LLM (paper, ANSWER: form)',
  text: `###\n${DOCUMENT_PLACEHOLDER}\n###\n\n${QUESTION}\n\nOPTIONS: yes/no\nANSWER:`,
};

/** The default template for a model kind. */
export function defaultPrompt(kind: 'seq2seq' | 'causal'): PromptTemplate {
  return kind === 'seq2seq' ? PAPER_PROMPT : PAPER_PROMPT_DECODER;
}

/**
 * Parses a user template (e.g. a `.winnow-prompt` file). Throws a clear error unless the text
 * holds exactly one `{{document}}` placeholder. A trailing newline added by editors is kept:
 * the text is used verbatim.
 */
export function parsePromptTemplate(text: string, id: string, name = id): PromptTemplate {
  const count = text.split(DOCUMENT_PLACEHOLDER).length - 1;
  if (count !== 1)
    throw new Error(
      `Prompt template "${name}" must contain the placeholder ${DOCUMENT_PLACEHOLDER} exactly once (found ${count}).`,
    );
  return { id, name, text };
}

/** Removes every `###` from a document so that the prompt's delimiters stay unambiguous. */
export function sanitizeDocument(document: string): string {
  return document.includes('###') ? document.split('###').join('') : document;
}

/** Fills the placeholder with an already sanitised document. */
export function renderPrompt(template: PromptTemplate, document: string): string {
  const i = template.text.indexOf(DOCUMENT_PLACEHOLDER);
  return (
    template.text.slice(0, i) + document + template.text.slice(i + DOCUMENT_PLACEHOLDER.length)
  );
}

/** Short SHA-256 hash of the template text (part of every score's cache key). */
export function promptHash(template: PromptTemplate): string {
  return createHash('sha256').update(template.text).digest('hex').slice(0, 16);
}
