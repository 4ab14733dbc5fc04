import type { CliCommand } from '../command.js';
import { authCommand } from './auth.js';
import { awsSecretsCommand } from './aws-secrets.js';
import { configYamlCommand } from './config-yaml.js';
import { setEnvCommand } from './set-env.js';
import { bundle } from './bundle.js';
import { build, buildDockerImage } from './build.js';
import { shouldBuildBase } from './should-build-base.js';
import { dbAddExtensions } from './db-add-extensions.js';
import { dbAlterOwner } from './db-alter-owner.js';
import { dbExists } from './db-exists.js';
import { dbWait } from './db-wait.js';
import { initDb } from './init-db.js';
import { releaseCommand } from './release.js';
import { deployCommand } from './deploy.js';
import { applyRegistrySecretCommand } from './apply-registry-secret.js';
import { configK8sCommand } from './config-k8s.js';
import { dbConnectCommand } from './db-connect.js';
import { parseHelmVarsCommand } from './parse-helm-vars.js';
import { dnsCommand } from './dns.js';
import { pipelineCommand } from './pipeline.js';
import { cleanupCommand } from './cleanup.js';
import { completionCommand } from './completion.js';

/**
 * Every `deploytag` subcommand, in the order `--help` lists them. A command module imports no
 * library at top level (only inside `run`), so this list is cheap to load.
 */
export const commands: readonly CliCommand<never>[] = [
  setEnvCommand,
  awsSecretsCommand,
  authCommand,
  configYamlCommand,
  dbWait,
  initDb,
  dbExists,
  dbAlterOwner,
  dbAddExtensions,
  bundle,
  shouldBuildBase,
  build,
  buildDockerImage,
  releaseCommand,
  deployCommand,
  applyRegistrySecretCommand,
  configK8sCommand,
  dbConnectCommand,
  parseHelmVarsCommand,
  dnsCommand,
  pipelineCommand,
  cleanupCommand,
  completionCommand,
];
