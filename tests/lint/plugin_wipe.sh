#!/bin/sh
# The pppd plugin wipes user passwords with explicit_bzero: a memset of memory that is freed or goes out of
# scope right after is a dead store, and gcc -O2 removes it (the memset before free() in lookup_user was gone
# from the -O2 object). This checks that the built plugin, as pppd loads it, imports explicit_bzero (plain or
# _FORTIFY_SOURCE's checked variant), which the compiler may not remove.
# Usage: plugin_wipe.sh <path to l2tpvpn.so>
set -eu
so=$1
imports=$(nm -D --undefined-only "$so")
if ! printf '%s\n' "$imports" | grep -Eq ' (__)?explicit_bzero(_chk)?(@|$)'; then
  echo "FAIL: $so does not import explicit_bzero: password wipes can be optimised away" >&2
  exit 1
fi
echo "ok: $so imports explicit_bzero"
