#!/usr/bin/env python3
"""test_check_structure.py — the structure check sees what a reader sees: an include of
another part's header, and an inline function or macro of a header that calls another part,
are dependencies; a prototype or a mention in a comment is not. Runs on small trees it
writes itself (no objects needed: those edges come from the sources)."""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_structure as cs  # noqa: E402


def tree(files):
    d = tempfile.mkdtemp(prefix="structure-")
    for name, text in files.items():
        path = os.path.join(d, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    return d


def graph_of(files, owners):
    d = tree(files)
    edges, headers = cs.include_edges(d)
    g = {p: set(deps) for p, deps in edges.items()}
    for part, code in headers.items():
        for fn in cs.CALL_RE.findall(code):
            if fn in owners and owners[fn] != part:
                g.setdefault(part, set()).add(owners[fn])
    return g


failures = 0


def check(cond, what):
    global failures
    print(("ok    " if cond else "FAIL  ") + what)
    failures += not cond


# An include cycle between two parts, which the link-level view alone cannot see.
g = graph_of({
    "a.c": '#include "a.h"\n#include "b.h"\nvoid rd_a(void) {}\n',
    "a.h": "void rd_a(void);\n",
    "b.c": '#include "b.h"\n#include "a.h"\n',
    "b.h": "struct b { int x; };\n",
}, {"rd_a": "a"})
check(cs.find_cycle(g) is not None, "two parts that include each other's headers are a cycle")

# An inline function of a header calling down is a dependency of that header's part.
g = graph_of({
    "low.c": "int rd_low(int x) { return x; }\n",
    "low.h": "int rd_low(int x);\n",
    "state.h": "struct s { int (*fn)(int); };\n"
               "static inline int rd_state_get(int x)\n{\n\treturn rd_low(x);\n}\n",
}, {"rd_low": "low"})
check("low" in g.get("state", set()), "an inline function's call is an edge")

# A macro too.
g = graph_of({"m.h": "#define RD_M(x) rd_low(x)\n"}, {"rd_low": "low"})
check("low" in g.get("m", set()), "a macro's call is an edge")

# Prototypes, comments and struct members are not.
g = graph_of({
    "p.h": "/* rd_low() is called by the loop */\nint rd_low(int x);\n"
           "struct t {\n\tint (*rd_low_fn)(int);\n};\n// rd_low(3)\n",
}, {"rd_low": "low"})
check("low" not in g.get("p", set()), "a prototype or a comment is no edge")

# A header with no .c is a part of its own; its includes are its edges.
g = graph_of({
    "only.h": '#include "w.h"\n',
    "w.h": "struct w { int y; };\n",
}, {})
check(g.get("only") == {"w"}, "a header with no .c is its own part")

print(f"{failures} failed")
sys.exit(1 if failures else 0)
