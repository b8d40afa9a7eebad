/** Every command, in the order `winnow --help` lists them. */
import type { Command } from '../command';
import { densityCommand } from './density';
import { embedCommand } from './embed';
import { exportCommand } from './export';
import { infoCommand } from './info';
import { lspCommand } from './lsp';
import { mergeCommand } from './merge';
import { sampleCommand } from './sample';
import { scoreCommand } from './score';

export const COMMANDS: readonly Command[] = [
  scoreCommand,
  embedCommand,
  densityCommand,
  sampleCommand,
  exportCommand,
  mergeCommand,
  infoCommand,
  lspCommand,
];
