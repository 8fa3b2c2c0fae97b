/** Correctness checking: client histories, the linearizability checker and the KV model. */
export { HistoryError, HistoryRecorder, eventsToOperations, type HistoryEvent, type InvokeEvent, type Operation, type ReturnEvent } from './history.ts';
export { checkLinearizable, type CheckBudget, type CheckResult, type Counterexample, type Model } from './linearizability.ts';
export { checkKvHistory, describeKv, kvModel, type KvModelOptions, type KvModelState } from './kv-model.ts';
