// The manager's metrics: registry factory and label bounding.
export { createManagerMetrics } from './manager-metrics.js';
export type { LagRow, ManagerMetrics, ManagerMetricsOptions, ScrapeSources } from './manager-metrics.js';
export { LabelCap, OTHER_LABEL } from './label-cap.js';
