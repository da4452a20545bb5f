#!/usr/bin/env bash
# Checks docs/ with HashiCorp's own validator, `tfplugindocs validate` (testbed/install-tfplugindocs.sh), against
# the provider schema as Terraform reports it for this build: front matter the Registry accepts (no `subcategory` on
# index.md, no `layout`, a `page_title` on guides), only Registry directories and `.md` files, and one page per
# resource, action and function of the schema and no page for anything the schema lacks. Terraform's schema, not
# OpenTofu's: OpenTofu 1.12 reports no action schemas, and without them tfplugindocs skips the check of
# docs/actions/. OpenTofu must still read the schema, and report the same resources and functions.
# Exit status 1 when it finds an error. No LocalStack and no network: `providers schema -json` never configures the
# provider.
#
#   testbed/docs-validate.sh [BUILD_DIR]     BUILD_DIR holds terraform-provider-crossrepl
#                                            (default: <cargo target dir>/debug; the Makefile passes it)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_DIR="${CACHE_DIR:-$ROOT/.cache}"
TOFU="$CACHE_DIR/bin/tofu"
TERRAFORM="$CACHE_DIR/bin/terraform"
TFPLUGINDOCS="$CACHE_DIR/bin/tfplugindocs"
SOURCE=registry.terraform.io/crossrepl/crossrepl
if [ $# -ge 1 ]; then
  BUILD_DIR="$1"
else
  BUILD_DIR="$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps --offline \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/debug"
fi
BUILD_DIR="$(cd "$BUILD_DIR" && pwd)"

for tool in "$TOFU" "$TERRAFORM" "$TFPLUGINDOCS"; do
  [ -x "$tool" ] || { echo "docs-validate: no $tool (make setup-tofu setup-terraform setup-tfplugindocs)" >&2; exit 1; }
done
[ -x "$BUILD_DIR/terraform-provider-crossrepl" ] || {
  echo "docs-validate: no $BUILD_DIR/terraform-provider-crossrepl (make build)" >&2; exit 1; }

WORK="$CACHE_DIR/docs-validate"
rm -rf "$WORK"
mkdir -p "$WORK/config"

# 1. The schema, as `terraform providers schema -json` and `tofu providers schema -json` print it for this build: a
#    dev override (no init, no mirror).
cat > "$WORK/dev.tfrc" <<EOF
provider_installation {
  dev_overrides {
    "$SOURCE" = "$BUILD_DIR"
  }
  direct {
    exclude = ["$SOURCE"]
  }
}
EOF
# The full address: OpenTofu would read a bare "crossrepl/crossrepl" as registry.opentofu.org/crossrepl/crossrepl.
cat > "$WORK/config/main.tf" <<EOF
terraform {
  required_providers {
    crossrepl = { source = "$SOURCE" }
  }
}
EOF
# Nothing of the caller's TF_* environment (plugin caches, another CLI config) may change what the engines do.
while read -r var; do unset "$var"; done < <(compgen -e | grep '^TF_' || true)
for engine in tofu terraform; do
  bin="$TOFU"; [ "$engine" = terraform ] && bin="$TERRAFORM"
  TF_CLI_CONFIG_FILE="$WORK/dev.tfrc" CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1 \
    "$bin" -chdir="$WORK/config" providers schema -json > "$WORK/$engine-providers-schema.json" 2> "$WORK/$engine.stderr" || {
    cat "$WORK/$engine.stderr" >&2; echo "docs-validate: $engine providers schema -json failed" >&2; exit 1; }
done

# 2. tfplugindocs looks a provider up only as `<name>` or `registry.terraform.io/hashicorp/<name>` in that file
#    (the address it gives a provider when it runs Terraform itself), so the entry of our address is renamed.
python3 - "$WORK/terraform-providers-schema.json" "$WORK/tofu-providers-schema.json" "$WORK/providers-schema.json" \
  "$SOURCE" <<'PY'
import json, sys
terraform, tofu, dst, source = sys.argv[1:]
def ours(path):
    schemas = json.load(open(path)).get("provider_schemas", {})
    if source not in schemas:
        sys.exit(f"docs-validate: `providers schema -json` of {path} has no {source} (it has {sorted(schemas)})")
    return schemas[source]
tf, ot = ours(terraform), ours(tofu)
for part in ("resource_schemas", "functions"):
    if sorted(tf.get(part, {})) != sorted(ot.get(part, {})):
        sys.exit(f"docs-validate: Terraform and OpenTofu report different {part}: "
                 f"{sorted(tf.get(part, {}))} vs {sorted(ot.get(part, {}))}")
if not tf.get("action_schemas"):
    sys.exit("docs-validate: Terraform reports no action schemas, so docs/actions/ would go unchecked")
doc = json.load(open(terraform))
doc["provider_schemas"] = {"crossrepl": tf}
json.dump(doc, open(dst, "w"))
PY

# 3. The validator. --provider-dir is the repository root (it reads docs/ there). It logs every file it looks at
#    with [DEBUG] lines, always: those stay in the log file.
rc=0
"$TFPLUGINDOCS" validate --provider-dir "$ROOT" --provider-name crossrepl \
  --providers-schema "$WORK/providers-schema.json" > "$WORK/tfplugindocs.log" 2>&1 || rc=$?
grep -v '\[DEBUG\]' "$WORK/tfplugindocs.log" || true
if [ "$rc" -ne 0 ]; then
  echo "docs-validate: docs/ FAILS tfplugindocs validate (exit $rc; full log: $WORK/tfplugindocs.log)" >&2
  exit 1
fi
echo "docs-validate: docs/ passes $("$TFPLUGINDOCS" --version 2>&1 | head -1) validate" \
  "($(grep -c 'running file checks on' "$WORK/tfplugindocs.log") pages)"
