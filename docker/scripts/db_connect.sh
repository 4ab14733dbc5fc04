#!/bin/sh
# /scripts/db_connect.sh: the original DeployTag script, now `deploytag db-connect`.
# The original took the command straight away (db_connect.sh psql -c 'select 1'): when the first
# argument is not an option, everything is the command, as if after `--`.
case ${1:-} in
  '' | -*) ;;
  *) set -- -- "$@" ;;
esac
exec @DEPLOYTAG@ db-connect "$@"
