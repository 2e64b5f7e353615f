/** Architecture search: strategies (SWAP-NAS, PRE-NAS, hybrid, random), proxies, evaluators, journal, report. */
export * from './types.js';
export { RandomForest, type ForestOptions } from './forest.js';
export { stratifiedSample, type StratifiedOptions } from './stratified.js';
export {
  SEARCH_PROXY_DEFAULTS,
  SwapProxy,
  CachedProxy,
  type SwapProxyOptions,
  type ScoreSource,
  type ProxyStats,
} from './proxy.js';
export {
  TableEvaluator,
  CommandEvaluator,
  parseAccuracy,
  shellQuote,
  type CommandEvaluatorOptions,
} from './evaluator.js';
export {
  JOURNAL_VERSION,
  JournalWriter,
  readJournal,
  canonicalJson,
  optionsHash,
  type JournalHeader,
  type JournalRecord,
  type JournalContents,
  type ProxyRecord,
  type QueryRecord,
  type BestRecord,
  type DoneRecord,
} from './journal.js';
export { nb201Topology, searchSpace, spaceNames, type SearchSpaceEntry } from './spaces.js';
export * from './strategies/index.js';
export {
  runSearch,
  resolveRegulariser,
  DEFAULT_BUDGETS,
  type SearchOptions,
  type SearchDeps,
  type SearchReport,
  type SearchProxyOptions,
  type EvaluatorChoice,
  type TrajectoryPoint,
} from './run.js';
export { formatSummary, plotSpec, renderPlotSvg } from './report.js';
