# The start-up every check script shares; sourced (`source scripts/lib.sh`), never run. It needs `WORK`, the
# script's scratch directory, set before `private_binaries` or `fresh_database` is called.
#
#   private_binaries [dev]  copies BIN (default: the debug build), and with `dev` DEV_BIN too, into $WORK and
#                         points them there: a build running meanwhile may relink the originals
#   track PID             a process to stop when the script exits
#   fresh_database URL P  a database of its own on the PostgreSQL server at URL, named P_<time>_<pid>, dropped
#                         when the script exits; sets `database` (its name) and `database_url`
#   wait_for S CMD WHAT   runs CMD (a string, eval'd) every 0.2 s until it succeeds, for at most S seconds
#
# On exit every tracked process is killed and waited for, then the database is dropped, then $WORK is removed
# unless KEEP is set.

_tracked=()
_databases=()

private_binaries() {
    BIN=${BIN:-${ARCANOS_BIN:-.build/debug/arcanos}}
    DEV_BIN=${DEV_BIN:-${ARCANOS_DEV_BIN:-$(dirname "$BIN")/arcanos-dev}}
    cp "$BIN" "$WORK/arcanos"
    BIN="$WORK/arcanos"
    if [[ "${1:-}" == dev ]]; then
        cp "$DEV_BIN" "$WORK/arcanos-dev"
        DEV_BIN="$WORK/arcanos-dev"
    fi
}

track() { _tracked+=("$1"); }

fresh_database() {
    local server=$1
    database="${2}_$(date +%s)_$$"
    psql "$server" -qc "CREATE DATABASE $database"
    _databases+=("$server $database")
    database_url=$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' \
        "$server" "$database")
}

wait_for() {
    local deadline=$((SECONDS + $1))
    until eval "$2"; do
        if ((SECONDS >= deadline)); then echo "timed out after $1 s waiting for $3" >&2; return 1; fi
        sleep 0.2
    done
}

_cleanup() {
    local pid entry
    for pid in "${_tracked[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${_tracked[@]}"; do wait "$pid" 2>/dev/null || true; done
    for entry in "${_databases[@]}"; do
        psql "${entry% *}" -qc "DROP DATABASE IF EXISTS ${entry##* } WITH (FORCE)" || true
    done
    if [[ -z "${KEEP:-}" && -n "${WORK:-}" ]]; then rm -rf "$WORK"; fi
}
trap _cleanup EXIT
