/**
 * Typed store failures. A commit that throws one of these wrote nothing; each names the instance
 * at fault so the runtime can retry the rest of its batch.
 */
export type StoreErrorCode = 'seq_conflict' | 'duplicate_instance' | 'lease_lost' | 'definition_conflict' | 'not_found';

export class StoreError extends Error {
  constructor(readonly code: StoreErrorCode, message: string) {
    super(message);
    this.name = 'StoreError';
  }
}

/** Another writer appended to the instance first (optimistic concurrency). */
export class SeqConflictError extends StoreError {
  constructor(readonly instanceId: string, readonly expectedSeq: number, readonly actualSeq: number | undefined) {
    super('seq_conflict', `instance ${instanceId}: expected seq ${expectedSeq}, found ${actualSeq ?? 'no instance'}`);
    this.name = 'SeqConflictError';
  }
}

/** The instance id or idempotency key is taken. `existingId` is the instance holding it. */
export class DuplicateInstanceError extends StoreError {
  constructor(readonly instanceId: string, readonly existingId: string, readonly idempotencyKey?: string) {
    super('duplicate_instance', idempotencyKey !== undefined
      ? `idempotency key "${idempotencyKey}" already started instance ${existingId}`
      : `instance ${instanceId} already exists`);
    this.name = 'DuplicateInstanceError';
  }
}

/** The task is no longer claimed with this token (lease expired and re-claimed, or the task is gone). */
export class LeaseLostError extends StoreError {
  constructor(readonly instanceId: string, readonly taskId: string) {
    super('lease_lost', `instance ${instanceId}: lease on task ${taskId} is no longer held`);
    this.name = 'LeaseLostError';
  }
}

export class DefinitionConflictError extends StoreError {
  constructor(readonly id: string, readonly version: string) {
    super('definition_conflict', `definition ${id}@${version} is already deployed with different content; bump the version`);
    this.name = 'DefinitionConflictError';
  }
}

export class InstanceNotFoundError extends StoreError {
  constructor(readonly instanceId: string) {
    super('not_found', `instance ${instanceId} not found`);
    this.name = 'InstanceNotFoundError';
  }
}
