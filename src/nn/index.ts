export * from './linear';
export * from './norm';
export * from './activations';
export * from './attention';
export * from './rope';
