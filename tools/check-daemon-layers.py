#!/usr/bin/env python3
"""Fails when the daemon's includes go upward or round in a circle.

The daemon's subfolders are layers, listed lowest first in
src/daemon/LAYERS. A file in a subfolder may include files of its own
folder and of the folders below it, and nothing of the folders above it
nor of the daemon's top folder, where only main.c may be (it is above
every layer). Between subfolders calls thus go downward only; a lower
layer tells a higher one things through callbacks the higher one
registers.

Also fails on any circle of headers (a.h includes b.h includes a.h),
anywhere in the daemon, and on a subfolder that LAYERS does not list.

And on any other file in the top folder than main.c, and on a circle
of modules in the subfolders, even within one folder: a
module is X.c with X.h, and X depends on Y when X.c or X.h includes Y.h;
a.c including b.h while b.c includes a.h is such a circle though no
header includes another. The modules of a folder thus stack too, and a
lower one tells a higher one things through callbacks as well.

Usage: tools/check-daemon-layers.py [SRC_DIR]   (default: src)
       tools/check-daemon-layers.py --self-test
Prints one line per problem and exits 1 if there is any. --self-test
checks the checker on small trees made for it, one per kind of problem.
"""
import os
import re
import sys
import tempfile

INCLUDE = re.compile(r'^\s*#\s*include\s+"daemon/([^"]+)"', re.M)


def folder_of(rel):
    """'store/store.c' -> 'store'; 'main.c' -> '' (the top folder)."""
    return rel.split("/", 1)[0] if "/" in rel else ""


def read_layers(daemon):
    path = os.path.join(daemon, "LAYERS")
    layers = []
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                layers.append(line)
    return layers


def daemon_files(daemon):
    for top, _dirs, files in os.walk(daemon):
        for name in files:
            if name.endswith((".c", ".h")):
                full = os.path.join(top, name)
                yield os.path.relpath(full, daemon)


def header_circles(includes):
    """Circles among headers: each as a list of names."""
    graph = {f: [i for i in incs if i.endswith(".h")]
             for f, incs in includes.items() if f.endswith(".h")}
    circles, state = [], {}

    def visit(node, path):
        state[node] = 1
        path.append(node)
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                circles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, path)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    return circles


def module_of(rel):
    """'qube/qube_power.c' and 'qube/qube_power.h' -> 'qube/qube_power'."""
    return rel[:-2]


def module_circles(includes):
    """Circles among the modules of the subfolders (main.c, alone in
    the top folder, is in none): each as a list of modules, the strongly
    connected components of the graph."""
    graph = {}
    for rel, incs in includes.items():
        if not folder_of(rel):
            continue
        m = module_of(rel)
        deps = graph.setdefault(m, set())
        deps.update(module_of(i) for i in incs
                    if i.endswith(".h") and module_of(i) != m
                    and folder_of(i) and i in includes)
    # Tarjan's algorithm, iterative so deep chains do not hit Python's
    # recursion limit.
    index, low, on_stack, stack, sccs = {}, {}, set(), [], []
    counter = [0]
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, it = work[-1]
            nxt = next(it, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter[0]
                    counter[0] += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph.get(nxt, ())))))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                scc = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    scc.append(top)
                    if top == node:
                        break
                if len(scc) > 1:
                    sccs.append(sorted(scc))
    return sorted(sccs)


def problems_of(src):
    daemon = os.path.join(src, "daemon")
    layers = read_layers(daemon)
    rank = {name: i for i, name in enumerate(layers)}
    problems = []
    includes = {}
    for rel in sorted(daemon_files(daemon)):
        with open(os.path.join(daemon, rel)) as f:
            includes[rel] = INCLUDE.findall(f.read())
    for rel, incs in includes.items():
        here = folder_of(rel)
        if here and here not in rank:
            problems.append("%s: folder %s is not in src/daemon/LAYERS"
                            % (rel, here))
            continue
        if not here:
            if rel != "main.c":
                problems.append("%s: only main.c may be in the daemon's top "
                                "folder; files go into the layers "
                                "(src/daemon/LAYERS)" % rel)
            continue  # main.c: above every layer, may include any
        for inc in incs:
            there = folder_of(inc)
            if inc not in includes:
                problems.append("%s: includes daemon/%s, which is not there"
                                % (rel, inc))
            elif not there:
                problems.append("%s: includes daemon/%s of the top folder, "
                                "above its layer %s" % (rel, inc, here))
            elif there not in rank:
                problems.append("%s: includes daemon/%s, whose folder is not "
                                "in LAYERS" % (rel, inc))
            elif rank[there] > rank[here]:
                problems.append("%s: includes daemon/%s, of layer %s above "
                                "its own %s" % (rel, inc, there, here))
    for circle in header_circles(includes):
        problems.append("include circle: " + " -> ".join(circle))
    for circle in module_circles(includes):
        problems.append("module circle (each includes, through the others, "
                        "the headers of the next): " + ", ".join(circle))
    return problems


def self_test():
    """Each tree: files (path -> included daemon headers), and a piece
    of the one problem the checker must report (a tuple: of each of the
    problems, in order; None: none)."""
    base = {"LAYERS": "low\nhigh  # comment\n",
            "low/a.h": [], "low/a.c": ["low/a.h"],
            "high/b.h": ["low/a.h"], "high/b.c": ["high/b.h", "low/a.h"],
            "main.c": ["high/b.h", "low/a.h"]}
    cases = [
        ({}, None),
        # Upward, and thereby a circle of modules too.
        ({"low/a.c": ["low/a.h", "high/b.h"]},
         ("of layer high above", "module circle")),
        ({"low/a.c": ["low/a.h", "main.h"], "main.h": []},
         ("of the top folder", "only main.c")),
        ({"top.c": []}, "only main.c"),
        ({"odd/c.c": []}, "not in src/daemon/LAYERS"),
        ({"low/a.h": ["low/c.h"], "low/c.h": ["low/a.h"]},
         ("include circle", "module circle")),
        ({"high/b.c": ["high/none.h"]}, "not there"),
        # No header includes another, but each .c includes the other's
        # header: a circle of modules within one folder.
        ({"high/c.h": [], "high/c.c": ["high/c.h", "high/b.h"],
          "high/b.c": ["high/b.h", "high/c.h"]}, "module circle"),
        # The same going through a header: b.h includes c.h.
        ({"high/c.h": [], "high/c.c": ["high/c.h", "high/b.h"],
          "high/b.h": ["low/a.h", "high/c.h"]}, "module circle"),
        # A chain is no circle.
        ({"high/c.h": [], "high/c.c": ["high/c.h", "high/b.h"]}, None),
    ]
    failed = 0
    for change, want in cases:
        files = dict(base, **change)
        with tempfile.TemporaryDirectory() as tmp:
            for rel, incs in files.items():
                path = os.path.join(tmp, "daemon", rel)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w") as f:
                    if rel == "LAYERS":
                        f.write(incs)
                    else:
                        f.writelines('#include "daemon/%s"\n' % i
                                     for i in incs)
            got = problems_of(tmp)
        wants = () if want is None else (
            want if isinstance(want, tuple) else (want,))
        ok = len(got) == len(wants) and all(
            w in g for w, g in zip(wants, got))
        if not ok:
            failed += 1
            print("check-daemon-layers: self-test: %s: got %s, wanted %s"
                  % (change, got, want))
    return 1 if failed else 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    src = sys.argv[1] if len(sys.argv) > 1 else "src"
    problems = problems_of(src)
    for p in problems:
        print("check-daemon-layers: " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
