/**
 * Reports: self-contained HTML views of batches, diffs, replays and comparisons. One module per
 * view (batch-report, diff-report, replay-report, comparison-report) over shared pieces (layout, charts, components,
 * html escaping); the *-data modules assemble what a view shows from the stores' ports. The
 * renderers are pure: data in, one HTML string out, the same for the API and the CLI.
 */
export { assembleBatchReport, type BatchReportReader, type ReplayRef } from './batch-data.js';
export { renderBatchReport } from './batch-report.js';
export { renderComparisonReport, type ComparisonReportData } from './comparison-report.js';
export { renderDiffReport } from './diff-report.js';
export { renderReplayReport } from './replay-report.js';
export { assembleDiffReport, assembleReplayReport, type ReplayLookup } from './view-data.js';
export type { BatchReportData, DiffReportData, ReplayReportData, SnapshotFacts } from './model.js';
export { REPORT_TABLE_LIMIT } from './model.js';
