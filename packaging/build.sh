#!/usr/bin/env bash
# Builds the census OS packages from a clean checkout, in one command:
#
#   packaging/build.sh [OUT_DIR]        # default: target/packages
#
# writes census-agent_VERSION-1_ARCH.deb, census-collector_VERSION-1_ARCH.deb and the matching
# census-agent-VERSION-1.ARCH.rpm, census-collector-VERSION-1.ARCH.rpm into OUT_DIR. VERSION is
# the workspace version (`[workspace.package] version` in Cargo.toml).
#
# It installs the packaging tools it needs, at pinned versions (cargo install --locked), builds
# the release binaries once (cargo build --release --locked), strips copies of them into
# TARGET/packaging/release with man pages made from their --help, and packages those with
# cargo-deb and cargo-generate-rpm, whose metadata is in agent/Cargo.toml and
# collector/Cargo.toml. TARGET is $CARGO_TARGET_DIR, else target/. Needs a Rust toolchain,
# strip (binutils) and gzip; packaging/check.sh tests what it builds.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

CARGO_DEB_VERSION=3.8.0
CARGO_GENERATE_RPM_VERSION=0.21.1

out=${1:-target/packages}
mkdir -p "$out"
out=$(cd "$out" && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
mkdir -p "$target"
target=$(cd "$target" && pwd)
stage=$target/packaging
start=$(date +%s)
say() { echo "build.sh: $* ($(( $(date +%s) - start ))s)"; }

# The workspace version, which every member inherits (version.workspace = true).
version=$(awk '
    /^\[/ { section = $0; next }
    section == "[workspace.package]" && $1 == "version" { gsub(/[" ]/, "", $3); print $3; exit }
' Cargo.toml)
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+ ]] || { echo "build.sh: no [workspace.package] version in Cargo.toml" >&2; exit 1; }
revision=1

# Debian packages carry their changelog; its newest entry must be this version.
top=$(sed -n '1s/^census (\([^)]*\)).*/\1/p' packaging/debian/changelog)
if [ "$top" != "$version-$revision" ]; then
    echo "build.sh: packaging/debian/changelog starts with $top, not $version-$revision:" \
        "add an entry for $version-$revision at its top" >&2
    exit 1
fi

# The packaging tools, at the versions this metadata is written for.
tool() { # SUBCOMMAND CRATE VERSION
    local have
    have=$(cargo "$1" --version 2>/dev/null | awk '{print $2}') || true
    if [ "$have" != "$3" ]; then
        say "installing $2 $3${have:+ (found $have)}"
        cargo install --locked --quiet "$2" --version "$3"
    fi
}
tool deb cargo-deb "$CARGO_DEB_VERSION"
tool generate-rpm cargo-generate-rpm "$CARGO_GENERATE_RPM_VERSION"

say "building release binaries (census-agent, census-collector, census)"
build_start=$(date +%s)
cargo build --release --locked --quiet -p census-agent -p census-collector --bins
say "release build took $(( $(date +%s) - build_start ))s"

# Stripped copies (as dh_strip strips), so both formats ship the same bytes and the build's own
# binaries keep their line tables.
rm -rf "$stage"
mkdir -p "$stage/release/man"
bins=(census-agent census-collector census)
for b in "${bins[@]}"; do
    strip --strip-unneeded --remove-section=.comment --remove-section=.note \
        -o "$stage/release/$b" "$target/release/$b"
done

# Man pages: each binary's --help and that of its subcommands (two levels), as roff. The date
# is the last commit's, so a rebuild of the same commit gives the same pages.
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
export SOURCE_DATE_EPOCH=$epoch   # file dates and build dates in both formats
mandate=$(date -u -d "@$epoch" +%Y-%m-%d)

# Subcommands listed under "Commands:" in a --help text, but `help`.
subcommands() {
    awk '/^Commands:/ { on = 1; next } on && /^$/ { exit } on && $1 != "help" { print $1 }'
}

# Help text as roff in no-fill mode: escapes, and lines over 78 columns wrapped at a space,
# continued under the line's description column ("  --flag <X>  Text": under "Text").
roff_text() {
    awk '
        function emit(s) {
            gsub(/\\/, "\\e", s); gsub(/-/, "\\-", s)
            if (s ~ /^[.'"'"']/) s = "\\&" s
            print s
        }
        {
            line = $0
            match(line, /^ */); lead = RLENGTH
            indent = substr(line, 1, lead)
            if (match(substr(line, lead + 1), /[^ ]  +[^ ]/) && lead + RSTART + RLENGTH - 1 < 50)
                indent = sprintf("%" (lead + RSTART + RLENGTH - 2) "s", "")
            while (length(line) > 78) {
                cut = 0
                for (i = 78; i > length(indent) + 10; i--) if (substr(line, i, 1) == " ") { cut = i; break }
                if (cut == 0) break
                emit(substr(line, 1, cut - 1))
                line = indent substr(line, cut + 1)
            }
            emit(line)
        }'
}

manpage() { # BINARY FILES-SECTION-LINES...
    local bin=$1 exe=$stage/release/$1 about sub subsub
    shift
    about=$("$exe" --help | head -n 1)
    {
        echo ".TH ${bin^^} 1 \"$mandate\" \"census $version\" \"census\""
        echo ".SH NAME"
        echo "$bin \\- $(printf '%s' "$about" | sed 's/-/\\-/g')"
        echo ".SH SYNOPSIS"
        echo ".B $bin"
        printf '%s\n' '[\fIOPTIONS\fR] \fICOMMAND\fR'
        echo ".SH DESCRIPTION"
        echo ".nf"
        "$exe" --help | tail -n +3 | roff_text
        echo ".fi"
        for sub in $("$exe" --help | subcommands); do
            echo ".SH \"$bin $sub\""
            echo ".nf"
            "$exe" "$sub" --help | roff_text
            echo ".fi"
            for subsub in $("$exe" "$sub" --help | subcommands); do
                echo ".SS \"$bin $sub $subsub\""
                echo ".nf"
                "$exe" "$sub" "$subsub" --help | roff_text
                echo ".fi"
            done
        done
        if [ $# -gt 0 ]; then
            echo ".SH FILES"
            printf '%s\n' "$@" | sed 's/-/\\-/g'
        fi
        echo ".SH SEE ALSO"
        echo ".BR census\\-agent (1),"
        echo ".BR census\\-collector (1),"
        echo ".BR census (1)"
    } | gzip -9n > "$stage/release/man/$bin.1.gz"
}

say "writing man pages"
manpage census-agent \
    ".TP" ".I /etc/census/agent.toml" "The configuration of the service (\\fBrun --config\\fR)." \
    ".TP" ".I /etc/default/census-agent, /etc/sysconfig/census-agent" \
    "The service's environment: CENSUS_COLLECTOR, CENSUS_CA, CENSUS_ENROLL_SECRET." \
    ".TP" ".I /var/lib/census-agent" "The agent's key, enrollment, sequence and spool." \
    ".TP" ".I /usr/share/census-agent/security-products.toml" \
    "The built-in security product catalog, to copy and edit (\\fBsecurity_catalog\\fR)."
manpage census-collector \
    ".TP" ".I /etc/census/collector.toml" "The configuration of the service (\\fBserve --config\\fR)." \
    ".TP" ".I /var/lib/census-collector" \
    "The database, the CA (ca.pem), the first enroll secret and admin token."
manpage census \
    ".TP" ".I /var/lib/census-collector/ca.pem" "The collector's CA certificate (\\fBCENSUS_CA\\fR)." \
    ".TP" ".I /var/lib/census-collector/admin-token" "The first admin token (\\fBCENSUS_TOKEN\\fR)."

# Package the staged binaries: cargo-deb and cargo-generate-rpm read target/release/... paths
# from the target directory they are given.
say "packaging $version-$revision"
for pkg in census-agent census-collector; do
    CARGO_TARGET_DIR=$stage cargo deb --quiet --locked --no-build --no-strip -p "$pkg" \
        --deb-revision "$revision" -o "$out/"
    # cargo-deb writes no DEBIAN/md5sums, which `dpkg --verify` and debsums check installed
    # files against: add it where dpkg-deb is at hand (any Debian or Ubuntu build host).
    if command -v dpkg-deb >/dev/null; then
        deb=$(echo "$out/${pkg}_$version-${revision}_"*.deb)
        tree=$stage/deb-$pkg
        rm -rf "$tree"
        dpkg-deb -R "$deb" "$tree"
        (cd "$tree" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z \
            | xargs -0 md5sum > DEBIAN/md5sums)
        chmod 644 "$tree/DEBIAN/md5sums"
        dpkg-deb --root-owner-group -Zxz -b "$tree" "$deb" >/dev/null
        rm -rf "$tree"
    fi
done
for dir in agent collector; do
    cargo generate-rpm -p "$dir" --target-dir "$stage" -o "$out/"
done

say "done"
ls -l "$out"/census-agent_"$version"-"$revision"_*.deb "$out"/census-collector_"$version"-"$revision"_*.deb \
    "$out"/census-agent-"$version"-"$revision".*.rpm "$out"/census-collector-"$version"-"$revision".*.rpm
