#!/usr/bin/env bash
# Fleet queries (issue 8): latency of four `census` commands against a collector holding HOSTS
# simulated hosts (census-loadgen's fleet: about 800 packages each, openssl 1.1.1w on 30%,
# CrowdStrike Falcon / ClamAV / nothing, a /24 and a /64 per 250 hosts, 13 neighbours per host
# of which the group's gateway, printer and camera are unmanaged, declared owners on 60%), side
# by side in one hyperfine run with the same question asked of the same database by the
# `sqlite3` command-line tool in straightforward SQL.
#
# 1. Builds the release binaries.
# 2. Populates FLEET_DIR (default /var/tmp/census-fleet-HOSTS; kept afterwards) by starting the
#    release census-collector with raised limits and `[fleet] evaluate_every = "1h"`, and
#    running census-loadgen with --heartbeats 0 --no-delta. When FLEET_DIR already holds a fleet
#    of HOSTS hosts, it is reused and this step is skipped.
# 3. Starts the collector on that data, waits for its start-up evaluation to finish, and runs
#    hyperfine (1 warm-up, RUNS runs each, output to /dev/null) over each census command (table
#    output, as a user types it) and its sqlite3 reference. Prints min/median/max ms, the
#    database size and the host count; writes FLEET_DIR/results/queries.{json,md}.
#
# Usage: bench/queries.sh [HOSTS]   (default 100000)   env: FLEET_DIR, RUNS (default 10)
# COLLECTOR=path and CENSUS=path run those census-collector and census binaries instead of this
# checkout's (to compare two builds on the same fleet; nothing is built when both are given and
# the fleet is reused). A collector with a newer schema migrates the kept fleet when it starts.
# The coverage policy is the default one (any edr product running, fresh within 24 h): more
# than 24 h after populating, every asset is agent-stale and `--gaps` lists them all.
# Needs sqlite3 and hyperfine (installed with apt-get when missing: root).
set -euo pipefail
cd "$(dirname "$0")/.."
hosts=${1:-100000}
fleet=${FLEET_DIR:-/var/tmp/census-fleet-$hosts}
runs=${RUNS:-10}

need=()
command -v sqlite3 >/dev/null || need+=(sqlite3)
command -v hyperfine >/dev/null || need+=(hyperfine)
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
root=$PWD
collector=${COLLECTOR:-$root/target/release/census-collector}
census=${CENSUS:-$root/target/release/census}
data=$fleet/data
db=$data/census.db
host_count() {
    [ -f "$db" ] && sqlite3 -readonly "$db" "SELECT count(*) FROM hosts" 2>/dev/null || echo 0
}
have=$(host_count)
build=()
[ -n "${COLLECTOR:-}" ] && [ -n "${CENSUS:-}" ] || build+=(-p census-collector)
[ "$have" -eq "$hosts" ] || build+=(-p census-loadgen)
[ ${#build[@]} -eq 0 ] || cargo build --release "${build[@]}" --quiet
mkdir -p "$fleet/sql" "$fleet/results"
cat > "$fleet/collector.toml" <<TOML
# Written by bench/queries.sh: limits raised so that the load generator is not refused; the
# fleet evaluation once an hour, so that it does not run during the measurement.
[limits]
enrollments_per_minute = 1000000
enroll_burst = 1000000
reports_per_minute = 1000000
report_burst = 1000000

[fleet]
evaluate_every = "1h"
TOML

collector_pid=
stop_collector() {
    if [ -n "$collector_pid" ]; then
        kill "$collector_pid" 2>/dev/null || true
        wait "$collector_pid" 2>/dev/null || true
        collector_pid=
    fi
}
trap stop_collector EXIT

start_collector() {
    : > "$fleet/collector.out"
    CENSUS_LOG=warn "$collector" serve --listen 127.0.0.1:0 --data-dir "$data" \
        --config "$fleet/collector.toml" > "$fleet/collector.out" 2> "$fleet/collector.err" &
    collector_pid=$!
    # No time limit: a collector with a newer schema migrates the database before it listens.
    until grep -q "listening on" "$fleet/collector.out" 2>/dev/null; do
        kill -0 "$collector_pid" 2>/dev/null || { cat "$fleet/collector.err" >&2; exit 1; }
        sleep 0.1
    done
    url=$(grep -m1 "listening on" "$fleet/collector.out" | awk '{print $4}')
}

# Waits until the collector has used under 2% of a core for 2 s in a row (its start-up fleet
# and coverage evaluation done).
wait_idle() {
    local tck before after quiet=0
    tck=$(getconf CLK_TCK)
    while [ "$quiet" -lt 2 ]; do
        before=$(awk '{print $14 + $15}' "/proc/$collector_pid/stat")
        sleep 1
        after=$(awk '{print $14 + $15}' "/proc/$collector_pid/stat")
        if [ $(((after - before) * 100)) -lt $((2 * tck)) ]; then quiet=$((quiet + 1)); else quiet=0; fi
    done
}

echo "machine: $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB RAM, data on $(df --output=source "$fleet" | tail -1)"
if [ "$have" -eq "$hosts" ]; then
    echo "reusing the fleet in $fleet: $have hosts (populated: $(cat "$fleet/populated.txt" 2>/dev/null || echo unknown))"
elif [ "$have" -ne 0 ] || [ -e "$data" ]; then
    echo "$fleet holds $have hosts, not $hosts: remove it (rm -rf $fleet) or set FLEET_DIR" >&2
    exit 1
else
    echo "populating $fleet with $hosts hosts"
    start=$(date +%s)
    start_collector
    "$root/target/release/census-loadgen" --collector "$url" --ca "$data/ca.pem" \
        --enroll-secret "$(cat "$data/enroll-secret")" --agents "$hosts" --heartbeats 0 --no-delta \
        --concurrency 256 --packages 800 | tee "$fleet/populate.log"
    stop_collector
    seconds=$(($(date +%s) - start))
    echo "$hosts hosts in ${seconds} s on $(date -u +%Y-%m-%d), $(git rev-parse --short HEAD) + working tree" \
        > "$fleet/populated.txt"
    echo "populated in ${seconds} s"
fi

echo "database: $(du -sh --apparent-size "$db" | cut -f1) ($(du -ch "$db"* | tail -1 | cut -f1) with WAL), $(host_count) hosts"
start_collector
echo "collector $collector, $url (pid $collector_pid), waiting for its start-up evaluation"
wait_idle
CENSUS_TOKEN=$(cat "$data/admin-token")
export CENSUS_SERVER=$url CENSUS_TOKEN CENSUS_CA=$data/ca.pem

# The references: the same question in straightforward SQL, on the same database.
# Coverage under the default policy (state active or stale; protected by any edr product
# running; agent-stale after 24 h without a report), judged on each asset's newest agent.
judged="WITH newest AS (
    SELECT s.asset_id, s.owner, a.agent_id, COALESCE(a.last_seen, 0) AS last_seen,
           row_number() OVER (PARTITION BY s.asset_id ORDER BY COALESCE(a.last_seen, 0) DESC, a.agent_id) AS n
    FROM assets s JOIN agents a ON a.asset_id = s.asset_id
    WHERE s.state IN ('active', 'stale')
), judged AS (
    SELECT w.*, CASE
        WHEN EXISTS (SELECT 1 FROM coverage_exceptions e WHERE e.asset_id = w.asset_id
                     AND (e.expires_at IS NULL OR e.expires_at > unixepoch() * 1000)) THEN 'excluded'
        WHEN w.last_seen < unixepoch() * 1000 - 86400000 THEN 'agent-stale'
        WHEN EXISTS (SELECT 1 FROM host_security p WHERE p.agent_id = w.agent_id AND p.category = 'edr'
                     AND p.running) THEN 'protected'
        WHEN EXISTS (SELECT 1 FROM host_security p WHERE p.agent_id = w.agent_id AND p.category = 'edr'
                     AND p.installed) THEN 'installed-not-running'
        ELSE 'missing' END AS status
    FROM newest w WHERE n = 1
)"
cat > "$fleet/sql/coverage.sql" <<SQL
$judged
SELECT status, count(*) FROM judged GROUP BY status ORDER BY status;
SQL
cat > "$fleet/sql/gaps.sql" <<SQL
$judged
SELECT j.status, j.asset_id, COALESCE(h.hostname, a.hostname),
       COALESCE(NULLIF(j.owner, ''), (SELECT d.value FROM agent_declared d
                WHERE d.agent_id = j.agent_id AND d.field = 'owner' AND d.key = ''), '-'),
       datetime(j.last_seen / 1000, 'unixepoch'),
       (SELECT group_concat(p.name || ' (service ' || p.service || ')', ', ') FROM host_security p
        WHERE p.agent_id = j.agent_id AND p.category = 'edr' AND p.installed)
FROM judged j JOIN agents a ON a.agent_id = j.agent_id LEFT JOIN hosts h ON h.agent_id = j.agent_id
WHERE j.status IN ('missing', 'installed-not-running', 'agent-stale')
ORDER BY CASE j.status WHEN 'missing' THEN 0 WHEN 'installed-not-running' THEN 1 ELSE 2 END,
         COALESCE(h.hostname, a.hostname);
SQL
# SQL knows no dpkg version order: '<3' can only be a string comparison, right for these two
# versions and wrong in general ('10.0' < '3' as text).
cat > "$fleet/sql/software.sql" <<'SQL'
SELECT h.agent_id, h.hostname, p.name, p.version, p.arch, p.source
FROM package_versions p JOIN host_packages hp ON hp.package_id = p.id
JOIN host_keys k ON k.host_key = hp.host_key JOIN hosts h ON h.agent_id = k.agent_id
WHERE p.name = 'openssl' AND p.version < '3'
ORDER BY h.hostname, h.agent_id, p.source, p.arch, p.version;
SQL
# One row per MAC that no managed host is, with what its first sighting says of it, when it was
# first and last heard, and by how many hosts (the first by name).
cat > "$fleet/sql/unmanaged.sql" <<'SQL'
SELECT n.mac, json_extract(n.document, '$.vendor'), json_extract(n.document, '$.kind_hint'),
       json_extract(n.document, '$.ipv4'), json_extract(n.document, '$.names'),
       datetime(min(n.first_seen), 'unixepoch'), datetime(max(n.last_seen), 'unixepoch'),
       min(h.hostname), count(*)
FROM neighbors n JOIN hosts h ON h.agent_id = n.agent_id
WHERE n.managed_by IS NULL
  AND NOT EXISTS (SELECT 1 FROM neighbors m WHERE m.mac = n.mac AND m.managed_by IS NOT NULL)
GROUP BY n.mac ORDER BY n.mac;
SQL

ref() { echo "sqlite3 -readonly $db '.read $fleet/sql/$1.sql'"; }
echo
echo "what each command prints (lines), and the sqlite3 reference (rows):"
printf '  %-45s %8s %8s\n' "coverage" "$("$census" coverage | wc -l)" "$(sqlite3 -readonly "$db" ".read $fleet/sql/coverage.sql" | wc -l)"
printf '  %-45s %8s %8s\n' "coverage --gaps" "$("$census" coverage --gaps | wc -l)" "$(sqlite3 -readonly "$db" ".read $fleet/sql/gaps.sql" | wc -l)"
printf '  %-45s %8s %8s\n' "software openssl --version '<3'" "$("$census" software openssl --version '<3' | wc -l)" "$(sqlite3 -readonly "$db" ".read $fleet/sql/software.sql" | wc -l)"
printf '  %-45s %8s %8s\n' "neighbors --unmanaged" "$("$census" neighbors --unmanaged | wc -l)" "$(sqlite3 -readonly "$db" ".read $fleet/sql/unmanaged.sql" | wc -l)"
echo "coverage counts (census):"
"$census" coverage | sed 's/^/  /'
echo "coverage counts (sqlite3):"
sqlite3 -readonly "$db" ".read $fleet/sql/coverage.sql" | sed 's/^/  /'
echo

hyperfine -N --warmup 1 --runs "$runs" --style basic --export-json "$fleet/results/queries.json" \
    -n "census coverage" "$census coverage" \
    -n "sqlite3 coverage" "$(ref coverage)" \
    -n "census coverage --gaps" "$census coverage --gaps" \
    -n "sqlite3 coverage --gaps" "$(ref gaps)" \
    -n "census software openssl --version '<3'" "$census software openssl --version '<3'" \
    -n "sqlite3 software openssl --version '<3'" "$(ref software)" \
    -n "census neighbors --unmanaged" "$census neighbors --unmanaged" \
    -n "sqlite3 neighbors --unmanaged" "$(ref unmanaged)"

python3 - "$fleet/results" <<'PY'
import json, sys
out = sys.argv[1]
res = {r["command"]: r for r in json.load(open(f"{out}/queries.json"))["results"]}
ms = lambda r, k: r[k] * 1000
lines = [
    "| query | census min / median / max [ms] | sqlite3 reference min / median / max [ms] | census under 200 ms |",
    "|:---|---:|---:|:---:|",
]
for q in ["coverage", "coverage --gaps", "software openssl --version '<3'", "neighbors --unmanaged"]:
    c, s = res[f"census {q}"], res[f"sqlite3 {q}"]
    fmt = lambda r: f"{ms(r, 'min'):.1f} / {ms(r, 'median'):.1f} / {ms(r, 'max'):.1f}"
    lines.append(f"| `census {q}` | {fmt(c)} | {fmt(s)} | {'yes' if ms(c, 'median') < 200 else 'NO'} |")
open(f"{out}/queries.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
echo
echo "fleet kept in $fleet (re-measure: FLEET_DIR=$fleet bash bench/queries.sh $hosts)"
