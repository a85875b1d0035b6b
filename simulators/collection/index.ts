/**
 * Collection scenarios, their plan and the world behind concentrators (issue 12): README.md.
 */
export * from './scenario.ts';
export * from './plan.ts';
export * from './world.ts';
