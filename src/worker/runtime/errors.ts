/** A user-facing loading error (missing folder, missing files, offline cache miss, …). */
export class ModelLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelLoadError';
  }
}
