#!/usr/bin/env python3
"""The code's structural limits, measured: import cycles between files, file and function
lengths, and test-file lengths (issue 18's acceptance). Run from the repository root:

    python3 scripts/structure.py            # report, exit 1 when a limit is broken
    python3 scripts/structure.py --verbose  # also every edge of every cycle

How cycles are found: every `crate::…`, `super::…` and `self::…` path in a file's code,
its `#[cfg(test)]` modules included (use trees expanded), is resolved to the file that defines the module it names;
when it names an item that a `mod.rs`/parent re-exports with `pub use`, it follows the
re-export to the defining file. A `pub use` re-export itself is not an edge (a facade), nor is
a `mod` declaration. Files that reach each other form a strongly connected component.
"""
import os
import re
import sys

CRATES = {"src": "src", "fetchers": "fetchers/src", "simulator": "simulator/src"}
FILE_LIMIT = 800
FN_LIMIT = 120
TEST_FILE_LIMIT = 900


def strip_code(text):
    """Comments, strings and char literals blanked (newlines kept), so braces and paths are
    code only."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth += 1
                    j += 2
                elif text.startswith("*/", j):
                    depth -= 1
                    j += 2
                else:
                    j += 1
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "r" and re.match(r'r#*"', text[i:i + 10]) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = re.match(r'r(#*)"', text[i:])
            hashes = m.group(1)
            end = text.find('"' + hashes, i + len(m.group(0)))
            end = n if end < 0 else end + 1 + len(hashes)
            out.append(re.sub(r"[^\n]", " ", text[i:end]))
            i = end
        elif c == '"' or (c == "b" and text.startswith('b"', i) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_"))):
            j = i + (2 if c == "b" else 1)
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            j += 1
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "'":
            m = re.match(r"'(\\.[^']*|[^\\'])'", text[i:])
            if m:
                out.append(" " * len(m.group(0)))
                i += len(m.group(0))
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def matching_brace(code, open_at):
    depth = 0
    for k in range(open_at, len(code)):
        if code[k] == "{":
            depth += 1
        elif code[k] == "}":
            depth -= 1
            if depth == 0:
                return k
    return len(code) - 1


def test_spans(code):
    """(start, end) offsets of `#[cfg(test)]` items (modules and functions)."""
    spans = []
    for m in re.finditer(r"#\[cfg\(test\)\]", code):
        brace = code.find("{", m.end())
        semi = code.find(";", m.end())
        if brace < 0 or (0 <= semi < brace):
            spans.append((m.start(), semi + 1))
            continue
        spans.append((m.start(), matching_brace(code, brace) + 1))
    return spans


def blank_spans(code, spans):
    chars = list(code)
    for a, b in spans:
        for k in range(a, min(b, len(chars))):
            if chars[k] != "\n":
                chars[k] = " "
    return "".join(chars)


def module_of(root, path):
    rel = os.path.relpath(path, root)[:-3].split(os.sep)
    if rel[-1] in ("mod", "lib", "main"):
        rel = rel[:-1]
    return tuple(rel)


def expand_use_tree(tree):
    """`a::{b, c::{d, e}}` → [a::b, a::c::d, a::c::e] (aliases dropped)."""
    tree = re.sub(r"\s+", "", tree)
    tree = re.sub(r"\bas\w+", "", tree)

    def expand(s):
        m = s.find("{")
        if m < 0:
            return [s]
        prefix = s[:m]
        end = matching_brace(s, m)
        inner, rest = s[m + 1:end], s[end + 1:]
        parts, depth, cur = [], 0, ""
        for ch in inner:
            if ch == "," and depth == 0:
                parts.append(cur)
                cur = ""
                continue
            depth += ch == "{"
            depth -= ch == "}"
            cur += ch
        parts.append(cur)
        out = []
        for p in parts:
            if p:
                for e in expand(p):
                    out.append((prefix + e + rest).rstrip(":"))
        return out

    return [p.replace("::self", "") for p in expand(tree)]


class Crate:
    def __init__(self, name, root):
        self.name, self.root = name, root
        self.files = {}  # module path -> file
        self.code = {}  # file -> code without comments/strings/tests
        for d, _, fs in os.walk(root):
            for f in fs:
                if f.endswith(".rs"):
                    p = os.path.join(d, f)
                    if name == "src" and os.path.relpath(p, root) == "main.rs":
                        continue
                    if "/bin/" in p:
                        continue
                    mod = module_of(root, p)
                    self.files[mod] = p
                    # Test modules count too: a cycle through a test's imports is still a cycle.
                    self.code[p] = strip_code(open(p).read())
        self.reexports = {f: self.parse_reexports(f) for f in self.code}

    def parse_reexports(self, f):
        """name -> absolute path it re-exports, for `pub use` / `pub(crate) use` items."""
        out = {}
        mod = self.mod_of_file(f)
        for m in re.finditer(r"\bpub(\([^)]*\))?\s+use\s+([^;]+);", self.code[f]):
            for p in expand_use_tree(m.group(2)):
                segs = p.split("::")
                absolute = self.absolute(mod, segs, f)
                if absolute is not None and segs[-1] != "*":
                    out[segs[-1]] = absolute
        return out

    def mod_of_file(self, f):
        return module_of(self.root, f)

    def absolute(self, mod, segs, f):
        """Absolute module path of `segs` written in module `mod` (file `f`)."""
        is_dir_mod = os.path.basename(f) in ("mod.rs", "lib.rs")
        here = list(mod)
        if segs[0] == "crate":
            return tuple(segs[1:])
        if segs[0] == "self":
            return tuple(here + segs[1:])
        if segs[0] == "super":
            base = here
            k = 0
            while k < len(segs) and segs[k] == "super":
                base = base[:-1]
                k += 1
            return tuple(base + segs[k:])
        # A relative path naming a child module (`use sub::X` in a mod.rs or a file with children).
        if tuple(here + [segs[0]]) in self.files:
            return tuple(here + segs)
        return None

    def resolve(self, path, depth=0):
        """The file defining what `path` (absolute) names."""
        k = len(path)
        while k > 0 and tuple(path[:k]) not in self.files:
            k -= 1
        f = self.files.get(tuple(path[:k]))
        if f is None:
            return None
        if k < len(path) and depth < 8:
            target = self.reexports.get(f, {}).get(path[k])
            if target is not None:
                follow = self.resolve(tuple(target) + tuple(path[k + 1:]), depth + 1)
                if follow:
                    return follow
        return f

    def edges(self):
        edges = {f: set() for f in self.code}
        for f, code in self.code.items():
            mod = self.mod_of_file(f)
            # use statements that are not re-exports
            paths = []
            for m in re.finditer(r"(?<![\w:])(pub(\([^)]*\))?\s+)?use\s+([^;]+);", code):
                if m.group(1):
                    continue
                paths += [p.split("::") for p in expand_use_tree(m.group(3))]
            body = re.sub(r"(?<![\w:])(pub(\([^)]*\))?\s+)?use\s+[^;]+;", "", code)
            for m in re.finditer(r"(?<![\w:])((?:crate|super|self)(?:::\w+)+)", body):
                paths.append(m.group(1).split("::"))
            for segs in paths:
                absolute = self.absolute(mod, segs, f)
                if absolute is None:
                    continue
                target = self.resolve(absolute)
                if target and target != f:
                    edges[f].add(target)
        return edges


def sccs(edges):
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
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
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def long_functions(path, limit):
    code = strip_code(open(path).read())
    code = blank_spans(code, test_spans(code))
    out = []
    for m in re.finditer(r"\bfn\s+(\w+)[^;{]*?\{", code, re.S):
        # skip `fn` in types like `impl Fn(…)`/`fn(…)` pointers: those have no name
        start = m.start()
        end = matching_brace(code, m.end() - 1)
        lines = code.count("\n", start, end) + 1
        if lines > limit:
            out.append((path, code.count("\n", 0, start) + 1, m.group(1), lines))
    return out


def rs_files(root):
    for d, _, fs in os.walk(root):
        for f in sorted(fs):
            if f.endswith(".rs"):
                yield os.path.join(d, f)


def main():
    verbose = "--verbose" in sys.argv
    broken = 0
    print("== import cycles between files")
    for name, root in CRATES.items():
        crate = Crate(name, root)
        edges = crate.edges()
        comps = sccs(edges)
        total = sum(len(c) for c in comps)
        print(f"{root}: {total} files in cycles ({len(comps)} groups)")
        for comp in comps:
            broken += 1
            print("  cycle: " + ", ".join(comp))
            if verbose:
                for f in comp:
                    for t in sorted(edges[f]):
                        if t in comp:
                            print(f"    {f} -> {t}")
    print(f"== production files over {FILE_LIMIT} lines")
    for root in CRATES.values():
        for p in rs_files(root):
            n = sum(1 for _ in open(p))
            if n > FILE_LIMIT:
                broken += 1
                print(f"  {p}: {n}")
    print(f"== functions over {FN_LIMIT} lines outside tests")
    for root in CRATES.values():
        for p in rs_files(root):
            for path, line, name, n in long_functions(p, FN_LIMIT):
                broken += 1
                print(f"  {path}:{line} {name}: {n}")
    print(f"== test files over {TEST_FILE_LIMIT} lines")
    for root in ["tests", "fetchers/tests", "simulator/tests"]:
        if os.path.isdir(root):
            for p in rs_files(root):
                n = sum(1 for _ in open(p))
                if n > TEST_FILE_LIMIT:
                    broken += 1
                    print(f"  {p}: {n}")
    print(f"{broken} limits broken")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
