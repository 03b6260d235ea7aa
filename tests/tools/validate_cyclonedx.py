#!/usr/bin/env python3
"""Validate a CycloneDX 1.6 JSON BOM with cyclonedx-python-lib (tests/sbom.rs runs this).

usage: validate_cyclonedx.py FILE
       validate_cyclonedx.py --check   (only: can the validator be imported?)

Exit 0 when FILE is valid; 1 with every error on stderr when it is not; 3 when the validator
cannot be imported (install with: pip install 'cyclonedx-python-lib[json-validation]').

Beside the strict JSON schema, it checks that every bom-ref is unique in the BOM, which the
specification requires and a JSON schema cannot express.
"""

import json
import sys

MISSING = 3


def load_validator():
    try:
        from cyclonedx.schema import SchemaVersion
        from cyclonedx.validation.json import JsonStrictValidator

        validator = JsonStrictValidator(SchemaVersion.V1_6)
        # The json-validation extra is imported lazily: fail here, not on the first BOM.
        validator.validate_str("{}")
    except ImportError as e:
        print(f"cyclonedx-python-lib with json-validation cannot be imported: {e}", file=sys.stderr)
        sys.exit(MISSING)
    except Exception as e:  # MissingOptionalDependencyException and friends
        print(f"cyclonedx validator unusable: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(MISSING)
    return validator


def describe(error):
    """One line per schema error: where, and what (not the whole offending instance)."""
    inner = getattr(error, "data", None)
    if inner is None or not hasattr(inner, "message"):
        return f"schema: {error}"
    where = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in inner.absolute_path)
    return f"schema: {where}: {inner.message[:500]}"


def bom_refs(node, path, seen, errors):
    if isinstance(node, dict):
        ref = node.get("bom-ref")
        if isinstance(ref, str):
            if ref in seen:
                errors.append(f"duplicate bom-ref {ref!r} at {path} (first at {seen[ref]})")
            else:
                seen[ref] = path
        for key, value in node.items():
            bom_refs(value, f"{path}.{key}", seen, errors)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            bom_refs(value, f"{path}[{i}]", seen, errors)


def main(argv):
    if argv[1:] == ["--check"]:
        load_validator()
        from importlib.metadata import version

        print(f"cyclonedx-python-lib {version('cyclonedx-python-lib')}")
        return 0
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    validator = load_validator()
    with open(argv[1], encoding="utf-8") as f:
        text = f.read()
    try:
        bom = json.loads(text)
    except ValueError as e:
        print(f"not JSON: {e}", file=sys.stderr)
        return 1
    errors = [describe(e) for e in (validator.validate_str(text, all_errors=True) or [])]
    bom_refs(bom, "$", {}, errors)
    for e in errors:
        print(e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
