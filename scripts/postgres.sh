#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests: `scripts/postgres.sh start|stop|url [DIR]`.
#
#   start  initdb (once) and start a server in DIR (default /tmp/arcanos-postgres), listening on 127.0.0.1 only,
#          on a free port, with password authentication; waits until it accepts connections and prints its URL.
#   stop   stops the server started in DIR (and keeps the data and the port for the next start).
#   url    prints the URL of the server in DIR (postgres://arcanos:…@127.0.0.1:PORT/postgres).
#
# The server binaries refuse to run as root: as root, they run as the unprivileged user `arcanos-pg`
# (created when missing). The binaries are looked up in PG_BIN (default /usr/local/bin), then on PATH.
set -euo pipefail

command=${1:-}
dir=${2:-${ARCANOS_POSTGRES_DIR:-/tmp/arcanos-postgres}}
pg_bin=${PG_BIN:-/usr/local/bin}
pg_user=arcanos-pg

tool() {
    if [[ -x "$pg_bin/$1" ]]; then echo "$pg_bin/$1"; else command -v "$1"; fi
}

as_pg() {
    if ((EUID == 0)); then runuser -u "$pg_user" -- "$@"; else "$@"; fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

url() {
    [[ -f "$dir/url" ]] || { echo "no server in $dir (run: $0 start $dir)" >&2; exit 1; }
    cat "$dir/url"
}

start() {
    if ((EUID == 0)) && ! id "$pg_user" >/dev/null 2>&1; then
        useradd --system --no-create-home --shell /usr/sbin/nologin "$pg_user"
    fi
    mkdir -p "$dir"
    if [[ ! -f "$dir/data/PG_VERSION" ]]; then
        local password
        password=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
        printf '%s\n' "$password" >"$dir/password"
        chmod 600 "$dir/password"
        ((EUID == 0)) && chown -R "$pg_user" "$dir"
        as_pg "$(tool initdb)" --pgdata="$dir/data" --username=arcanos --pwfile="$dir/password" \
            --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --no-locale >"$dir/initdb.log"
    fi
    if as_pg "$(tool pg_ctl)" --pgdata="$dir/data" status >/dev/null 2>&1; then
        url
        return
    fi
    # A restart keeps the port, so that servers holding the URL reconnect.
    local port
    if [[ -f "$dir/port" ]]; then port=$(cat "$dir/port"); else port=$(free_port); fi
    echo "$port" >"$dir/port"
    ((EUID == 0)) && chown -R "$pg_user" "$dir"
    as_pg "$(tool pg_ctl)" --pgdata="$dir/data" --log="$dir/server.log" --wait --timeout=60 \
        -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c max_connections=200 -c fsync=off" \
        start >/dev/null
    printf 'postgres://arcanos:%s@127.0.0.1:%s/postgres\n' "$(cat "$dir/password")" "$port" >"$dir/url"
    url
}

stop() {
    [[ -f "$dir/data/PG_VERSION" ]] || return 0
    as_pg "$(tool pg_ctl)" --pgdata="$dir/data" --mode=fast --wait stop >/dev/null 2>&1 || true
    rm -f "$dir/url"
}

case "$command" in
start) start ;;
stop) stop ;;
url) url ;;
*)
    echo "usage: $0 start|stop|url [DIR]" >&2
    exit 2
    ;;
esac
