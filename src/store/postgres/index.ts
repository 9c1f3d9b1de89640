/** The PostgreSQL store backend (issue 4): `openPostgresStore(url, options)`. See docs/operations.md. */
export { PostgresStore, openPostgresStore, claimTasksQuery, leaseDueTimersQuery, type PostgresStoreOptions } from './store.js';
export { loadMigrations, migrate, migrationsDir, MIGRATION_LOCK_KEY, type Migration } from './migrate.js';
