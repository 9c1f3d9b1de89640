/** The storage layer: the backend-neutral interface, its typed errors, and the SQLite backend. */
export * from './types.js';
export * from './errors.js';
export { SqliteStore, openSqliteStore, type SqliteStoreOptions } from './sqlite/store.js';
// The conformance suite (`./conformance.js`) imports node:test; test files import it directly.
