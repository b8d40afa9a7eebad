/**
 * The CUDA route's files: the pinned sources, the verified download and install into a GPU
 * support folder, and the check for the system libraries the CUDA provider needs.
 */
export * from './sources';
export * from './download';
export * from './install';
export * from './sharedLibraries';
