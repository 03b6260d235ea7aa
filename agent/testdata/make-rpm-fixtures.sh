#!/usr/bin/env bash
# Regenerates the rpm fixture roots and the rpm_header fuzz seeds with the real tools.
#
#   roots/rpm-fedora40/      etc/os-release (Fedora 40), usr/lib/sysimage/rpm/rpmdb.sqlite, and
#                            var/lib/rpm -> ../../usr/lib/sysimage/rpm as on Fedora 36+
#   roots/rpm-centos7/       etc/os-release (CentOS 7), var/lib/rpm/Packages: a Berkeley DB hash
#                            holding the same rpm headers, read only through the rpm tool
#   ../../fuzz/seeds/rpm_header/   the header blobs of the sqlite database, one file each
#
# Needs (Debian 12): apt-get install -y rpm db-util sqlite3 gpg python3
#
# What it does:
#   1. rpmbuild -bb three tiny packages (specs below): acme-agent (Epoch: 2, a Packager),
#      snapshot-utils (version with ^, noarch), libwidget-tools (version with ~, a Vendor, built
#      from the libwidget source rpm). SOURCE_DATE_EPOCH fixes build times.
#   2. rpm --root T --dbpath /var/lib/rpm --define '_db_backend sqlite' --initdb, then
#      rpm -i --nodeps --noscripts --justdb for each package, and rpm --import of a fresh gpg key
#      (a gpg-pubkey pseudo-package, which census skips). rpm 4.18 takes the install time from
#      SOURCE_DATE_EPOCH when set, which fixes them: 2024-05-01 12:00:00, 2024-05-02 08:30:00,
#      2024-05-03 17:45:10 and 2024-05-04 09:00:00 UTC.
#   3. sqlite3: journal_mode=DELETE, page_size=512, VACUUM (about 44 KB), then journal_mode=WAL
#      again, as rpm leaves it on real systems.
#   4. db_load -T -t hash builds var/lib/rpm/Packages from the same blobs (key: the header
#      number, 4 bytes little-endian, as rpm's bdb backend stores it); Debian's rpm reads it
#      with its bdb_ro backend.
#
# The gpg key (and so the gpg-pubkey header) differs on every run. Everything the tests assert
# is fixed by the steps above, except that the hand-written expectations in
# agent/src/sources/rpm.rs must still be checked after a regeneration.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
roots=$here/roots
seeds=$here/../../fuzz/seeds/rpm_header
for tool in rpm rpmbuild db_load sqlite3 gpg python3; do
    command -v "$tool" >/dev/null || { echo "make-rpm-fixtures: $tool not found" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export TZ=UTC LC_ALL=C SOURCE_DATE_EPOCH=1704067200
mkdir -p "$work/SPECS"

cat >"$work/SPECS/acme-agent.spec" <<'EOF'
Name:           acme-agent
Epoch:          2
Version:        1.4.0
Release:        3.fc40
Summary:        Acme monitoring agent (census test fixture)
License:        MIT
Packager:       Acme Builders <builders@acme.example>

%description
A tiny package built for the census rpm fixtures.

%install
mkdir -p %{buildroot}/usr/bin
printf '#!/bin/sh\necho acme agent\n' > %{buildroot}/usr/bin/acme-agent
chmod 755 %{buildroot}/usr/bin/acme-agent

%files
/usr/bin/acme-agent
EOF

cat >"$work/SPECS/snapshot-utils.spec" <<'EOF'
Name:           snapshot-utils
Version:        0.9^20240105git1a2b3c
Release:        1.fc40
Summary:        Snapshot tools (census test fixture)
License:        MIT
BuildArch:      noarch

%description
A tiny package built for the census rpm fixtures.

%install
mkdir -p %{buildroot}/usr/share/snapshot-utils
echo snapshot > %{buildroot}/usr/share/snapshot-utils/README

%files
/usr/share/snapshot-utils/README
EOF

cat >"$work/SPECS/libwidget.spec" <<'EOF'
Name:           libwidget
Version:        5.2~rc1
Release:        0.2.fc40
Summary:        Widget library (census test fixture)
License:        MIT
Vendor:         Widget Corp

%description
A tiny package built for the census rpm fixtures.

%package tools
Summary:        Widget command line tools

%description tools
The tools subpackage, whose source rpm is libwidget.

%install
mkdir -p %{buildroot}/usr/bin
head -c 3000 /dev/zero | tr '\0' 'w' > %{buildroot}/usr/bin/widgetctl
chmod 755 %{buildroot}/usr/bin/widgetctl

%files tools
/usr/bin/widgetctl
EOF

for spec in "$work"/SPECS/*.spec; do
    rpmbuild -bb --quiet \
        --define "_topdir $work" \
        --define "_buildhost fixtures.census.example" \
        --define "use_source_date_epoch_as_buildtime 1" \
        --define "clamp_mtime_to_source_date_epoch 1" \
        --define "_build_id_links none" \
        "$spec" >/dev/null
done

db=(--root "$work/root" --dbpath /var/lib/rpm --define "_db_backend sqlite")
mkdir -p "$work/root"
rpm "${db[@]}" --initdb
install_at() {
    SOURCE_DATE_EPOCH=$1 rpm "${db[@]}" -i --nodeps --noscripts --justdb "$2" 2>/dev/null
}
install_at 1714564800 "$work"/RPMS/x86_64/acme-agent-*.rpm
install_at 1714638600 "$work"/RPMS/noarch/snapshot-utils-*.rpm
install_at 1714758310 "$work"/RPMS/x86_64/libwidget-tools-*.rpm

export GNUPGHOME=$work/gnupg
mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --passphrase '' --quick-gen-key 'Census Fixture Signing <fixtures@census.example>' \
    rsa2048 sign never 2>/dev/null
gpg --armor --export fixtures@census.example >"$work/key.asc"
SOURCE_DATE_EPOCH=1714813200 rpm "${db[@]}" --import "$work/key.asc"

sqlite=$work/rpmdb.sqlite
cp "$work/root/var/lib/rpm/rpmdb.sqlite" "$sqlite"
sqlite3 "$sqlite" 'PRAGMA journal_mode=DELETE;' 'PRAGMA page_size=512;' 'VACUUM;' >/dev/null
sqlite3 "$sqlite" 'PRAGMA journal_mode=WAL;' >/dev/null
rm -f "$sqlite-wal" "$sqlite-shm"

fedora=$roots/rpm-fedora40
rm -rf "$fedora"
mkdir -p "$fedora/etc" "$fedora/usr/lib/sysimage/rpm" "$fedora/var/lib"
cp "$sqlite" "$fedora/usr/lib/sysimage/rpm/rpmdb.sqlite"
ln -s ../../usr/lib/sysimage/rpm "$fedora/var/lib/rpm"
cat >"$fedora/etc/os-release" <<'EOF'
NAME="Fedora Linux"
VERSION="40 (Forty)"
ID=fedora
VERSION_ID=40
PRETTY_NAME="Fedora Linux 40 (Forty)"
EOF

centos=$roots/rpm-centos7
rm -rf "$centos"
mkdir -p "$centos/etc" "$centos/var/lib/rpm"
cat >"$centos/etc/os-release" <<'EOF'
NAME="CentOS Linux"
VERSION="7 (Core)"
ID="centos"
ID_LIKE="rhel fedora"
VERSION_ID="7"
PRETTY_NAME="CentOS Linux 7 (Core)"
EOF

rm -rf "$seeds"
mkdir -p "$seeds"
python3 - "$sqlite" "$work/bdb.txt" "$seeds" <<'EOF'
import sqlite3, struct, sys
db, dump, seeds = sys.argv[1:]
hexed = lambda b: ''.join('\\%02x' % x for x in b)
with open(dump, 'w') as out:
    for hnum, blob in sqlite3.connect(db).execute('SELECT hnum, blob FROM Packages ORDER BY hnum'):
        out.write(hexed(struct.pack('<I', hnum)) + '\n' + hexed(blob) + '\n')
        open(f'{seeds}/header-{hnum}', 'wb').write(blob)
EOF
db_load -T -t hash -f "$work/bdb.txt" "$centos/var/lib/rpm/Packages"

# Check on a copy: rpm opens a WAL database read-write and would leave -wal/-shm files.
mkdir -p "$work/check/var/lib/rpm"
cp "$sqlite" "$work/check/var/lib/rpm/rpmdb.sqlite"
rpm --root "$work/check" --dbpath /var/lib/rpm -qa | sort
echo "make-rpm-fixtures: wrote $fedora, $centos and $(ls "$seeds" | wc -l) seeds"
