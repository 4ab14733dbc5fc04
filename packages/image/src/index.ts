/**
 * `@deploytag/image`: base and app images built only when their inputs changed. The build
 * context packed with `tar-fs` under Docker's `.dockerignore` rules, a Docker Engine API client,
 * an OCI distribution (registry) client with basic and bearer auth and retries, registry
 * credentials (explicit, Docker config, ECR, GCP service account), and the pure plans that decide
 * what to build, re-tag or leave alone.
 *
 * @packageDocumentation
 */
export { ImageError, ImageErrorCodes } from './errors.js';
export {
  createContextFilter,
  parseDockerignore,
  readContextFilter,
  type ContextFilter,
  type ContextFilterOptions,
} from './ignore.js';
export { packContext, type PackContextOptions } from './pack.js';
export {
  contextInputsOf,
  parseDockerfile,
  referencedVariables,
  substituteVariables,
  type ContextInputs,
  type DockerfileInstruction,
} from './dockerfile.js';
export {
  EngineClient,
  engineConnectionFromEnv,
  registryHostOf,
  splitReference,
  type EngineBuildOptions,
  type EngineBuildResult,
  type EngineConnection,
  type ImageHistoryEntry,
  type RegistryAuth,
} from './engine.js';
export {
  IDENTITY_TOKEN_USER,
  MANIFEST_ACCEPT,
  RegistryClient,
  isIdentityToken,
  parseAuthChallenge,
  type AuthChallenge,
  type Manifest,
  type RegistryClientOptions,
  type RegistryCredential,
} from './registry.js';
export {
  ENGINE_RETRY,
  REGISTRY_API_RETRY,
  isTransientRegistryFailure,
  type RetryOptions,
} from './retry.js';
export {
  GCP_REGISTRY_SCOPE,
  GOOGLE_TOKEN_URI,
  dockerConfigCredentials,
  ecrLogin,
  gcpLogin,
  parseServiceAccountKey,
  serviceAccountJwt,
  type EcrLogin,
  type GcpLoginOptions,
  type ServiceAccountKey,
} from './credentials.js';
export {
  CONTENT_TAG_PREFIX,
  SECRET_NAME,
  checkBuildArgs,
  chooseBaseTag,
  contentTag,
  isSecretName,
  parseBuildArgs,
  planAppImage,
  planBaseImage,
  renderDockerfile,
  type AppImageFacts,
  type BaseImageFacts,
  type BaseTagFacts,
  type CheckedBuildArgs,
  type ContentTagInputs,
  type ExistingTags,
  type ImageAction,
  type ImagePlan,
  type OriginalTags,
  type RenderDockerfileInput,
  type RenderedDockerfile,
} from './plan.js';
export {
  applyBuild,
  describeBuildPlan,
  prepareBaseImage,
  prepareBuild,
  runBaseHook,
  type BuildClients,
  type BuildOptions,
  type BuildPlan,
  type BuildResult,
  type DigestFn,
} from './build.js';
export {
  clientsFromEnv,
  registryCredentialsFromEnv,
  type ClientsFromEnvOptions,
  type CredentialSourceOptions,
} from './clients.js';
export { buildOptionsFromEnv, type BuildOptionsFromEnvOptions } from './env.js';
