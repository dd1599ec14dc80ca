#!/usr/bin/env python3
"""check_structure.py — the library's files depend on each other in one direction.

Usage: check_structure.py LIBREDIAL.a SRC_LIB_DIR [NM]

A node is a part of the library as a reader sees it: X.c with its header X.h, or a header
with no .c of its own (manager_state.h, ud.h: a node by itself). "A depends on B" when
 - A's object calls a function B's object defines (nm: each undefined rd_* / redial_* symbol
   mapped to the object that defines it), or
 - A.c or A.h includes B.h (a quoted include that resolves inside SRC_LIB_DIR), or
 - an inline function or macro in A.h calls an rd_* function B defines.
Fails, printing the cycle, when that graph has one; otherwise prints the parts in dependency
order (each after every part it uses) on one line. Also fails, naming it, when a .c file
under SRC_LIB_DIR (recursively) is longer than MAX_LINES lines.
"""
import os
import re
import subprocess
import sys

MAX_LINES = 600
PREFIXES = ("rd_", "redial_")
INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
CALL_RE = re.compile(r"\b((?:rd|redial)_\w+)\s*\(")


def part_of(rel):
    """The part a file under the source dir belongs to: its path without the extension."""
    return os.path.splitext(rel)[0]


def inline_code(text):
    """What of a header runs in its includers: the bodies of its inline functions (text
    inside braces that are not a struct, union or enum body) and its macros. Comments and
    declarations are left out, so a prototype or a mention in a comment is no call."""
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    out, depth, kinds, i = [], 0, [], 0
    for line in text.splitlines():
        if line.lstrip().startswith("#define"):
            out.append(line)
    for m in re.finditer(r"[{}]", text):
        if m.group() == "{":
            head = text[max(0, m.start() - 200):m.start()]
            is_type = re.search(r"\b(struct|union|enum)\b[^;(){}]*$", head) is not None
            kinds.append(is_type)
            if depth == 0:
                i = m.end()
            depth += 1
        else:
            depth -= 1
            is_type = kinds.pop() if kinds else True
            if depth == 0 and not is_type:
                out.append(text[i:m.start()])
    return "\n".join(out)


def include_edges(src_dir):
    """{part: {parts its files include}} and {part: header text} for every .c and .h."""
    edges, headers = {}, {}
    for root, _dirs, files in os.walk(src_dir):
        for f in files:
            if not f.endswith((".c", ".h")):
                continue
            path = os.path.join(root, f)
            rel = os.path.relpath(path, src_dir)
            part = part_of(rel)
            with open(path, encoding="utf-8", errors="replace") as fh:
                text = fh.read()
            if f.endswith(".h"):
                headers[part] = inline_code(text)
            deps = edges.setdefault(part, set())
            for inc in INCLUDE_RE.findall(text):
                for base in (root, src_dir):
                    target = os.path.abspath(os.path.join(base, inc))
                    if os.path.isfile(target) and \
                            os.path.commonpath([target, os.path.abspath(src_dir)]) == \
                            os.path.abspath(src_dir):
                        t = part_of(os.path.relpath(target, os.path.abspath(src_dir)))
                        if t != part:
                            deps.add(t)
                        break
    return edges, headers


def source_names(src_dir):
    """Every .c file under src_dir, by its path relative to it, keyed by the name meson gives
    its object inside the static library (the path with '/' turned into '_', plus '.o')."""
    names = {}
    for root, _dirs, files in os.walk(src_dir):
        for f in files:
            if f.endswith(".c"):
                rel = os.path.relpath(os.path.join(root, f), src_dir)
                names[rel.replace(os.sep, "_") + ".o"] = rel
    return names


def read_symbols(nm, archive):
    """{member: (defined set, undefined set)} from `nm -P -A`."""
    out = subprocess.run([nm, "-P", "-A", archive], check=True, capture_output=True,
                         text=True).stdout
    line_re = re.compile(r"^.*\[(?P<member>[^\]]+)\]: (?P<sym>\S+) (?P<type>\S)")
    objs = {}
    for line in out.splitlines():
        m = line_re.match(line)
        if not m:
            continue
        defined, undefined = objs.setdefault(m["member"], (set(), set()))
        sym, t = m["sym"], m["type"]
        if t == "U":
            undefined.add(sym)
        elif t.isupper():  # a global definition (T, D, B, R, ...); lower case is local
            defined.add(sym)
    return objs


def find_cycle(graph):
    """A list of nodes forming a cycle (first == last), or None."""
    WHITE, GREY, BLACK = 0, 1, 2
    color = {n: WHITE for n in graph}
    stack = []

    def visit(n):
        color[n] = GREY
        stack.append(n)
        for d in sorted(graph[n]):
            if color[d] == GREY:
                return stack[stack.index(d):] + [d]
            if color[d] == WHITE:
                c = visit(d)
                if c:
                    return c
        stack.pop()
        color[n] = BLACK
        return None

    for n in sorted(graph):
        if color[n] == WHITE:
            c = visit(n)
            if c:
                return c
    return None


def cyclic_groups(graph):
    """Strongly connected components of more than one file (Tarjan), each sorted."""
    index, low, on, stack, groups = {}, {}, set(), [], []
    counter = [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                groups.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return sorted(groups)


def dependency_order(graph):
    """Files with every dependency before its users; ties broken by name."""
    order, done = [], set()
    pending = sorted(graph)
    while pending:
        ready = [n for n in pending if graph[n] <= done]
        if not ready:  # cannot happen without a cycle
            raise RuntimeError("no file is ready: cycle")
        for n in ready:
            order.append(n)
            done.add(n)
        pending = [n for n in pending if n not in done]
    return order


def main(argv):
    if len(argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    archive, src_dir = argv[1], argv[2]
    nm = argv[3] if len(argv) == 4 else os.environ.get("NM", "nm")
    failed = False

    # File length.
    for root, _dirs, files in os.walk(src_dir):
        for f in sorted(files):
            if f.endswith(".c"):
                path = os.path.join(root, f)
                with open(path, encoding="utf-8", errors="replace") as fh:
                    n = sum(1 for _ in fh)
                if n > MAX_LINES:
                    print(f"FAIL: {os.path.relpath(path, src_dir)} has {n} lines "
                          f"(more than {MAX_LINES})")
                    failed = True

    # Dependency graph.
    names = source_names(src_dir)
    objs = read_symbols(nm, archive)
    if not objs:
        print(f"FAIL: nm found no object in {archive}")
        return 1
    label = {o: names.get(o, o) for o in objs}
    owner = {}
    for o, (defined, _u) in objs.items():
        for s in defined:
            if s.startswith(PREFIXES):
                if s in owner and owner[s] != o:
                    print(f"FAIL: {s} is defined by both {label[owner[s]]} and {label[o]}")
                    failed = True
                owner[s] = o
    part = {o: part_of(label[o]) for o in objs}
    graph = {part[o]: set() for o in objs}
    why = {}
    for o, (_d, undefined) in objs.items():
        for s in sorted(undefined):
            if s.startswith(PREFIXES) and s in owner and owner[s] != o:
                a, b = part[o], part[owner[s]]
                if a != b:
                    graph[a].add(b)
                    why.setdefault((a, b), "calls " + s)
    incs, headers = include_edges(src_dir)
    for a, deps in incs.items():
        graph.setdefault(a, set())
        for b in deps:
            graph.setdefault(b, set())
            graph[a].add(b)
            why.setdefault((a, b), f"includes {b}.h")
    for a, text in headers.items():
        for fn in sorted(set(CALL_RE.findall(text))):
            if fn in owner and part[owner[fn]] != a:
                b = part[owner[fn]]
                graph[a].add(b)
                why.setdefault((a, b), f"{a}.h calls {fn} inline")
    cycle = find_cycle(graph)
    if cycle:
        print("FAIL: the library's files depend on each other in a cycle:")
        for a, b in zip(cycle, cycle[1:]):
            print(f"  {a} -> {b}  ({why[(a, b)]})")
        for g in cyclic_groups(graph):
            print("  files in one cycle group: " + " ".join(g))
        return 1
    print(" ".join(dependency_order(graph)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
