/**
 * Activities of `deployment.yaml`: the seed's system deployment (manifest, plan, checks,
 * backup, per-step deployment, validation, rollback) against a simulated platform.
 *
 * `deploy.step` dispatches on `step.step_type` like the seed's `execute_deployment_step`:
 * provision_infrastructure (alias provision), deploy_service, configure_service,
 * migrate_database (alias migrate_db) and run_tests, each as a sub-task named
 * `<prefix>_<step id>`. An unknown type fails with the non-retryable `unsupported_step_type`.
 *
 * Failure injection through the workflow input `failAt` (a string or a list):
 *   fetch_manifest | backup | rollback   → that activity fails (non-retryable)
 *   validate_plan                         → the plan is reported invalid
 *   pre_check                             → the environment is reported not ready
 *   post_validation                       → post-deployment validation reports an issue
 *   step:<step id>                        → that deployment step fails (e.g. step:deploy_api)
 */
import { ActivityFailure, type ActivityRegistry } from '../src/runtime/activity.js';
import { failActivity, failureRequested, isRecord, sleep, stableHash } from './support/simulate.js';

export interface Component {
  id: string;
  /** infrastructure | database | service | tests */
  type: string;
  /** Forces the step type the plan uses for this component (e.g. to try an unsupported one). */
  step_type?: string;
  params?: Record<string, unknown>;
}

export interface Manifest {
  application: string;
  version: string;
  environment?: string;
  components: Component[];
}

export interface DeploymentStep {
  id: string;
  step_type: string;
  params: Record<string, unknown>;
}

export interface DeploymentPlan {
  deployment_id: string;
  steps: DeploymentStep[];
  /** Indices into `steps` of steps that may run together; groups run in order. */
  parallel_groups: number[][];
  total_steps: number;
}

/** The manifest the (simulated) release registry returns for an application version. */
export function defaultManifest(application: string, version: string, environment: string): Manifest {
  return {
    application,
    version,
    environment,
    components: [
      { id: 'network', type: 'infrastructure', params: { vpc: `${application}-${environment}`, subnets: 2 } },
      { id: 'db', type: 'database', params: { engine: 'postgres', migrations: `${version}` } },
      { id: 'api', type: 'service', params: { image: `${application}/api:${version}`, replicas: 2 } },
      { id: 'web', type: 'service', params: { image: `${application}/web:${version}`, replicas: 2 } },
    ],
  };
}

/** Turns a manifest into ordered steps and the groups that may run in parallel. */
export function createPlan(deploymentId: string, manifest: Manifest): DeploymentPlan {
  const groups: DeploymentStep[][] = [[], [], [], []];
  for (const c of manifest.components) {
    const params = { component: c.id, ...(c.params ?? {}) };
    if (c.step_type) groups[1].push({ id: `${c.step_type}_${c.id}`, step_type: c.step_type, params });
    else if (c.type === 'infrastructure') groups[0].push({ id: `provision_${c.id}`, step_type: 'provision_infrastructure', params });
    else if (c.type === 'database') groups[1].push({ id: `migrate_${c.id}`, step_type: 'migrate_database', params });
    else if (c.type === 'tests') groups[3].push({ id: `test_${c.id}`, step_type: 'run_tests', params });
    else {
      groups[1].push({ id: `deploy_${c.id}`, step_type: 'deploy_service', params });
      groups[2].push({ id: `configure_${c.id}`, step_type: 'configure_service', params: { ...params, service_id: c.id } });
    }
  }
  if (groups[3].length === 0) groups[3].push({ id: 'smoke_tests', step_type: 'run_tests', params: { suite: 'smoke' } });
  const steps: DeploymentStep[] = [];
  const parallel_groups: number[][] = [];
  for (const group of groups) {
    if (group.length === 0) continue;
    parallel_groups.push(group.map((s) => steps.push(s) - 1));
  }
  return { deployment_id: deploymentId, steps, parallel_groups, total_steps: steps.length };
}

/** Problems that make a plan unusable (empty, duplicate step ids, steps without a type). */
export function planProblems(plan: unknown): string[] {
  if (!isRecord(plan) || !Array.isArray(plan.steps)) return ['the plan has no steps'];
  const problems: string[] = [];
  if (plan.steps.length === 0) problems.push('the plan has no steps');
  const seen = new Set<string>();
  for (const s of plan.steps as DeploymentStep[]) {
    if (typeof s?.id !== 'string' || typeof s.step_type !== 'string') problems.push(`a step lacks an id or a step_type`);
    else if (seen.has(s.id)) problems.push(`step id "${s.id}" appears twice`);
    else seen.add(s.id);
  }
  return problems;
}

const STEP_TASKS: Record<string, string> = {
  provision_infrastructure: 'provision',
  provision: 'provision',
  deploy_service: 'deploy_service',
  configure_service: 'configure_service',
  migrate_database: 'migrate_db',
  migrate_db: 'migrate_db',
  run_tests: 'run_tests',
};

export const SUPPORTED_STEP_TYPES = Object.keys(STEP_TASKS);

export interface StepResult {
  step_id: string;
  step_type: string;
  task: string;
  status: 'success' | 'failed';
  error?: string;
  details?: Record<string, unknown>;
}

/**
 * Runs one deployment step: the seed's dispatch on `step_type`. Throws `unsupported_step_type`
 * (non-retryable) for unknown types and `step_failed` when the run asked for this step to fail.
 */
export async function dispatchDeploymentStep(
  step: DeploymentStep,
  env: { deploymentId: string; environment: string; failAt?: unknown; signal?: AbortSignal },
): Promise<StepResult> {
  const prefix = STEP_TASKS[step?.step_type];
  if (!prefix) {
    throw new ActivityFailure('unsupported_step_type', `UnsupportedStepType: ${String(step?.step_type)} (step ${step?.id})`, { nonRetryable: true });
  }
  const task = `${prefix}_${step.id}`;
  await sleep(5 + (stableHash(step.id) % 10), env.signal);
  if (failureRequested(env.failAt, `step:${step.id}`)) {
    throw new ActivityFailure('step_failed', `${task} failed in ${env.environment} (injected)`, { nonRetryable: true, details: { step_id: step.id, task } });
  }
  const details: Record<string, unknown> = {};
  switch (prefix) {
    case 'provision':
      details.resources = [`${step.params.component ?? step.id}-${env.environment}`];
      break;
    case 'deploy_service':
      details.image = step.params.image ?? null;
      details.replicas = step.params.replicas ?? 1;
      break;
    case 'configure_service':
      details.service_id = step.params.service_id ?? '';
      break;
    case 'migrate_db':
      details.migrations_applied = 1 + (stableHash(`${env.deploymentId}:${step.id}`) % 5);
      break;
    case 'run_tests':
      details.passed = 12;
      details.failed = 0;
      break;
  }
  return { step_id: step.id, step_type: step.step_type, task, status: 'success', details };
}

function required(value: unknown, name: string): string {
  if (typeof value !== 'string' || value === '') throw new ActivityFailure('invalid_input', `${name} is required`, { nonRetryable: true });
  return value;
}

export default function register(registry: ActivityRegistry): void {
  registry.register('workflow.fail', failActivity);

  registry.register('deploy.fetch_manifest', async (input: { application?: string; version?: string; environment?: string; failAt?: unknown }, ctx) => {
    const application = required(input?.application, 'application');
    const version = required(input.version, 'version');
    await sleep(10, ctx.signal);
    if (failureRequested(input.failAt, 'fetch_manifest')) {
      throw new ActivityFailure('manifest_not_found', `no manifest for ${application}@${version} (injected)`, { nonRetryable: true });
    }
    return defaultManifest(application, version, input.environment ?? 'staging');
  });

  registry.register('deploy.create_plan', async (input: { deployment_id?: string; manifest?: Manifest; environment?: string; constraints?: unknown }, ctx) => {
    const id = required(input?.deployment_id, 'deployment_id');
    if (!isRecord(input.manifest) || !Array.isArray(input.manifest.components)) {
      throw new ActivityFailure('invalid_manifest', 'the manifest has no components', { nonRetryable: true });
    }
    await sleep(5, ctx.signal);
    const plan = createPlan(id, input.manifest);
    ctx.log('Deployment plan created', { deployment_id: id, steps_count: plan.total_steps });
    return plan;
  });

  registry.register('deploy.validate_plan', async (input: { plan?: unknown; failAt?: unknown }, ctx) => {
    await sleep(5, ctx.signal);
    const errors = planProblems(input?.plan);
    if (failureRequested(input?.failAt, 'validate_plan')) errors.push('plan exceeds the environment quota (injected)');
    return { is_valid: errors.length === 0, errors };
  });

  registry.register('deploy.pre_check', async (input: { environment?: string; plan?: unknown; failAt?: unknown }, ctx) => {
    await sleep(5, ctx.signal);
    const issues = failureRequested(input?.failAt, 'pre_check') ? [`${input.environment ?? 'environment'} has an open incident (injected)`] : [];
    return { is_ready: issues.length === 0, issues };
  });

  registry.register('deploy.backup', async (input: { deployment_id?: string; environment?: string; components?: unknown; failAt?: unknown }, ctx) => {
    const id = required(input?.deployment_id, 'deployment_id');
    const environment = input.environment ?? 'staging';
    await sleep(15, ctx.signal);
    if (failureRequested(input.failAt, 'backup')) {
      throw new ActivityFailure('backup_failed', `snapshot of ${environment} failed (injected)`, { nonRetryable: true });
    }
    const count = Array.isArray(input.components) ? input.components.length : 0;
    return { backup_id: `BKP-${id}`, backup_location: `s3://weft-backups/${environment}/${id}`, components: count };
  });

  registry.register('deploy.step', async (input: { deployment_id?: string; environment?: string; step?: DeploymentStep; continue_on_error?: boolean; failAt?: unknown }, ctx) => {
    const deploymentId = required(input?.deployment_id, 'deployment_id');
    if (!isRecord(input.step)) throw new ActivityFailure('invalid_input', 'step is required', { nonRetryable: true });
    const step = input.step as unknown as DeploymentStep;
    try {
      const result = await dispatchDeploymentStep(step, { deploymentId, environment: input.environment ?? 'staging', failAt: input.failAt, signal: ctx.signal });
      ctx.log(`${result.task} succeeded`);
      return result;
    } catch (err) {
      // With continue_on_error the failure is recorded in the result and the deployment goes on.
      if (input.continue_on_error && err instanceof ActivityFailure && err.code !== 'cancelled') {
        ctx.log(`${step.id} failed, continuing: ${err.message}`, { level: 'warn' });
        return { step_id: step.id, step_type: step.step_type, task: `${STEP_TASKS[step.step_type] ?? step.step_type}_${step.id}`, status: 'failed', error: err.message };
      }
      throw err;
    }
  });

  registry.register('deploy.post_validate', async (input: { deployment_id?: string; components?: unknown; failAt?: unknown }, ctx) => {
    await sleep(10, ctx.signal);
    const issues = failureRequested(input?.failAt, 'post_validation') ? ['health check of api returned 503 (injected)'] : [];
    return { is_valid: issues.length === 0, issues };
  });

  registry.register('deploy.rollback', async (input: { deployment_id?: string; environment?: string; backup_id?: string; backup_location?: string; failAt?: unknown }, ctx) => {
    // The seed reads both from the workflow state and gives up when either is missing.
    if (!input?.backup_id) throw new ActivityFailure('rollback_failed', 'RollbackFailed: No backup ID found', { nonRetryable: true });
    if (!input.backup_location) throw new ActivityFailure('rollback_failed', 'RollbackFailed: No backup location found', { nonRetryable: true });
    await sleep(15, ctx.signal);
    if (failureRequested(input.failAt, 'rollback')) {
      throw new ActivityFailure('rollback_failed', `RollbackFailed: restore from ${input.backup_location} failed (injected)`, { nonRetryable: true });
    }
    ctx.log('Rollback completed successfully', { deployment_id: input.deployment_id, backup_id: input.backup_id });
    return { rolled_back: true, backup_id: input.backup_id, restored_from: input.backup_location };
  });
}
