#!/usr/bin/env bash
# Type-checks the Apex in apex/ (or the sfdx project given as $1) offline, against the standard
# library and the project's own objects, with apex-ls (Apex Dev Tools). apex-ls ships inside the
# devDependency @salesforce/code-analyzer-pmd-engine, so nothing is downloaded. Needs Java 11+.
#
#   scripts/apex-check.sh            # check apex/
#   scripts/apex-check.sh path/to/p  # check another sfdx project (a directory with sfdx-project.json)
#
# Exit status: 0 clean; 1 type errors or unresolved references (listed on stdout); 2 apex-ls
# itself failed; 3 java or the jars are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

workspace="${1:-apex}"
lib="node_modules/@salesforce/code-analyzer-pmd-engine/dist/java-lib"
# apex-ls's command-line checker (io.github.apexdevtools.apexls.CheckForIssues in apex-ls_2.13-*.jar).
main_class="io.github.apexdevtools.apexls.CheckForIssues"

if ! command -v java >/dev/null 2>&1; then
  echo "apex-check: java is not on PATH; install a JDK (11 or later) to type-check the Apex." >&2
  exit 3
fi
if ! compgen -G "$lib/apex-ls_*.jar" >/dev/null; then
  echo "apex-check: $lib/apex-ls_*.jar is missing; run npm ci (it comes with @salesforce/code-analyzer-pmd-engine)." >&2
  exit 3
fi
if [ ! -f "$workspace/sfdx-project.json" ]; then
  echo "apex-check: $workspace/sfdx-project.json not found; pass the directory of an sfdx project." >&2
  exit 3
fi

# --nocache: nothing written under $HOME; --detail errors: unused-code warnings do not fail the check.
status=0
output=$(java -cp "$lib/*" "$main_class" --nocache --detail errors --workspace "$workspace" 2>&1) || status=$?
case "$status" in
  0)
    echo "apex-check: $workspace type-checks (apex-ls, $(ls "$lib" | grep -o 'apex-ls_[^ ]*\.jar'))"
    ;;
  4)
    # CheckForIssues exits 4 when it found issues: each file, then "Error|Missing: line N at a-b: message".
    echo "$output"
    echo "apex-check: $workspace has Apex errors (above)." >&2
    exit 1
    ;;
  *)
    echo "$output" >&2
    echo "apex-check: apex-ls stopped with status $status (1 = bad arguments, 3 = internal error)." >&2
    exit 2
    ;;
esac
