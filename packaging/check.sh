#!/usr/bin/env bash
# Checks the packages packaging/build.sh wrote, as issue 9 asks:
#
#   packaging/check.sh [PKG_DIR]        # default: target/packages
#
#  1. the .debs: contents, modes, conffiles and relations; lintian, which must report no error
#     and no warning that packaging/lintian/ does not override with its reason;
#  2. the units: systemd-analyze verify, and systemd-analyze security (offline) with the
#     exposure score of each unit printed and held at or below its ceiling;
#  3. in a throwaway Debian root (debootstrap minbase of this host's release, with its own dpkg
#     database): install both .debs; start the collector and run the agent there as their units
#     would (their users, capabilities and files; the admin's settings in the environment
#     file, as README.md says), and see the host in `census hosts`; upgrade to a rebuilt
#     VERSION-2 (the agent's key and the edited files kept); reinstall; remove (configuration
#     and state kept); purge (everything gone but the system users);
#  4. the .rpms: rpm -qpi, -qpl, --scripts, file modes and config flags; installed with
#     Debian's rpm into a second copy of that root (rpm --root, scriptlets run there),
#     verified (rpm -V), reinstalled and erased.
#
# Runs as root on Debian (CI does), and installs lintian, debootstrap, rpm and systemd-analyze
# with apt-get when they are missing. Every failed check stops it with "check.sh: FAIL: ..."
# and a non-zero exit. It creates one directory under /var/tmp and removes it (with its
# mounts) on exit; CENSUS_CHECK_KEEP=1 keeps it for a look. Sends traffic to 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs=$(cd "${1:-target/packages}" && pwd)
start=$(date +%s)
step() { echo; echo "== check.sh: $* ($(( $(date +%s) - start ))s)"; }
fail() { echo "check.sh: FAIL: $*" >&2; exit 1; }
ok() { echo "  ok: $*"; }
# expect DESCRIPTION COMMAND...: the command must succeed.
expect() { local what=$1; shift; if "$@"; then ok "$what"; else fail "$what"; fi; }
quiet() { "$@" >/dev/null; }

[ "$(id -u)" = 0 ] || fail "run as root (debootstrap, chroot and dpkg need it)"

# Exposure ceilings for systemd-analyze security (0 best, 10 worst); the scores are in
# packaging/README.md. A change to a unit that loosens it past its ceiling fails here.
AGENT_MAX_EXPOSURE=2.5
COLLECTOR_MAX_EXPOSURE=1.5

step "tools: lintian, debootstrap, rpm, systemd-analyze"
need=()
command -v lintian >/dev/null || need+=(lintian)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v rpm >/dev/null || need+=(rpm)
command -v systemd-analyze >/dev/null || need+=(systemd)
[ -e /usr/share/keyrings/debian-archive-keyring.gpg ] || need+=(debian-archive-keyring)
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi

version=$(awk '
    /^\[/ { section = $0; next }
    section == "[workspace.package]" && $1 == "version" { gsub(/[" ]/, "", $3); print $3; exit }
' Cargo.toml)
arch=$(dpkg --print-architecture)
rpmarch=$(uname -m)
agent_deb=$pkgs/census-agent_${version}-1_${arch}.deb
collector_deb=$pkgs/census-collector_${version}-1_${arch}.deb
agent_rpm=$pkgs/census-agent-${version}-1.${rpmarch}.rpm
collector_rpm=$pkgs/census-collector-${version}-1.${rpmarch}.rpm
for f in "$agent_deb" "$collector_deb" "$agent_rpm" "$collector_rpm"; do
    [ -f "$f" ] || fail "$f is missing (run packaging/build.sh first)"
done
ok "version $version: $(cd "$pkgs" && echo census-*"$version"*)"

work=$(mktemp -d /var/tmp/census-check.XXXXXX)
root=$work/deb-root
rroot=$work/rpm-root
collector_pid=
cleanup() {
    local rc=$?
    if [ -n "$collector_pid" ]; then kill "$collector_pid" 2>/dev/null || true; wait "$collector_pid" 2>/dev/null || true; fi
    # Anything still running inside the roots was started here: end it before removing them.
    for p in /proc/[0-9]*; do
        case $(readlink "$p/root" 2>/dev/null) in "$work"/*) kill "${p#/proc/}" 2>/dev/null || true ;; esac
    done
    for r in "$root" "$rroot"; do
        for m in sys proc; do
            if mountpoint -q "$r/$m" 2>/dev/null; then umount "$r/$m" || umount -l "$r/$m" || true; fi
        done
    done
    if [ "${CENSUS_CHECK_KEEP:-}" = 1 ]; then
        echo "check.sh: kept $work"
    elif findmnt -rn -o TARGET | grep -q "^$work"; then
        echo "check.sh: not removing $work: something is still mounted under it" >&2
    else
        rm -rf --one-file-system "$work"
    fi
    exit $rc
}
trap cleanup EXIT

step "1. the .deb files: contents, modes, conffiles, relations"
# contents DEB: "MODE OWNER PATH" per entry.
contents() { dpkg-deb -c "$1" | awk '{ if ($2 == "0/0") $2 = "root/root"; print $1, $2, $6 }'; }
has() { # DEB MODE OWNER PATH
    contents "$1" | grep -qxF -- "$2 $3 $4" || { contents "$1" >&2; fail "$(basename "$1"): no $2 $3 $4"; }
    ok "$(basename "$1"): $2 $3 $4"
}
has "$agent_deb" -rwxr-xr-x root/root ./usr/bin/census-agent
has "$agent_deb" -rw-r----- root/root ./etc/census/agent.toml
has "$agent_deb" -rw------- root/root ./etc/default/census-agent
has "$agent_deb" -rw-r--r-- root/root ./usr/lib/systemd/system/census-agent.service
has "$agent_deb" -rw-r--r-- root/root ./usr/lib/sysusers.d/census-agent.conf
has "$agent_deb" -rw-r--r-- root/root ./usr/share/census-agent/security-products.toml
has "$agent_deb" -rw-r--r-- root/root ./usr/share/man/man1/census-agent.1.gz
has "$agent_deb" -rw-r--r-- root/root ./usr/share/doc/census-agent/changelog.Debian.gz
has "$collector_deb" -rwxr-xr-x root/root ./usr/bin/census-collector
has "$collector_deb" -rwxr-xr-x root/root ./usr/bin/census
has "$collector_deb" -rw-r--r-- root/root ./etc/census/collector.toml
has "$collector_deb" -rw-r--r-- root/root ./usr/lib/systemd/system/census-collector.service
has "$collector_deb" -rw-r--r-- root/root ./usr/lib/sysusers.d/census-collector.conf
has "$collector_deb" -rw-r--r-- root/root ./usr/share/man/man1/census.1.gz
expect "the packaged catalog is agent/catalog/security-products.toml" \
    cmp -s <(dpkg-deb --fsys-tarfile "$agent_deb" | tar -xO ./usr/share/census-agent/security-products.toml) \
    agent/catalog/security-products.toml
expect "census-agent conffiles: agent.toml and the environment file" \
    test "$(dpkg-deb -I "$agent_deb" conffiles | sort | tr '\n' ' ')" = "/etc/census/agent.toml /etc/default/census-agent "
expect "census-collector conffiles: collector.toml" \
    test "$(dpkg-deb -I "$collector_deb" conffiles | tr '\n' ' ')" = "/etc/census/collector.toml "
field() { dpkg-deb -f "$1" "$2"; }
expect "census-agent Version is $version-1" test "$(field "$agent_deb" Version)" = "$version-1"
expect "census-collector Version is $version-1" test "$(field "$collector_deb" Version)" = "$version-1"
expect "census-agent Recommends ieee-data (MAC vendors)" test "$(field "$agent_deb" Recommends)" = ieee-data
for d in "$agent_deb" "$collector_deb"; do
    deps=$(field "$d" Depends)
    expect "$(field "$d" Package) Depends on libc6 and adduser ($deps)" \
        grep -Eq '(^|, )libc6 \(>= [0-9.]+\)(,|$)' <<<"$deps"
    grep -Eq '(^|, )adduser(,|$)' <<<"$deps" || fail "$(field "$d" Package): no Depends on adduser"
done
for d in "$agent_deb" "$collector_deb"; do
    echo "  $(basename "$d"): Depends: $(field "$d" Depends); Installed-Size: $(field "$d" Installed-Size) KiB; $(stat -c %s "$d") bytes"
done

step "1. lintian"
for d in "$agent_deb" "$collector_deb"; do
    pkg=$(field "$d" Package)
    # The verdict: an error or a warning fails, an overridden one does not (--show-overrides
    # would count those too, so it is only in the report below).
    out=$(lintian --fail-on error,warning "$d" 2>&1) || { echo "$out"; fail "lintian $pkg"; }
    lintian --display-info --show-overrides --fail-on none "$d" 2>&1 | grep -v '^running with root' | sed 's/^/  /'
    ok "lintian $pkg: no error, no warning that is not overridden (I: info, O: overridden with its reason)"
done

step "2. units: systemd-analyze verify and security"
for u in packaging/agent/census-agent.service packaging/collector/census-collector.service; do
    # verify wants the ExecStart binary and the units the unit is ordered with: a root with the
    # package's files and this host's system units (in lib/, apart from the package's usr/lib).
    name=$(basename "$u")
    tree=$work/verify-${name%.service}
    mkdir -p "$tree/lib/systemd"
    deb=$agent_deb; [ "$name" = census-collector.service ] && deb=$collector_deb
    dpkg-deb -x "$deb" "$tree"
    cp -a /usr/lib/systemd/system "$tree/lib/systemd/"
    cmp -s "$u" "$tree/usr/lib/systemd/system/$name" || fail "$name in $(basename "$deb") is not $u"
    out=$(systemd-analyze verify --man=no --root="$tree" "/usr/lib/systemd/system/$name" 2>&1) \
        || { echo "$out"; fail "systemd-analyze verify $name"; }
    [ -z "$out" ] || { echo "$out"; fail "systemd-analyze verify $name printed warnings"; }
    ok "systemd-analyze verify $name: no error, no warning"
done
security() { # UNIT-FILE CEILING
    local out score
    out=$(systemd-analyze security --offline=yes --no-pager "$1" 2>&1) || true
    score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' <<<"$out")
    [ -n "$score" ] || { echo "$out"; fail "systemd-analyze security $1 gave no score"; }
    echo "$out" | grep -E '^✗' | sed 's/^/    /' || true
    awk -v s="$score" -v m="$2" 'BEGIN { exit !(s <= m) }' \
        || fail "$(basename "$1"): exposure $score is above its ceiling $2"
    ok "systemd-analyze security $(basename "$1"): exposure $score (ceiling $2; lines above are what it still counts)"
}
security packaging/agent/census-agent.service "$AGENT_MAX_EXPOSURE"
security packaging/collector/census-collector.service "$COLLECTOR_MAX_EXPOSURE"

step "3. a throwaway Debian root (debootstrap --variant=minbase)"
# This host's release, so the binaries built here find the C library they were linked against.
suite=${CENSUS_CHECK_SUITE:-$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")}
mirror=${CENSUS_CHECK_MIRROR:-http://deb.debian.org/debian}
cache=/var/cache/census-ci/debootstrap
mkdir -p "$cache"
debootstrap --variant=minbase --cache-dir="$cache" "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -n 20 "$work/debootstrap.log"; fail "debootstrap $suite"; }
ok "debootstrap $suite from $mirror"
cp -a "$root" "$rroot"
mount -t proc proc "$root/proc"
mount --bind -o ro /sys "$root/sys"
mount -o remount,bind,ro "$root/sys"
cp "$agent_deb" "$collector_deb" "$root/tmp/"
in_root() { chroot "$root" "$@"; }
dpkg_i() { in_root dpkg -i "/tmp/$1" </dev/null >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "dpkg -i $1"; }; }
status() { in_root dpkg-query -W -f='${db:Status-Abbrev}${Version}' "$1" 2>/dev/null | tr -s ' ' || true; }
mode() { in_root stat -c '%a %U:%G' "$1"; }   # names from the root's own passwd

step "3. install census-agent and census-collector"
dpkg_i "$(basename "$collector_deb")"
dpkg_i "$(basename "$agent_deb")"
expect "census-agent installed ($(status census-agent))" test "$(status census-agent)" = "ii $version-1"
expect "census-collector installed ($(status census-collector))" test "$(status census-collector)" = "ii $version-1"
for u in census-agent census-collector; do
    pw=$(in_root getent passwd "$u") || fail "no system user $u"
    uid=$(cut -d: -f3 <<<"$pw")
    expect "system user $u (uid $uid, home $(cut -d: -f6 <<<"$pw"), shell $(cut -d: -f7 <<<"$pw"))" \
        test "$uid" -lt 1000 -a "$(cut -d: -f6 <<<"$pw")" = "/var/lib/$u" -a "$(cut -d: -f7 <<<"$pw")" = /usr/sbin/nologin
    expect "/var/lib/$u is 700 $u:$u" test "$(mode "/var/lib/$u")" = "700 $u:$u"
    expect "$u.service enabled (multi-user.target.wants link)" \
        test -L "$root/etc/systemd/system/multi-user.target.wants/$u.service"
done
expect "/etc/census/agent.toml is 640 root:census-agent (dpkg-statoverride)" \
    test "$(mode /etc/census/agent.toml)" = "640 root:census-agent"
expect "/etc/default/census-agent is 600 root:root" test "$(mode /etc/default/census-agent)" = "600 root:root"
expect "census-agent --version is $version" test "$(in_root census-agent --version)" = "census-agent $version"
expect "the installed catalog loads (census-agent inventory --security-catalog /usr/share/...)" \
    in_root sh -c 'census-agent --log-level error inventory --format json \
        --security-catalog /usr/share/census-agent/security-products.toml >/dev/null'

# Run a binary as its unit does: its user, UMask=0077, no new privileges, the unit's
# capabilities (ambient, bounding set) and its EnvironmentFile.
as_agent() {
    in_root /bin/sh -c 'set -a; [ -r /etc/default/census-agent ] && . /etc/default/census-agent; set +a
        umask 077
        exec setpriv --reuid=census-agent --regid=census-agent --init-groups --no-new-privs \
            --inh-caps=-all,+net_raw,+dac_read_search --ambient-caps=-all,+net_raw,+dac_read_search \
            --bounding-set=-all,+net_raw,+dac_read_search "$@"' as_agent "$@"
}
expect "the agent runs with exactly CAP_NET_RAW and CAP_DAC_READ_SEARCH" \
    test "$(as_agent grep CapEff /proc/self/status | awk '{print $2}')" = 0000000000002004

step "3. end to end: the packaged collector and agent in the root, on 127.0.0.1"
# exec: $! is then the collector itself (chroot, sh and setpriv each exec the next).
(exec chroot "$root" /bin/sh -c 'umask 077
    exec setpriv --reuid=census-collector --regid=census-collector --init-groups --no-new-privs \
        --inh-caps=-all --bounding-set=-all \
        census-collector serve --config /etc/census/collector.toml --listen 127.0.0.1:0') \
    >"$work/collector.out" 2>"$work/collector.log" &
collector_pid=$!
for _ in $(seq 100); do
    [ -s "$work/collector.out" ] && break
    kill -0 "$collector_pid" 2>/dev/null || { cat "$work/collector.log"; fail "the packaged collector did not start"; }
    sleep 0.1
done
url=$(sed -n '1s/^census-collector listening on //p' "$work/collector.out")
[ -n "$url" ] || { cat "$work/collector.out" "$work/collector.log"; fail "the collector printed no URL"; }
ok "census-collector (user census-collector, no capabilities) serves $url from /var/lib/census-collector"
expect "the collector's files are in /var/lib/census-collector, owned by census-collector" \
    test "$(mode /var/lib/census-collector/census.db)" = "600 census-collector:census-collector" \
    -a "$(mode /var/lib/census-collector/ca.pem)" = "644 census-collector:census-collector"

# What README.md tells an admin: the CA to /etc/census/ca.pem, the rest in the environment file.
cp "$root/var/lib/census-collector/ca.pem" "$root/etc/census/ca.pem"
chmod 644 "$root/etc/census/ca.pem"
cat >>"$root/etc/default/census-agent" <<EOF
CENSUS_COLLECTOR=$url
CENSUS_CA=/etc/census/ca.pem
CENSUS_ENROLL_SECRET=$(cat "$root/var/lib/census-collector/enroll-secret")
EOF
as_agent census-agent --log-level warn run --config /etc/census/agent.toml --once >"$work/agent.log" 2>&1 \
    || { cat "$work/agent.log"; fail "census-agent run --config /etc/census/agent.toml --once"; }
ok "census-agent run --config /etc/census/agent.toml --once: enrolled and reported"
expect "the agent's key is /var/lib/census-agent/agent.key, 600 census-agent" \
    test "$(mode /var/lib/census-agent/agent.key)" = "600 census-agent:census-agent"
key_sum=$(sha256sum <"$root/var/lib/census-agent/agent.key")
host=$(cat /proc/sys/kernel/hostname)
census() {
    in_root env CENSUS_SERVER="$url" CENSUS_CA=/var/lib/census-collector/ca.pem \
        CENSUS_TOKEN="$(cat "$root/var/lib/census-collector/admin-token")" census "$@"
}
census hosts | tee "$work/hosts.txt" | sed 's/^/    /'
expect "census hosts lists this host ($host)" grep -qw -- "$host" "$work/hosts.txt"

step "3. upgrade to $version-2 (the same files, a bumped version)"
# The edited conffile (environment file) must be kept, the untouched one (agent.toml) too, and
# the agent's key (its identity) must not change.
repack() { # DEB VERSION OUT
    local d=$work/repack
    rm -rf "$d"
    dpkg-deb -R "$1" "$d"
    sed -i "s/^Version: .*/Version: $2/" "$d/DEBIAN/control"
    dpkg-deb --root-owner-group -b "$d" "$3" >/dev/null
}
repack "$agent_deb" "$version-2" "$root/tmp/census-agent_${version}-2_$arch.deb"
repack "$collector_deb" "$version-2" "$root/tmp/census-collector_${version}-2_$arch.deb"
dpkg_i "census-agent_${version}-2_$arch.deb"
expect "census-agent upgraded ($(status census-agent))" test "$(status census-agent)" = "ii $version-2"
expect "the agent's key survived the upgrade" test "$(sha256sum <"$root/var/lib/census-agent/agent.key")" = "$key_sum"
expect "the admin's /etc/default/census-agent was kept" grep -q "^CENSUS_COLLECTOR=$url" "$root/etc/default/census-agent"
expect "/etc/census/agent.toml is still 640 root:census-agent" test "$(mode /etc/census/agent.toml)" = "640 root:census-agent"
as_agent census-agent --log-level warn run --config /etc/census/agent.toml --once >"$work/agent.log" 2>&1 \
    || { cat "$work/agent.log"; fail "the upgraded agent could not report"; }
ok "the upgraded agent reported with its old key"
agents=$(census agents list --format csv | tail -n +2 | wc -l)
expect "the collector knows one agent, not two ($agents)" test "$agents" = 1
dpkg_i "census-agent_${version}-2_$arch.deb"
expect "census-agent reinstalled ($(status census-agent))" test "$(status census-agent)" = "ii $version-2"
# The collector: stop it as systemd would for the upgrade, upgrade, start it again.
kill "$collector_pid"; wait "$collector_pid" 2>/dev/null || true; collector_pid=
db_sum=$(sha256sum <"$root/var/lib/census-collector/ca.pem")
dpkg_i "census-collector_${version}-2_$arch.deb"
expect "census-collector upgraded ($(status census-collector))" test "$(status census-collector)" = "ii $version-2"
expect "the collector's CA survived the upgrade" test "$(sha256sum <"$root/var/lib/census-collector/ca.pem")" = "$db_sum"

step "3. remove: configuration and state stay"
in_root dpkg -r census-agent census-collector </dev/null >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "dpkg -r"; }
for p in census-agent census-collector; do
    expect "$p removed, its configuration kept ($(status $p))" test "$(status $p)" = "rc $version-2"
done
expect "the binaries are gone" test ! -e "$root/usr/bin/census-agent" -a ! -e "$root/usr/bin/census-collector" -a ! -e "$root/usr/bin/census"
expect "the agent's key is kept" test "$(sha256sum <"$root/var/lib/census-agent/agent.key")" = "$key_sum"
expect "the collector's database is kept" test -s "$root/var/lib/census-collector/census.db"
expect "the configuration files are kept" test -f "$root/etc/census/agent.toml" -a -f "$root/etc/census/collector.toml" -a -f "$root/etc/default/census-agent"

step "3. reinstall after remove, then purge: everything goes"
dpkg_i "census-agent_${version}-2_$arch.deb"
expect "re-installed census-agent still has its key" test "$(sha256sum <"$root/var/lib/census-agent/agent.key")" = "$key_sum"
rm -f "$root/etc/census/ca.pem"   # the admin's own file: not the package's to remove
in_root dpkg -P census-agent census-collector </dev/null >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "dpkg -P"; }
for p in census-agent census-collector; do
    expect "$p purged" test -z "$(status $p)"
done
expect "/var/lib/census-agent and /var/lib/census-collector are gone" \
    test ! -e "$root/var/lib/census-agent" -a ! -e "$root/var/lib/census-collector"
expect "/etc/census and /etc/default/census-agent are gone" test ! -e "$root/etc/census" -a ! -e "$root/etc/default/census-agent"
expect "no dpkg-statoverride is left" test -z "$(in_root dpkg-statoverride --list '*census*')"
rm -f "$root"/tmp/census-*.deb
left=$(cd "$root" && find . -xdev \( -path ./proc -o -path ./sys \) -prune -o -name '*census*' -print)
[ -z "$left" ] || { echo "$left"; fail "files left after purge"; }
ok "no file named *census* is left in the root (the system users stay, as Debian's do)"

step "4. the .rpm files: rpm -qpi, -qpl, --scripts"
for r in "$agent_rpm" "$collector_rpm"; do
    echo "  -- rpm -qpi $(basename "$r")"
    rpm -qpi "$r" 2>/dev/null | sed 's/^/    /'
    echo "  -- files (mode, owner, group, flags: c = config, n = noreplace, d = doc)"
    rpm -qp --qf '[%{FILEMODES:perms} %{FILEUSERNAME} %{FILEGROUPNAME} %-3{FILEFLAGS:fflags} %{FILENAMES}\n]' "$r" 2>/dev/null | sed 's/^/    /'
    echo "  -- requires: $(rpm -qp --requires "$r" 2>/dev/null | tr '\n' ' ')"
done
rpmfiles() { rpm -qp --qf '[%{FILEMODES:perms} %{FILEUSERNAME} %{FILEGROUPNAME} %{FILEFLAGS:fflags} %{FILENAMES}\n]' "$1" 2>/dev/null; }
rpmhas() { # RPM LINE
    rpmfiles "$1" | grep -qxF -- "$2" || fail "$(basename "$1"): no \"$2\""
    ok "$(basename "$1"): $2"
}
rpmhas "$agent_rpm" "-rwxr-xr-x root root  /usr/bin/census-agent"
rpmhas "$agent_rpm" "-rw-r----- root census-agent cn /etc/census/agent.toml"
rpmhas "$agent_rpm" "-rw------- root root cn /etc/sysconfig/census-agent"
rpmhas "$agent_rpm" "-rw-r--r-- root root  /usr/lib/systemd/system/census-agent.service"
rpmhas "$agent_rpm" "-rw-r--r-- root root  /usr/share/census-agent/security-products.toml"
rpmhas "$collector_rpm" "-rwxr-xr-x root root  /usr/bin/census-collector"
rpmhas "$collector_rpm" "-rwxr-xr-x root root  /usr/bin/census"
rpmhas "$collector_rpm" "-rw-r--r-- root root cn /etc/census/collector.toml"
for pair in "$agent_rpm:agent/census-agent" "$collector_rpm:collector/census-collector"; do
    r=${pair%%:*} base=packaging/${pair#*:}
    expect "$(basename "$r"): version $version, release 1" test "$(rpm -qp --qf '%{VERSION}-%{RELEASE}' "$r" 2>/dev/null)" = "$version-1"
    scripts=$(rpm -qp --scripts "$r" 2>/dev/null)
    # Each scriptlet is the file under packaging/, not its path taken as text.
    for s in pre post preun postun; do
        f=packaging/${pair#*:}; f=${f%/*}/rpm/$s
        grep -qF "$(sed -n 2p "$f")" <<<"$scripts" || { echo "$scripts"; fail "$(basename "$r"): %$s is not $f"; }
    done
    ok "$(basename "$r"): %pre, %post, %preun, %postun are ${base%/*}/rpm/*"
    sysusers_line=$(grep '^u ' "$base.sysusers")
    grep -qF "echo '$sysusers_line'" <<<"$scripts" || fail "$(basename "$r"): %pre does not create the user of $base.sysusers"
    ok "$(basename "$r"): %pre creates the user $base.sysusers names"
done

step "4. rpm --root: install into a second copy of the Debian root"
mount -t proc proc "$rroot/proc"
rpm --root "$rroot" --initdb
rpm --root "$rroot" --nodeps -i "$agent_rpm" "$collector_rpm" >"$work/rpm.log" 2>&1 || { cat "$work/rpm.log"; fail "rpm -i"; }
sed 's/^/    /' "$work/rpm.log"   # Debian's rpm says to use alien instead; nothing else
ok "rpm --root $rroot -i --nodeps: both installed, %pre and %post ran in the root"
expect "rpm -q: $(rpm --root "$rroot" -q census-agent census-collector | tr '\n' ' ')" quiet rpm --root "$rroot" -q census-agent census-collector
out=$(rpm --root "$rroot" -V --nodeps census-agent census-collector 2>&1) || { echo "$out"; fail "rpm -V"; }
ok "rpm -V: every file, mode and owner as packaged"
for u in census-agent census-collector; do
    expect "%pre made the system user $u ($(chroot "$rroot" getent passwd "$u"))" quiet chroot "$rroot" getent passwd "$u"
done
expect "%post made /var/lib/census-agent, 700 census-agent" \
    test "$(chroot "$rroot" stat -c '%a %U:%G' /var/lib/census-agent)" = "700 census-agent:census-agent"
expect "%post made /var/lib/census-collector, 700 census-collector" \
    test "$(chroot "$rroot" stat -c '%a %U:%G' /var/lib/census-collector)" = "700 census-collector:census-collector"
expect "/etc/census/agent.toml is 640 root:census-agent" \
    test "$(chroot "$rroot" stat -c '%a %U:%G' /etc/census/agent.toml)" = "640 root:census-agent"
expect "the rpm's census-agent runs" quiet chroot "$rroot" census-agent --version
expect "the rpm's census-collector and census run" quiet chroot "$rroot" sh -c 'census-collector --version && census --version'
rpm --root "$rroot" --nodeps -U --replacepkgs "$agent_rpm" "$collector_rpm" >"$work/rpm.log" 2>&1 || { cat "$work/rpm.log"; fail "rpm -U --replacepkgs"; }
ok "rpm -U --replacepkgs: reinstalled"
# Erase: state and edited configuration stay (.rpmsave), as RPM packages leave data.
chroot "$rroot" setpriv --reuid=census-agent --regid=census-agent --init-groups sh -c 'echo key > /var/lib/census-agent/agent.key'
echo "CENSUS_COLLECTOR=https://collector.example:8443" >>"$rroot/etc/sysconfig/census-agent"
rpm --root "$rroot" --nodeps -e census-agent census-collector >"$work/rpm.log" 2>&1 || { cat "$work/rpm.log"; fail "rpm -e"; }
expect "rpm -e: both erased" test -z "$(rpm --root "$rroot" -qa 'census*')"
expect "rpm -e: the binaries are gone" test ! -e "$rroot/usr/bin/census-agent" -a ! -e "$rroot/usr/bin/census"
expect "rpm -e: the agent's state is kept" test -f "$rroot/var/lib/census-agent/agent.key"
expect "rpm -e: the edited environment file is saved as .rpmsave" test -f "$rroot/etc/sysconfig/census-agent.rpmsave"

step "passed"
echo "check.sh: the packages passed every check ($(( $(date +%s) - start ))s)"
