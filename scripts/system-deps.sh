#!/usr/bin/env bash
# Debian packages the test suite runs for real. Installed with apt-get when missing (as root);
# a package that cannot be installed is an error, so CI fails rather than skips.
set -euo pipefail

# command to look for -> Debian package providing it
declare -A PACKAGES=(
  [chromium]=chromium  # the browser tests drive the real deep-chat widget
  [nginx]=nginx        # the deployment tests run the repository's nginx.conf
  [redis-server]=redis-server  # replicas share rate limits through a real Redis
  [wrk]=wrk            # the benchmark's closed-loop load generator (its smoke run is a test)
  # The container tests (tests/deploy/test_docker_stack.py): their own Docker engine, a Debian root
  # filesystem for the local stand-ins of the official base images, and compose v1 (Debian 12's).
  [dockerd]=docker.io
  [debootstrap]=debootstrap
  [docker-compose]=docker-compose
)

missing=()
for command in "${!PACKAGES[@]}"; do
  command -v "$command" >/dev/null 2>&1 || [[ -x "/usr/sbin/$command" ]] || missing+=("${PACKAGES[$command]}")
done
compose_v2=/usr/local/lib/docker/cli-plugins/docker-compose
[[ ${#missing[@]} -eq 0 && -x $compose_v2 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
  echo "system-deps: missing ${missing[*]} ${compose_v2}; run as root or install them with apt-get" >&2
  exit 1
fi
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "system-deps: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Compose v2, what users run, is not in Debian 12; Debian 13's package is one program that needs only
# libc, so it is fetched from the same Debian mirror apt uses here and installed as the docker CLI plugin.
if [[ ! -x $compose_v2 ]]; then
  echo "system-deps: installing compose v2 (Debian 13's docker-compose) as $compose_v2"
  mirror=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)
  [[ -n $mirror ]] || mirror=$(awk '$1 == "deb" && $3 == "bookworm" {print $2; exit}' /etc/apt/sources.list)
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
  echo "deb $mirror trixie main" >"$work/sources.list"
  apt_options=(-o "Dir::Etc::sourcelist=$work/sources.list" -o "Dir::Etc::sourceparts=-"
    -o "Dir::State::lists=$work/lists" -o "Dir::Cache=$work/cache" -o "APT::Sandbox::User=root")
  apt-get "${apt_options[@]}" update -qq
  (cd "$work" && apt-get "${apt_options[@]}" download -qq docker-compose/trixie)
  dpkg-deb -x "$work"/docker-compose_*.deb "$work/root"
  install -D -m 0755 "$work/root/usr/libexec/docker/cli-plugins/docker-compose" "$compose_v2"
fi
