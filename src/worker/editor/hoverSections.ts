/**
 * Sections of the row hover contributed by services: ASK-LLM (probability, percentile, model,
 * prompt) from the scoring service, DENSITY (rank, score) from its service. Each section is a
 * Markdown block whose data is already escaped by its provider.
 */
import type { Dataset } from '../dataset/dataset';

/** What a section provider knows about the hovered row. */
export interface HoverContext {
  dataset: Dataset;
  /** 0-based row index. */
  index: number;
  /** The row's content hash (32 hex digits) as read for this hover. */
  hash: string;
  /** Whether the row parses as a JSON object. */
  parsed: boolean;
}

/** Returns a Markdown section for a row, or undefined to add nothing. */
export type HoverSectionProvider = (
  ctx: HoverContext,
) => string | undefined | Promise<string | undefined>;

/** The registered hover sections, shown in ascending `order`. */
export class HoverSections {
  private readonly entries: { order: number; provider: HoverSectionProvider }[] = [];

  /** Adds a section provider (ASK-LLM uses order 10; DENSITY should use 20). */
  register(order: number, provider: HoverSectionProvider): () => void {
    const entry = { order, provider };
    this.entries.push(entry);
    this.entries.sort((a, b) => a.order - b.order);
    return () => {
      const i = this.entries.indexOf(entry);
      if (i >= 0) this.entries.splice(i, 1);
    };
  }

  /** The sections for a row, in order; a failing provider is left out. */
  async render(ctx: HoverContext, onError: (err: unknown) => void): Promise<string[]> {
    const out: string[] = [];
    for (const { provider } of this.entries) {
      try {
        const s = await provider(ctx);
        if (s) out.push(s);
      } catch (err) {
        onError(err);
      }
    }
    return out;
  }
}
