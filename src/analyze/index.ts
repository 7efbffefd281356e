/**
 * The paper's analyses (Fig. 1, Fig. 2, Table 2, Appendix D, a proxy for Fig. 5) as pure functions over
 * the vision tower's outputs; the `analyze` commands (src/cli/analyze.ts) draw and write them.
 * Read in data-flow order: layers → similarity → tokens → tiles → budgets.
 */
export * from './layers';
export * from './similarity';
export * from './tokens';
export * from './tiles';
export * from './budgets';
