#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 30) each, seeded from the fixture files.
# Uses the stable toolchain with RUSTC_BOOTSTRAP=1 for the sanitizer flags cargo-fuzz needs.
# Usage: fuzz/run.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-30}
export RUSTC_BOOTSTRAP=1
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --quiet

root=../agent/testdata/roots/debian12
mkdir -p corpus/dpkg_status corpus/os_release corpus/proc_files corpus/signed_report
cp "$root/var/lib/dpkg/status" corpus/dpkg_status/fixture-status
cp "$root/etc/os-release" corpus/os_release/fixture-os-release
cp "$root/proc/cpuinfo" corpus/proc_files/cpuinfo
cp "$root/proc/meminfo" corpus/proc_files/meminfo
cp "$root/proc/net/if_inet6" corpus/proc_files/if_inet6
[ -r /var/lib/dpkg/status ] && head -c 200000 /var/lib/dpkg/status > corpus/dpkg_status/host-status || true

# Seeds kept in the repository, one folder per target.
for dir in seeds/*/; do
    target=$(basename "$dir")
    mkdir -p "corpus/$target"
    cp -n "$dir"* "corpus/$target/" 2>/dev/null || true
done

cargo fuzz build -O
for target in $(cargo fuzz list); do
    echo "fuzz: $target for ${seconds}s"
    mkdir -p "corpus/$target"   # a target without seeds starts from an empty corpus
    log="artifacts/$target.log"
    mkdir -p artifacts
    if ! cargo fuzz run -O "$target" "corpus/$target" -- -max_total_time="$seconds" -rss_limit_mb=2048 \
        -print_final_stats=1 >"$log" 2>&1; then
        tail -n 40 "$log"
        echo "fuzz: $target FAILED (crash input under fuzz/artifacts/$target/)"
        exit 1
    fi
    grep -E '^(Done|stat::new_units_added)' "$log" || true
done
echo "fuzz: all targets ran ${seconds}s without a finding"
