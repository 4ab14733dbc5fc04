/**
 * Git facts and operations without a git binary (isomorphic-git): the checkout's branch, commit
 * and remote; tags and their SemVer order; content digests of paths from git's own object ids;
 * the last commit touching a path; commits between two refs; whether one commit is an ancestor of
 * another; and, over smart HTTP with a token, the remote's branches and tags and pushing a tag.
 *
 * @packageDocumentation
 */

export { GitError, GitErrorCodes } from './errors.js';
export { readRepoFacts } from './facts.js';
export type { ReadRepoFactsOptions, RepoFacts } from './facts.js';
export { httpRemoteUrl, parseRemoteUrl, stripCredentials } from './remote-url.js';
export type { RemoteInfo } from './remote-url.js';
export { createAnnotatedTag, listTags } from './tags.js';
export type { CreateAnnotatedTagOptions, CreatedTag, TagInfo } from './tags.js';
export { compareTagNames, compareVersions, parseTagVersion, sortTagsByVersion } from './version.js';
export type { TagVersion } from './version.js';
export { contentDigest } from './digest.js';
export type { ContentDigestOptions } from './digest.js';
export { commitsBetween, isAncestor, lastCommitTouching, resolveCommitId } from './history.js';
export type { CommitInfo, LastCommitTouchingOptions } from './history.js';
export { listRemoteBranches, listRemoteTags, pushTag } from './remote.js';
export type { PushTagOptions, RemoteAuth, RemoteBranch, RemoteOptions } from './remote.js';
