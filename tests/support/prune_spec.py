#!/usr/bin/env python3
"""prune_spec.py IN.json OUT.json OPERATION_ID...

Keeps only the named operations of an OpenAPI description and the components
they reference (transitively), so the GitHub double loads 0.3 MB instead of
13 MB. Examples are dropped: nothing validates against them. Fails when an
operation is missing, so a typo cannot silently shrink what is checked.
The output is GitHub's own schema text; the OpenAPI 3.0 -> JSON Schema
adaptation (nullable) happens where it is loaded (tests/it/support/github/spec.rs).
"""
import json
import os
import sys


def main(argv):
    if len(argv) < 4:
        sys.exit(__doc__)
    src, dst, want = argv[1], argv[2], set(argv[3:])
    with open(src, encoding="utf-8") as f:
        spec = json.load(f)

    paths = {}
    for path, item in spec["paths"].items():
        ops = {m: o for m, o in item.items() if isinstance(o, dict) and o.get("operationId") in want}
        if ops:
            for op in ops.values():
                strip_examples(op)
            paths[path] = {**{k: v for k, v in item.items() if k == "parameters"}, **ops}

    found = {o["operationId"] for item in paths.values() for o in item.values() if isinstance(o, dict) and "operationId" in o}
    missing = sorted(want - found)
    if missing:
        sys.exit("prune_spec.py: operations not in the description: " + " ".join(missing))

    components, todo, seen = {}, [paths], set()
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/") and ref not in seen:
                seen.add(ref)
                _, _, kind, name = ref.split("/", 3)
                target = spec["components"][kind][name]
                strip_examples(target)
                components.setdefault(kind, {})[name] = target
                todo.append(target)
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)

    out = {k: spec[k] for k in ("openapi", "info", "servers") if k in spec}
    out["x-upkeep-operations"] = sorted(want)
    out["paths"] = paths
    out["components"] = components
    tmp = dst + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(out, f, separators=(",", ":"), sort_keys=True)
    os.replace(tmp, dst)
    print(f"{dst}: {len(found)} operations, {len(paths)} paths, "
          f"{sum(len(v) for v in components.values())} components")


def strip_examples(node):
    """Drops the `examples` of media types and parameters (objects that also
    have a `schema`), and so the example components they reference."""
    if isinstance(node, dict):
        if "schema" in node:
            node.pop("examples", None)
        for value in node.values():
            strip_examples(value)
    elif isinstance(node, list):
        for value in node:
            strip_examples(value)


if __name__ == "__main__":
    main(sys.argv)
