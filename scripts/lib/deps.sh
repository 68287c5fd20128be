# Installs what building and testing need when it is missing (Debian): PostgreSQL's server and
# client library, pkg-config, curl, openssl (the TLS test's certificates), python3 with venv
# (schemathesis, from PyPI, for scripts/fuzz-api; ictl's terminal tests), zsh (the completion
# test), wrk (benchmarks), and for scripts/test chromium with its driver (the console's browser
# tests), Patroni and etcd for scripts/test and the benchmarks (the failover tests' cluster,
# scripts/patroni-cluster). Sourced by scripts/run and scripts/test; works as root or with sudo.

need_install=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_install+=(postgresql)
[ -f /usr/include/postgresql/libpq-fe.h ] || need_install+=(libpq-dev)
command -v pkg-config >/dev/null 2>&1 || need_install+=(pkg-config)
[ -x /usr/sbin/runuser ] || need_install+=(util-linux)
command -v curl >/dev/null 2>&1 || need_install+=(curl)
command -v openssl >/dev/null 2>&1 || need_install+=(openssl)   # the TLS test makes its certificates
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_install+=(python3 python3-venv)   # scripts/fuzz-api
command -v wrk >/dev/null 2>&1 || need_install+=(wrk)   # the append benchmark's load generator
command -v zsh >/dev/null 2>&1 || need_install+=(zsh)   # ictl's completion script is loaded in zsh by a test
if [ "${INCIDENT_NEEDS_BROWSER:-}" = 1 ]; then   # scripts/browser-test: the console in a real browser
  [ -x /usr/bin/chromium ] || need_install+=(chromium)
  [ -x /usr/bin/chromedriver ] || need_install+=(chromium-driver)
fi

if [ "${INCIDENT_NEEDS_PATRONI:-}" = 1 ]; then   # scripts/patroni-cluster: the failover tests, the replica benchmark
  [ -x /usr/bin/patroni ] || need_install+=(patroni)
  [ -x /usr/bin/etcd ] || need_install+=(etcd-server)
fi

if [ ${#need_install[@]} -gt 0 ]; then
  echo "installing: ${need_install[*]}" >&2
  if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq >&2
  $sudo apt-get install -y -qq --no-install-recommends "${need_install[@]}" >&2
fi

# Debian's postgresql package starts its own cluster on port 5432; the project never uses it
# (it runs private clusters on Unix sockets), so it may keep running or not.

if ! command -v swift >/dev/null 2>&1; then
  for dir in /opt/swift/usr/bin /usr/share/swift/usr/bin; do
    [ -x "$dir/swift" ] && export PATH="$dir:$PATH" && break
  done
fi
if ! command -v swift >/dev/null 2>&1; then
  echo "error: the Swift toolchain (6.2 or later) is not installed; see https://www.swift.org/install/linux/" >&2
  exit 1
fi
