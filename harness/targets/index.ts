/** Targets: the target profile (declaration of the system under test) and the handle suites use. */
export * from './profile.ts';
export * from './target.ts';
export * from './preflight.ts';
export * from './system.ts';
