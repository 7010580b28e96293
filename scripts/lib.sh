# Shared helpers for scripts/run and scripts/test. Source it; don't run it.

VENV=${VENV:-.venv}
PY=${PYTHON:-python3}

# Root's commands, for root or a user with sudo. sudo resets the environment, so variables
# for the command go through `env` (as_root env NAME=value command …).
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# A command as the postgres system user (peer authentication on the local socket).
as_postgres() {
  if [ "$(id -u)" = 0 ]; then su postgres -c "$*"; else sudo -n -u postgres "$@"; fi
}

apt_install() {
  echo "==> Installing Debian packages: $*"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

# Create the virtualenv and install pinned requirements when they changed since last time.
ensure_venv() {
  local files=("requirements.txt" "$@")
  if [ ! -x "$VENV/bin/python" ]; then
    echo "==> Creating virtualenv in $VENV"
    if ! "$PY" -m venv "$VENV" 2>/dev/null; then
      rm -rf "$VENV"
      apt_install python3-venv
      "$PY" -m venv "$VENV"
    fi
  fi
  local stamp="$VENV/.installed" wanted
  wanted=$(cat "${files[@]}" | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    echo "==> Installing ${files[*]}"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    local args=()
    for f in "${files[@]}"; do args+=(-r "$f"); done
    "$VENV/bin/python" -m pip install -q "${args[@]}"
    echo "$wanted" > "$stamp"
  fi
}

# PostgreSQL and Redis: install from Debian if missing, start if down.
ensure_services() {
  local missing=()
  command -v pg_ctlcluster >/dev/null 2>&1 || missing+=(postgresql)
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"

  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    echo "==> Starting PostgreSQL"
    as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main start
    wait_for "PostgreSQL" pg_isready -q -h 127.0.0.1 -p 5432
  fi
  if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    echo "==> Starting Redis"
    as_root mkdir -p /var/lib/redis /var/log/redis
    as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" \
      --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
    wait_for "Redis" redis-cli -h 127.0.0.1 -p 6379 ping
  fi
}

# Debian's chromium for the Playwright journeys (Playwright's own browser download can't work here).
ensure_chromium() {
  command -v chromium >/dev/null 2>&1 || apt_install chromium
}

# axe-core for the accessibility tests (tests/e2e/package.json, pinned by its lock file):
# `npm ci` when it is missing or the lock changed since; Debian's npm where there is none.
ensure_axe() {
  local dir=tests/e2e stamp=tests/e2e/node_modules/.installed wanted
  command -v npm >/dev/null 2>&1 || apt_install nodejs npm
  wanted=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  if [ ! -f "$dir/node_modules/axe-core/axe.min.js" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    echo "==> Installing axe-core (npm ci in $dir)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$wanted" > "$stamp"
  fi
}

# nginx with the modules the edge loads (deploy/nginx, scripts/serve): cache_purge for the app's
# purges, brotli_static for the .br static files. Installing Debian's package may also start its
# stock nginx (port 80, /etc/nginx); ours is separate (`nginx -c instance/edge/nginx.conf`).
ensure_nginx() {
  if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ] \
      || [ ! -f /usr/lib/nginx/modules/ngx_http_cache_purge_module.so ]; then
    apt_install nginx libnginx-mod-http-cache-purge libnginx-mod-http-brotli-static
  fi
}

wait_for() {
  local name=$1; shift
  for _ in $(seq 1 60); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  echo "$name did not come up" >&2
  return 1
}

# Print a libpq connection URL prefix (without database name) that works on this machine:
# TCP as postgres (trust auth, as on our dev boxes), else the local socket as the current user,
# creating that role if we can (a fresh Debian install only trusts peer auth on the socket).
# psql runs with -w everywhere: a server that wants a password is an error, never a prompt.
pg_admin_url() {
  local user=${PGUSER:-postgres}
  if psql -w -h 127.0.0.1 -U "$user" -d postgres -Atqc 'select 1' >/dev/null 2>&1; then
    echo "postgresql://$user@127.0.0.1:5432"; return
  fi
  local me; me=$(id -un)
  if ! psql -w -d postgres -Atqc 'select 1' >/dev/null 2>&1; then
    as_postgres createuser --superuser "$me" >/dev/null 2>&1 || true
  fi
  if psql -w -d postgres -Atqc 'select 1' >/dev/null 2>&1; then
    echo "postgresql://$me@/?host=/var/run/postgresql"; return
  fi
  echo "cannot connect to PostgreSQL as $user (TCP) or $me (socket)" >&2
  return 1
}
