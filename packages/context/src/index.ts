/**
 * `@deploytag/context`: who is deploying what, where. CI environment readers, environment kinds,
 * the naming rules for namespaces, releases, databases and image tags, and the typed
 * {@link DeployContext} every step works from. Everything here is pure: no I/O.
 *
 * @packageDocumentation
 */
export {
  readCiEnv,
  readCiEnvWithOrigins,
  repoNameFromRemoteUrl,
  resolveFacts,
  type CiFacts,
  type CiOrigins,
  type CiProvider,
  type CiReading,
  type Env,
  type FactFlags,
  type FactName,
  type GitFacts,
  type Origin,
  type ResolveFactsInput,
  type ResolvedFacts,
} from './ci.js';
export {
  DEFAULT_PREVIEW_PREFIXES,
  DEFAULT_STAGING_BRANCHES,
  NOT_DEPLOYABLE_EXIT_CODE,
  NotDeployableError,
  assertDeployable,
  classifyBranch,
  parseReleaseTag,
  type Classification,
  type ClassifyOptions,
  type DeployableKind,
  type NotDeployableErrorOptions,
  type ReleaseTag,
} from './kind.js';
export {
  DATABASE_NAME_MAX_LENGTH,
  DNS_LABEL_MAX_LENGTH,
  IMAGE_TAG_MAX_LENGTH,
  NAMESPACE_MAX_LENGTH,
  RELEASE_NAME_MAX_LENGTH,
  RESERVED_IMAGE_TAGS,
  RESERVED_NAMESPACES,
  SHARED_ENVIRONMENT_NAMES,
  databaseName,
  dnsLabel,
  imageTag,
  isDatabaseName,
  isDnsLabel,
  isImageTag,
  namespaceFor,
  namespaceName,
  releaseName,
  type DatabaseEngine,
  type DatabaseNameOptions,
  type DnsLabelOptions,
  type ImageTagOptions,
  type NamespaceForOptions,
} from './naming.js';
export {
  buildDeployContext,
  chartNameOf,
  parseSecretIds,
  type BaseImageRef,
  type CloudProvider,
  type DeployContext,
  type DeployContextField,
  type DeployContextInput,
  type ImageRefs,
} from './context.js';
export {
  CONFIG_ENV_NAMES,
  CONFIG_SECTIONS,
  assertValidConfig,
  attributeConfigError,
  configJsonSchema,
  formatConfigIssues,
  resolveDeployContext,
  validateConfig,
  type ConfigIssue,
  type ConfigSection,
  type ConfigSettings,
  type DeployConfig,
  type JsonSchema,
  type ResolveDeployContextInput,
  type ResolvedDeployContext,
  type ValidatedConfig,
} from './config.js';
export {
  CONFIG_FILE_NAMES,
  loadConfigFile,
  parseConfigText,
  type LoadConfigOptions,
  type LoadedConfig,
} from './config-file.js';
export {
  renderConfigYaml,
  substituteVariables,
  type RenderConfigYamlOptions,
  type RenderedYaml,
  type SubstituteOptions,
  type Substituted,
} from './substitute.js';
export { deployContextEnv, type ContextVariable } from './exports.js';
export { awsClientConfig, awsRegion, type AwsClientSettings, type AwsService } from './aws.js';
