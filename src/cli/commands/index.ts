/** Every command, in the order `winnow --help` lists them. */
import type { Command } from '../command';
import { calibrateCommand } from './calibrate';
import { compareCommand } from './compare';
import { densityCommand } from './density';
import { distillCommand } from './distill';
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
  calibrateCommand,
  compareCommand,
  distillCommand,
  infoCommand,
  lspCommand,
];
