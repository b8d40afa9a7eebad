/**
 * Judging the judge (docs/judge.md): calibration of ASK-LLM against the user's keep/drop
 * labels, judge A/B comparison, the distilled scorer and judge health. Pure functions over
 * arrays, shared by the dataset view, the worker and the CLI.
 */
export * from './labelled';
export * from './curves';
export * from './bootstrap';
export * from './calibration';
export * from './calibrateFiles';
export * from './correlation';
export * from './compare';
export * from './compareFiles';
export * from './distill';
export * from './distillStore';
export * from './health';
