/**
 * `@deploytag/secrets`: environment variables from AWS Secrets Manager and dotenv files. Fetch
 * several ids concurrently, parse `KEY=VALUE` lines or JSON objects, merge them in order (later
 * wins), apply the original's precedence, run the project's reset hook, and render the result
 * safely as shell `export` lines, dotenv, JSON or a Kubernetes Secret. Values are `Secret`s end
 * to end. Also the `auth` checks: AWS STS identity and the GCP service-account key.
 *
 * @packageDocumentation
 */
export { SecretsError, SecretsErrorCodes } from './errors.js';
export {
  checkEntry,
  isEnvName,
  parseEnvLines,
  parseJsonObject,
  parseSecretBinary,
  parseSecretText,
  type SecretEntry,
} from './parse.js';
export {
  applyPrecedence,
  mergeSecrets,
  type Collision,
  type EffectiveSecrets,
  type FetchedSecret,
  type MergedSecrets,
  type PrecedenceOptions,
  type ResolvedValue,
  type ValueOrigin,
} from './merge.js';
export {
  kubernetesSecretManifest,
  renderDotenv,
  renderJson,
  renderKubernetesSecret,
  renderShell,
  shellQuote,
  type EnvValues,
  type KubernetesSecretManifest,
  type KubernetesSecretMeta,
  type RenderShellOptions,
} from './render.js';
export {
  createDotenvSource,
  type DotenvSourceOptions,
  type FetchOptions,
  type SecretsSource,
} from './source.js';
export {
  createAwsSecretsSource,
  createSecretsManagerClient,
  createStsClient,
  type AwsSecretsSourceOptions,
} from './aws.js';
export {
  DEFAULT_RESET_HOOK,
  runResetHook,
  type ResetHookOptions,
  type ResetHookResult,
} from './hook.js';
export { loadSecrets, type LoadSecretsOptions, type LoadedSecrets } from './load.js';
export {
  assertAwsVariables,
  missingAwsVariables,
  readGcpServiceKey,
  verifyAwsCredentials,
  writeGcpKeyFile,
  type AwsIdentity,
  type GcpServiceKey,
} from './auth.js';
export {
  computeSetEnv,
  explainSetEnv,
  type SetEnvOptions,
  type SetEnvResult,
  type SetEnvVariable,
} from './set-env.js';
