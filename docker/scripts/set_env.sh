#!/bin/sh
# /scripts/set_env.sh: the original DeployTag script, now `deploytag set-env`.
#
# Source it, as before, to export the deployment context (and the AWS_SECRETS secrets) into the
# calling shell:   . /scripts/set_env.sh      (sh, dash, bash, zsh; no arguments when sourced)
# Run it to print the export lines instead, with any `deploytag set-env` flags:
#                  eval "$(/scripts/set_env.sh --branch feature/x)"    /scripts/set_env.sh --help
# A failure (a missing setting, an unreadable secret) prints one line and returns its non-zero
# status without exporting anything; K8S_DEPLOY_ENV_SET makes a second run a no-op, as before.

__deploytag_sourced=0
if [ -n "${ZSH_EVAL_CONTEXT:-}" ]; then
  case $ZSH_EVAL_CONTEXT in *:file*) __deploytag_sourced=1 ;; esac
elif [ -n "${BASH_VERSION:-}" ]; then
  # $BASH_SOURCE is this file; $0 is the file only when it runs as a program.
  [ "${BASH_SOURCE:-}" != "$0" ] && __deploytag_sourced=1
else
  case ${0##*/} in set_env.sh) ;; *) __deploytag_sourced=1 ;; esac
fi

if [ "$__deploytag_sourced" = 0 ]; then
  exec @DEPLOYTAG@ set-env "$@"
fi

# Sourced: the positional parameters are the caller's, so none are passed on.
unset __deploytag_sourced
if __deploytag_env=$(@DEPLOYTAG@ set-env); then
  eval "$__deploytag_env"
  unset __deploytag_env
else
  __deploytag_env=$?
  eval "unset __deploytag_env; return $__deploytag_env"
fi
