#!/usr/bin/env bash
# Download the benchmark corpus: pinned, SQLAlchemy-heavy Python packages from PyPI.
#
#   bench/corpus.sh [DEST]      # DEST defaults to ${SQLALINT_CORPUS:-/tmp/sqla-corpus}
#
# Each package is fetched once (`pip download --no-deps`, exact version), unpacked
# into DEST/<name>-<version>/ and reduced to its .py files; a `.done` marker makes
# re-runs skip it (delete the folder to refetch). Archives stay in DEST/.downloads.
# Prints a files/lines/bytes table and saves it as DEST/STATS.tsv.
# Needs python3 with pip, unzip and tar, and network access to PyPI.
set -euo pipefail

DEST="${1:-${SQLALINT_CORPUS:-/tmp/sqla-corpus}}"
DL="$DEST/.downloads"
mkdir -p "$DL"

# name version kind (wheel | sdist: sdists bring tests and examples)
PACKAGES=(
  "apache-airflow-core 3.3.2 wheel"
  "apache-superset 6.1.0 wheel"
  "flask-appbuilder 5.3.0 wheel"
  "sqlalchemy 2.1.9 sdist"
  "alembic 1.20.1 sdist"
  "sqlmodel 0.0.50 wheel"
  "fastapi-users 15.0.5 wheel"
  "fastapi-users-db-sqlalchemy 7.0.0 wheel"
  "sqlalchemy-utils 0.43.0 wheel"
  "mlflow 3.18.0 wheel"
)

pip_download() {
  python3 -m pip download --no-deps --ignore-requires-python --disable-pip-version-check -q -d "$DL" "$@"
}

# The archive of name==version in $DL, if already downloaded (names differ in case and -/_).
archive_of() {
  local name="$1" version="$2" kind="$3" norm="${1//-/_}"
  if [[ "$kind" == wheel ]]; then
    find "$DL" -maxdepth 1 -xtype f -iname "$norm-$version-*.whl" -print -quit
  else
    find "$DL" -maxdepth 1 -xtype f \( -iname "$norm-$version.tar.gz" -o -iname "$name-$version.tar.gz" \) -print -quit
  fi
}

for entry in "${PACKAGES[@]}"; do
  read -r name version kind <<<"$entry"
  out="$DEST/$name-$version"
  [[ -f "$out/.done" ]] && continue
  archive=$(archive_of "$name" "$version" "$kind")
  if [[ -z "$archive" ]]; then
    echo "downloading $name==$version ($kind)" >&2
    if [[ "$kind" == wheel ]]; then
      pip_download --only-binary=:all: "$name==$version"
    else
      pip_download --no-binary "$name" "$name==$version"
    fi
    archive=$(archive_of "$name" "$version" "$kind")
    [[ -n "$archive" ]] || { echo "no archive found for $name==$version" >&2; exit 1; }
  fi
  rm -rf "$out"
  mkdir -p "$out"
  if [[ "$kind" == wheel ]]; then
    unzip -q -o "$archive" -d "$out"
  else
    tar -xzf "$archive" -C "$out" --strip-components=1
  fi
  # Keep regular .py files only; drop symlinks, everything else, then empty folders.
  find "$out" -type l -delete
  find "$out" -type f ! -name '*.py' -delete
  find "$out" -mindepth 1 -type d -empty -delete
  touch "$out/.done"
done

python3 - "$DEST" "${PACKAGES[@]}" <<'PY' | tee "$DEST/STATS.tsv"
import os, sys
dest, entries = sys.argv[1], sys.argv[2:]
print("package\tfiles\tlines\tbytes")
total = [0, 0, 0]
for entry in entries:
    name, version, _ = entry.split()
    files = lines = size = 0
    for folder, _, names in os.walk(os.path.join(dest, f"{name}-{version}")):
        for fn in names:
            if fn.endswith(".py"):
                with open(os.path.join(folder, fn), "rb") as fh:
                    data = fh.read()
                files += 1
                size += len(data)
                lines += data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
    total = [total[0] + files, total[1] + lines, total[2] + size]
    print(f"{name}-{version}\t{files}\t{lines}\t{size}")
print("TOTAL\t%d\t%d\t%d" % tuple(total))
PY
