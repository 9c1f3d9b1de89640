/**
 * Activities of `ml-training.yaml`: the seed's ML training pipeline (prepare, train, evaluate,
 * optimise, deploy, register) against a simulated training cluster and model registry.
 * Results are deterministic functions of the inputs; `train` heartbeats once per epoch and
 * resumes from the last heartbeat on a retry, as a long-running activity should.
 *
 * Simulation knobs in the workflow input: `simulated_accuracy` (the evaluated accuracy,
 * default from the algorithm: 0.86 for gradient_boosting), and `failAt`
 * (prepare | train | evaluate | optimize | deploy | register; non-retryable failures).
 */
import { ActivityFailure, type ActivityRegistry } from '../src/runtime/activity.js';
import { failActivity, failureRequested, isRecord, sleep, stableHash } from './support/simulate.js';

/** Base accuracy per algorithm; anything else gets 0.75. */
export const ALGORITHM_ACCURACY: Record<string, number> = {
  gradient_boosting: 0.86,
  random_forest: 0.82,
  logistic_regression: 0.74,
  neural_network: 0.9,
  naive_bayes: 0.64,
};

const round = (n: number, digits = 4) => Math.round(n * 10 ** digits) / 10 ** digits;

export function splitDataset(datasetId: string, testRatio = 0.2, validationRatio = 0.1) {
  if (!(testRatio >= 0 && validationRatio >= 0 && testRatio + validationRatio < 1)) {
    throw new ActivityFailure('invalid_input', 'test_split_ratio + validation_split_ratio must be below 1', { nonRetryable: true });
  }
  const total = 10_000 + (stableHash(datasetId) % 5_000);
  const test = Math.round(total * testRatio);
  const validation = Math.round(total * validationRatio);
  return { total_samples: total, train_samples: total - test - validation, test_samples: test, validation_samples: validation };
}

/** The epoch at which early stopping ends training (validation loss stops improving). */
export function trainingEpochs(maxEpochs: number, patience: number): number {
  const plateau = 6; // the simulated validation loss stops improving after epoch 6
  return Math.max(1, Math.min(maxEpochs, plateau + patience));
}

export function evaluationMetrics(algorithm: string, simulatedAccuracy?: number): Record<string, number> {
  const accuracy = typeof simulatedAccuracy === 'number' ? simulatedAccuracy : ALGORITHM_ACCURACY[algorithm] ?? 0.75;
  const precision = round(Math.min(1, accuracy + 0.02));
  const recall = round(Math.max(0, accuracy - 0.03));
  const f1 = round((2 * precision * recall) / (precision + recall || 1));
  return { accuracy: round(accuracy), precision, recall, f1 };
}

/** Size reduction by optimisation level: 1 → 50 % (the seed halves the size), 2 → 62.5 %, 3 → 75 %. */
export function optimisation(level: number, sizeBytes: number) {
  const reduction = level >= 3 ? 75 : level === 2 ? 62.5 : 50;
  return {
    size_reduction_percentage: reduction,
    inference_speedup: round(1 + reduction / 50, 2),
    optimized_size_bytes: Math.round(sizeBytes * (1 - reduction / 100)),
  };
}

function injected(failAt: unknown, point: string, code: string, message: string): void {
  if (failureRequested(failAt, point)) throw new ActivityFailure(code, `${message} (injected)`, { nonRetryable: true });
}

function requireString(value: unknown, name: string): string {
  if (typeof value !== 'string' || value === '') throw new ActivityFailure('invalid_input', `${name} is required`, { nonRetryable: true });
  return value;
}

export default function register(registry: ActivityRegistry): void {
  registry.register('workflow.fail', failActivity);

  registry.register('ml.prepare_dataset', async (input: { dataset_id?: string; preprocessing_steps?: string[]; test_split_ratio?: number; validation_split_ratio?: number; failAt?: unknown }, ctx) => {
    const datasetId = requireString(input?.dataset_id, 'dataset_id');
    await sleep(10, ctx.signal);
    injected(input.failAt, 'prepare', 'dataset_unavailable', `dataset ${datasetId} could not be read`);
    const split = splitDataset(datasetId, input.test_split_ratio ?? 0.2, input.validation_split_ratio ?? 0.1);
    return { dataset_id: datasetId, ...split, preprocessing_steps: input.preprocessing_steps ?? [], dataset_path: `s3://weft-ml/datasets/${datasetId}/prepared` };
  });

  registry.register('ml.train', async (input: { model_id?: string; algorithm?: string; hyperparameters?: unknown; max_epochs?: number; early_stopping_patience?: number; failAt?: unknown }, ctx) => {
    const modelId = requireString(input?.model_id, 'model_id');
    const algorithm = input.algorithm ?? 'gradient_boosting';
    const epochs = trainingEpochs(input.max_epochs ?? 20, input.early_stopping_patience ?? 3);
    injected(input.failAt, 'train', 'training_diverged', `training of ${modelId} diverged`);
    // Resume after the last epoch a previous attempt reported.
    const last = isRecord(ctx.lastHeartbeat) && typeof ctx.lastHeartbeat.epoch === 'number' ? ctx.lastHeartbeat.epoch : 0;
    let trainLoss = 0.9;
    for (let epoch = last + 1; epoch <= epochs; epoch++) {
      await sleep(2, ctx.signal);
      trainLoss = round(0.9 / (1 + epoch * 0.35));
      ctx.heartbeat({ epoch, train_loss: trainLoss });
    }
    return {
      model_id: modelId,
      algorithm,
      epochs,
      train_loss: round(0.9 / (1 + epochs * 0.35)),
      validation_loss: round(0.95 / (1 + Math.min(epochs, 6) * 0.3)),
      training_time_seconds: epochs * 42,
      model_path: `s3://weft-ml/models/${modelId}/${algorithm}.bin`,
    };
  });

  registry.register('ml.evaluate', async (input: { model_id?: string; model_path?: string; algorithm?: string; evaluation_metrics?: string[]; simulated_accuracy?: number; failAt?: unknown }, ctx) => {
    const modelId = requireString(input?.model_id, 'model_id');
    await sleep(10, ctx.signal);
    injected(input.failAt, 'evaluate', 'evaluation_failed', `evaluation of ${modelId} failed`);
    let metrics = evaluationMetrics(input.algorithm ?? 'gradient_boosting', input.simulated_accuracy);
    if (Array.isArray(input.evaluation_metrics) && input.evaluation_metrics.length > 0) {
      metrics = Object.fromEntries(Object.entries(metrics).filter(([k]) => input.evaluation_metrics!.includes(k)));
    }
    return { test_loss: round(1 - (input.simulated_accuracy ?? ALGORITHM_ACCURACY[input.algorithm ?? ''] ?? 0.75) * 0.8), metrics, model_size_bytes: 48_000_000 + (stableHash(modelId) % 1_000_000) };
  });

  registry.register('ml.optimize', async (input: { model_id?: string; model_path?: string; model_size_bytes?: number; optimization_level?: number; target_platform?: string; failAt?: unknown }, ctx) => {
    const modelId = requireString(input?.model_id, 'model_id');
    const modelPath = requireString(input.model_path, 'model_path');
    await sleep(10, ctx.signal);
    injected(input.failAt, 'optimize', 'optimization_failed', `optimisation of ${modelId} failed`);
    const level = input.optimization_level ?? 1;
    return {
      ...optimisation(level, input.model_size_bytes ?? 0),
      optimized_model_path: modelPath.replace(/\.bin$/, `.opt${level}.${input.target_platform ?? 'cpu'}.bin`),
    };
  });

  registry.register('ml.deploy', async (input: { model_id?: string; model_path?: string; deployment_target?: string; version?: string; failAt?: unknown }, ctx) => {
    const modelId = requireString(input?.model_id, 'model_id');
    await sleep(10, ctx.signal);
    injected(input.failAt, 'deploy', 'deployment_failed', `deployment of ${modelId} failed`);
    const target = input.deployment_target ?? 'kubernetes';
    const version = input.version ?? '1.0.0';
    const deploymentId = `MDEP-${stableHash(`${modelId}@${version}`).toString(16).toUpperCase()}`;
    return {
      deployment_id: deploymentId,
      endpoint: `https://models.example.com/${modelId}/v${version}/predict`,
      dashboard_url: `https://ml.example.com/deployments/${deploymentId}`,
      target,
    };
  });

  registry.register('ml.register', async (input: { model_id?: string; model_path?: string; version?: string; metrics?: unknown; tags?: string[]; training_id?: string; failAt?: unknown }, ctx) => {
    const modelId = requireString(input?.model_id, 'model_id');
    await sleep(5, ctx.signal);
    injected(input.failAt, 'register', 'registry_unavailable', 'model registry unavailable');
    const version = input.version ?? '1.0.0';
    return { registry_id: `REG-${modelId}-${version}`, version, training_id: input.training_id ?? null };
  });
}
