#!/usr/bin/env bash
# Debian packages the test suite runs for real. Installed with apt-get when missing (as root);
# a package that cannot be installed is an error, so CI fails rather than skips.
set -euo pipefail

# command to look for -> Debian package providing it
declare -A PACKAGES=(
  [chromium]=chromium  # the browser tests drive the real deep-chat widget
  [nginx]=nginx        # the deployment tests run the repository's nginx.conf
  [redis-server]=redis-server  # replicas share rate limits through a real Redis
  [wrk]=wrk            # the benchmark's load generator (its smoke run is a test)
  [hey]=hey            # the benchmark's constant-rate (open loop) load generator
)

missing=()
for command in "${!PACKAGES[@]}"; do
  command -v "$command" >/dev/null 2>&1 || [[ -x "/usr/sbin/$command" ]] || missing+=("${PACKAGES[$command]}")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
  echo "system-deps: missing ${missing[*]}; run as root or install them with apt-get" >&2
  exit 1
fi
echo "system-deps: installing ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
