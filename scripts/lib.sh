# Shared helpers for the scripts (run, test, serve, cluster). Source it; don't run it.

VENV=${VENV:-.venv}
NGINX=$(command -v nginx || echo /usr/sbin/nginx)  # /usr/sbin is not on every user's PATH
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
  # The stamp lists each file installed with its hash: what scripts/test installed (with the
  # dev tools) also satisfies scripts/serve and scripts/cluster, which ask for less.
  local stamp="$VENV/.installed" f changed=""
  for f in "${files[@]}"; do
    grep -qxF "$(sha256sum "$f")" "$stamp" 2>/dev/null || changed=1
  done
  if [ -n "$changed" ]; then
    echo "==> Installing ${files[*]}"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    local args=()
    for f in "${files[@]}"; do args+=(-r "$f"); done
    "$VENV/bin/python" -m pip install -q "${args[@]}"
    sha256sum "${files[@]}" > "$stamp"
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

# PgBouncer, Debian's. Installing it may also start Debian's own service (port 6432,
# /etc/pgbouncer); scripts/cluster runs its own, with its config under instance/cluster/.
ensure_pgbouncer() {
  command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] || apt_install pgbouncer
}

# The newest PostgreSQL's server binaries (initdb, pg_ctl, pg_basebackup), installed if missing.
postgres_bindir() {
  local found
  found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
  if [ -z "$found" ]; then
    apt_install postgresql >&2
    found=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
  fi
  echo "$found"
}

# The site as deployed behind the edge (scripts/serve, scripts/cluster): production config,
# its secret key, TLS certificate and mail exports, for the app instances and nginx alike.
# $1: the instance folder. Expects HTTPS_PORT and EDGE_PURGE_LISTEN to be set.
export_deployed_env() {
  local instance=$1
  mkdir -p "$instance"
  # Production refuses to start without a real key. One made here is kept, so sessions survive a
  # restart, but a real deployment should set its own (and keep it out of the working tree).
  if [ -z "${SECRET_KEY:-}" ]; then
    local key_file=$instance/production_secret_key
    if [ ! -s "$key_file" ]; then
      (umask 077 && "$VENV/bin/python" -c 'import secrets; print(secrets.token_urlsafe(48))' \
        > "$key_file")
    fi
    chmod 600 "$key_file"
    SECRET_KEY=$(cat "$key_file")
    echo "warning: SECRET_KEY is unset; using the key kept in $key_file" >&2
  fi

  # Without a certificate of our own: a self-signed one for localhost, made once (again when it
  # is about to expire). Browsers will warn; curl needs -k.
  if [ -z "${TLS_CERT:-}" ] || [ -z "${TLS_KEY:-}" ]; then
    TLS_CERT=$instance/tls/localhost.crt
    TLS_KEY=$instance/tls/localhost.key
    if ! openssl x509 -checkend 86400 -noout -in "$TLS_CERT" >/dev/null 2>&1 \
        || [ ! -s "$TLS_KEY" ]; then
      echo "==> Making a self-signed certificate for localhost in $instance/tls/"
      mkdir -p "$instance/tls"
      (umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -days 365 -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" \
        -keyout "$TLS_KEY" -out "$TLS_CERT" 2>/dev/null)
      chmod 644 "$TLS_CERT"  # public; clients may want it to verify against (curl --cacert)
    fi
  fi

  # Production needs to know how email leaves; without an SMTP server here, it is kept on disk.
  if [ -z "${MAIL_URL:-}" ]; then
    MAIL_URL="file://$(realpath -m "$instance/outbox")"
    echo "warning: MAIL_URL is unset; emails are written to $instance/outbox/" >&2
  fi
  export MAIL_URL SITE_URL=${SITE_URL:-https://localhost:$HTTPS_PORT}
  export FLASK_APP=wsgi EVENTMATE_CONFIG=production SECRET_KEY
  # gunicorn listens on loopback only and trusts nginx (one hop) for client, scheme, host, port.
  export PROXY_FIX_HOPS=1 FORWARDED_ALLOW_IPS=127.0.0.1,::1
  # The edge limits requests per IP; the app keeps its own login, sign-up and booking limits.
  export RATELIMIT_APPLICATION="${RATELIMIT_APPLICATION-}"
  export HTTP_PORT HTTPS_PORT TLS_CERT TLS_KEY EDGE_PURGE_LISTEN
  export EDGE_PURGE_URLS=http://$EDGE_PURGE_LISTEN  # the app purges changed event pages there
  # Host names pages are cached under, purged for changes made outside a request (flask commands).
  export SITE_HOSTS=${SITE_HOSTS:-localhost,127.0.0.1}
}

# Static files and the edge's configuration, checked, in the absolute directory $1 (nginx -c
# wants one). Content-hashed, precompressed static files, served by nginx. No `digest clean`
# first: pages still cached at the edge (or in browsers) may name the previous hashed files.
prepare_edge() {
  "$VENV/bin/flask" digest compile >/dev/null
  "$VENV/bin/python" deploy/nginx/render.py --out "$1" >/dev/null
  "$NGINX" -t -q -c "$1/nginx.conf"
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
