/** The TypeScript SDK: a typed client, live watches, remote activity workers, the definition builder. */
export { WeftClient, WeftApiError, type ClientOptions, type StartRequest, type ListInstancesQuery, type CommandResult, type DeployResult, type DefinitionListItem, type InboxItem } from './client.js';
export { watch, type Watcher, type WatchOptions } from './watch.js';
export { Worker, type WorkerOptions } from './worker.js';
export { workflow, WorkflowBuilder } from '../model/builder.js';
