/**
 * Executors: how a recorded decision is re-executed for replay (DESIGN §5). Pure, in five parts:
 * the registered configuration, the ports, the errors, the reading of an answer, and the prompt of
 * a model executor. The adapters that do the I/O live in `functions/adapters/executors/`.
 */
export * from './executor-config.js';
export * from './executor-port.js';
export * from './executor-errors.js';
export * from './executor-answer.js';
export * from './executor-prompt.js';
