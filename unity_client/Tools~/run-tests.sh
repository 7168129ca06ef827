#!/usr/bin/env bash
# Builds Ibeat.Core with Mono's mcs and runs its NUnit tests, outside Unity.
#
#   unity_client/Tools~/run-tests.sh            build + unit tests; prints "C# unit tests: N passed, N failed"
#   unity_client/Tools~/run-tests.sh e2e ARGS   build + run the end-to-end console client with ARGS
#                                               (--server ws://127.0.0.1:8765 --frames F --out R.json)
#
# Needs mono-devel (mcs, mono) and nunit-console 2.6 (Debian: mono-devel, nunit-console).
# Build outputs go to $IBEAT_CS_OUT, or a fresh temporary directory: never into the package,
# which Unity would import. mcs takes C# 7.2 at most (no local functions, `case ... when`, digit
# separators, switch expressions, `using var`), so Core stays within that, and within
# .NET Standard 2.1 for Unity 2021.3.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
package="$(dirname "$here")"
mode="${1:-test}"
if [[ $# -gt 0 ]]; then shift; fi

out="${IBEAT_CS_OUT:-}"
if [[ -z "$out" ]]; then
    # A directory of our own: removed on exit (set IBEAT_CS_OUT to keep the outputs).
    out="$(mktemp -d "${TMPDIR:-/tmp}/ibeat-cs.XXXXXX")"
    trap 'rm -rf "$out"' EXIT
fi
mkdir -p "$out"

for tool in mcs mono; do
    command -v "$tool" >/dev/null || { echo "run-tests.sh: $tool not found (apt-get install mono-devel)" >&2; exit 2; }
done

# Warnings are errors: Unity shows every warning of a package to its users.
mcs_flags=(-langversion:7.2 -warnaserror+ -nologo -debug)

mcs "${mcs_flags[@]}" -target:library -out:"$out/Ibeat.Core.dll" \
    -r:System.dll -r:System.Core.dll \
    "$package"/Runtime/Core/*.cs

case "$mode" in
test)
    command -v nunit-console >/dev/null || { echo "run-tests.sh: nunit-console not found (apt-get install nunit-console)" >&2; exit 2; }
    nunit_dll="$(ls -d /usr/lib/cli/nunit.framework-2.6*/nunit.framework.dll 2>/dev/null | head -n 1 || true)"
    if [[ -z "$nunit_dll" ]]; then
        echo "run-tests.sh: nunit.framework 2.6 not found under /usr/lib/cli" >&2
        exit 2
    fi
    # The test assembly's name must be Ibeat.Core.Tests: Core grants it InternalsVisibleTo.
    mcs "${mcs_flags[@]}" -target:library -out:"$out/Ibeat.Core.Tests.dll" \
        -r:"$out/Ibeat.Core.dll" -r:"$nunit_dll" -r:System.dll -r:System.Core.dll \
        "$package"/Tests/Editor/*.cs
    cp "$nunit_dll" "$out/"

    result="$out/TestResult.xml"
    rm -f "$result"
    set +e
    (cd "$out" && nunit-console -nologo -labels=off -xml="$result" Ibeat.Core.Tests.dll) > "$out/nunit.log" 2>&1
    nunit_rc=$?
    set -e
    if [[ ! -f "$result" ]]; then
        cat "$out/nunit.log" >&2
        echo "run-tests.sh: nunit-console wrote no result (exit $nunit_rc)" >&2
        exit 1
    fi
    # <test-results total="N" errors="N" failures="N" not-run="N" ...>
    attr() { sed -n "s/.*<test-results[^>]* $1=\"\([0-9]*\)\".*/\1/p" "$result" | head -n 1; }
    total="$(attr total)"
    errors="$(attr errors)"
    failures="$(attr failures)"
    failed=$((failures + errors))
    passed=$((total - failed))
    if (( failed > 0 || nunit_rc != 0 )); then
        # Show what failed: nunit's own report lists each failure with its message.
        sed -n '/^Errors and Failures:/,/^Tests Not Run:/p' "$out/nunit.log" >&2 || true
    fi
    echo "C# unit tests: $passed passed, $failed failed"
    if (( failed > 0 || nunit_rc != 0 || total == 0 )); then exit 1; fi
    ;;
e2e)
    mcs "${mcs_flags[@]}" -target:exe -out:"$out/E2EClient.exe" \
        -r:"$out/Ibeat.Core.dll" -r:System.dll -r:System.Core.dll \
        "$here"/E2E/*.cs
    # Keep the user's working directory: relative --frames / --out paths stay valid.
    mono --debug "$out/E2EClient.exe" "$@"
    ;;
*)
    echo "usage: run-tests.sh [test | e2e ARGS...]" >&2
    exit 2
    ;;
esac
