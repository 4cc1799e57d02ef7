#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Check that docs/counters.md documents every counter the code shows, and
nothing the code no longer has.

From the code it takes:
  - drop reasons: the X() table VFW_DROP_REASONS in include/vnetfw/common.h
  - events: the X() table VFW_EVENTS in include/vnetfw/dataplane.h
  - show stats keys: the JSON keys show_stats() in app/vnetfw/control.c
    prints, with their nesting (ports.<role>.rx, local.resolved_sent, ...)
  - slow-path counters: the fields of struct vfw_sp_stats
    (include/vnetfw/dataplane.h), which show stats prints under local.*
  - session states: state_names[] in lib/ct/ct_state.c (FREE is not shown)
  - telemetry: the /vnetfw/* commands app/vnetfw/telemetry.c registers and
    the keys each callback adds (a key built with %s matches <...> here)

From the document it takes the Markdown tables whose first header cell is
"drop reason", "event", "key", "state" or "command": the first backticked
name of each row (for "command" also every backticked key in the second
cell).

Usage: check_counters.py [--root SRC] [--self-test]
  --root       the source tree (default: two levels above this file)
  --self-test  also prove that the check fails, naming the culprit, on
               copies with a counter removed from the document or added
               to the code
Exit status 0 when everything matches, 1 otherwise (each mismatch on a
line of its own).
"""

import argparse
import os
import re
import sys

DOC = "docs/counters.md"
COMMON_H = "include/vnetfw/common.h"
DATAPLANE_H = "include/vnetfw/dataplane.h"
CONTROL_C = "app/vnetfw/control.c"
TELEMETRY_C = "app/vnetfw/telemetry.c"
CT_STATE_C = "lib/ct/ct_state.c"


class Broken(Exception):
    """The code or the document is not shaped as this checker expects:
    fail loudly rather than check nothing."""


# ---------------------------------------------------------------- C source

def strip_comments(src):
    """C source without comments; strings and chars kept as they are."""
    out, i, n = [], 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith("/*", i):
            j = src.find("*/", i + 2)
            if j < 0:
                raise Broken("unterminated comment")
            out.append(" ")
            i = j + 2
        elif src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j
        elif c in "\"'":
            j = skip_quoted(src, i)
            out.append(src[i:j])
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def skip_quoted(src, i):
    """Index just past the string or char literal starting at src[i]."""
    q, j = src[i], i + 1
    while j < len(src) and src[j] != q:
        j += 2 if src[j] == "\\" else 1
    if j >= len(src):
        raise Broken("unterminated literal")
    return j + 1


def matching(src, i, open_c, close_c):
    """Index just past the bracket that closes src[i] (== open_c)."""
    depth = 0
    while i < len(src):
        c = src[i]
        if c in "\"'":
            i = skip_quoted(src, i)
            continue
        if c == open_c:
            depth += 1
        elif c == close_c:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise Broken("unbalanced %s%s" % (open_c, close_c))


def function_body(src, name, path):
    """The body (between its braces) of the function defined as name(...)
    at the start of a line."""
    m = re.search(r"^%s\s*\(" % re.escape(name), src, re.M)
    if not m:
        raise Broken("%s: no function %s()" % (path, name))
    params_end = matching(src, m.end() - 1, "(", ")")
    brace = src.find("{", params_end)
    if brace < 0:
        raise Broken("%s: %s() has no body" % (path, name))
    return src[brace + 1:matching(src, brace, "{", "}") - 1]


def literals(code):
    """The contents of the string literals in code, in order, unescaped."""
    out, i = [], 0
    while i < len(code):
        c = code[i]
        if c == "'":
            i = skip_quoted(code, i)
        elif c == '"':
            j = skip_quoted(code, i)
            out.append(re.sub(r"\\(.)", r"\1", code[i + 1:j - 1]))
            i = j
        else:
            i += 1
    return out


def split_args(code, open_paren):
    """The top-level arguments of the call whose "(" is at open_paren."""
    end = matching(code, open_paren, "(", ")")
    args, depth, start, i = [], 0, open_paren + 1, open_paren + 1
    while i < end - 1:
        c = code[i]
        if c in "\"'":
            i = skip_quoted(code, i)
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c == "," and depth == 0:
            args.append(code[start:i].strip())
            start = i + 1
        i += 1
    args.append(code[start:end - 1].strip())
    return args


def x_table(src, macro, path):
    """Names of the X(ENUM, "name") entries of #define macro(X)."""
    m = re.search(r"#define\s+%s\s*\(\s*X\s*\)((?:[^\n]*\\\n)*[^\n]*)" %
                  re.escape(macro), src)
    if not m:
        raise Broken("%s: no #define %s(X)" % (path, macro))
    names = re.findall(r'\bX\(\s*\w+\s*,\s*"([^"]+)"\s*\)', m.group(1))
    if not names:
        raise Broken("%s: %s(X) has no X(ENUM, \"name\") entries" % (path, macro))
    return names


def struct_fields(src, struct, path):
    """Scalar (non-array) field names of struct <struct> { ... }."""
    m = re.search(r"\bstruct\s+%s\s*\{" % re.escape(struct), src)
    if not m:
        raise Broken("%s: no struct %s" % (path, struct))
    body = src[m.end():matching(src, m.end() - 1, "{", "}") - 1]
    fields = re.findall(r"\b(\w+)\s*;", body)
    if not fields:
        raise Broken("%s: struct %s has no scalar fields" % (path, struct))
    return fields


def json_paths(template):
    """Dotted key paths of a JSON printf template ('%s' keys become <>)."""
    paths, stack, i = [], [], 0
    while i < len(template):
        c = template[i]
        if c == "{":
            stack.append(None)
            i += 1
        elif c == "}":
            if not stack:
                raise Broken("unbalanced } in the show stats template")
            stack.pop()
            i += 1
        elif c == '"':
            j = template.find('"', i + 1)
            if j < 0:
                raise Broken("unterminated key in the show stats template")
            key = "<>" if template[i + 1:j] == "%s" else template[i + 1:j]
            i = j + 1
            if not template.startswith(":", i):
                continue
            i += 1
            here = [k for k in stack if k is not None] + [key]
            if template.startswith("{", i):
                stack.append(key)
                i += 1
            else:
                paths.append(".".join(here))
        else:
            i += 1
    if stack:
        raise Broken("unbalanced { in the show stats template")
    return paths


def code_names(read):
    """Everything the code shows, by kind."""
    common = strip_comments(read(COMMON_H))
    dp = strip_comments(read(DATAPLANE_H))
    control = strip_comments(read(CONTROL_C))
    tel = strip_comments(read(TELEMETRY_C))
    ct_state = strip_comments(read(CT_STATE_C))

    names = {
        "drop reason": x_table(common, "VFW_DROP_REASONS", COMMON_H),
        "event": x_table(dp, "VFW_EVENTS", DATAPLANE_H),
    }
    # the show stats reply: its literals in program order are the JSON
    # template (loops once); nesting gives each key's path
    tmpl = "".join(literals(function_body(control, "show_stats", CONTROL_C)))
    paths = json_paths(tmpl)
    if len(paths) < 10:
        raise Broken("%s: show_stats() prints only %d keys: %s" %
                     (CONTROL_C, len(paths), paths))
    names["key"] = paths
    names["slow-path field"] = [
        f for f in struct_fields(dp, "vfw_sp_stats", DATAPLANE_H)]

    m = re.search(r"state_names\s*\[[^\]]*\]\s*=\s*\{(.*?)\};", ct_state, re.S)
    if not m:
        raise Broken("%s: no state_names[] table" % CT_STATE_C)
    states = re.findall(r'\[\s*(\w+)\s*\]\s*=\s*"([^"]+)"', m.group(1))
    names["state"] = [s for e, s in states if e != "VFW_CT_FREE"]
    if not names["state"]:
        raise Broken("%s: state_names[] has no entries" % CT_STATE_C)

    cmds = {}
    for m in re.finditer(r"rte_telemetry_register_cmd\s*\(", tel):
        args = split_args(tel, m.end() - 1)
        cmd = literals(args[0])
        if len(cmd) != 1 or not re.match(r"\w+$", args[1]):
            raise Broken("%s: cannot read rte_telemetry_register_cmd(%s)" %
                         (TELEMETRY_C, ", ".join(args)))
        cmds[cmd[0]] = telemetry_keys(function_body(tel, args[1], TELEMETRY_C))
    if not cmds:
        raise Broken("%s: registers no telemetry command" % TELEMETRY_C)
    names["command"] = cmds
    return names


def telemetry_keys(body):
    """Keys a telemetry callback adds: literals as they are, keys built with
    snprintf as their format, any other expression as %s."""
    keys = set()
    for m in re.finditer(r"rte_tel_data_add_dict_\w+\s*\(", body):
        arg = split_args(body, m.end() - 1)[1]
        lit = literals(arg)
        if arg.startswith('"') and len(lit) == 1:
            keys.add(lit[0])
            continue
        fmts = []
        if re.match(r"\w+$", arg):
            for s in re.finditer(r"\bsnprintf\s*\(", body):
                a = split_args(body, s.end() - 1)
                if a[0] == arg and a[2].startswith('"'):
                    fmts.append("".join(literals(a[2])))
        keys.update(fmts or ["%s"])
    return keys


# ---------------------------------------------------------------- document

TABLE_KINDS = ("drop reason", "event", "key", "state", "command")


def cells(line):
    return [c.strip() for c in line.strip().strip("|").split("|")]


def doc_names(text):
    """Names documented in the tables of each kind; commands map to the
    set of keys in their second cell."""
    found = {k: [] for k in TABLE_KINDS}
    found["command"] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if not lines[i].startswith("|"):
            i += 1
            continue
        head = cells(lines[i])
        kind = head[0].strip("`").lower()
        i += 2  # header and the ---|--- line
        while i < len(lines) and lines[i].startswith("|"):
            row = cells(lines[i])
            i += 1
            if kind not in TABLE_KINDS:
                continue
            ticks = re.findall(r"`([^`]+)`", row[0])
            if not ticks:
                raise Broken("%s: a %s row without a `name`: %s" %
                             (DOC, kind, lines[i - 1]))
            if kind == "command":
                keys = re.findall(r"`([^`]+)`", row[1]) if len(row) > 1 else []
                found["command"][ticks[0]] = {
                    re.sub(r"<[^>]*>", "%s", k) for k in keys}
            elif kind == "key":
                found[kind].append(re.sub(r"<[^>]*>", "<>", ticks[0]))
            else:
                found[kind].append(ticks[0])
    for k in TABLE_KINDS:
        if not found[k]:
            raise Broken("%s: no table whose first header cell is '%s'" % (DOC, k))
    return found


# ---------------------------------------------------------------- check

WHERE = {
    "drop reason": COMMON_H + " VFW_DROP_REASONS",
    "event": DATAPLANE_H + " VFW_EVENTS",
    "key": CONTROL_C + " show_stats()",
    "state": CT_STATE_C + " state_names[]",
}


def check(read):
    """A list of mismatches (empty when the document is right)."""
    try:
        code = code_names(read)
        doc = doc_names(read(DOC))
    except Broken as e:
        return ["cannot check: %s" % e]
    errs = []

    def dups(kind, names):
        for n in sorted({n for n in names if names.count(n) > 1}):
            errs.append("%s: %s `%s` is documented twice" % (DOC, kind, n))

    for kind in ("drop reason", "event", "key", "state"):
        have, told = set(code[kind]), set(doc[kind])
        dups(kind, doc[kind])
        for n in sorted(have - told):
            errs.append("%s: %s `%s` (%s) is not documented" %
                        (DOC, kind, n, WHERE[kind]))
        for n in sorted(told - have):
            errs.append("%s: documents %s `%s`, which %s no longer has" %
                        (DOC, kind, n, WHERE[kind]))
    for f in code["slow-path field"]:
        if "local." + f not in doc["key"]:
            errs.append("%s: slow-path counter `%s` (%s struct vfw_sp_stats) "
                        "is not documented as `local.%s`" % (DOC, f, DATAPLANE_H, f))
    cmds, told = code["command"], doc["command"]
    for c in sorted(set(cmds) - set(told)):
        errs.append("%s: telemetry command `%s` (%s) is not documented" %
                    (DOC, c, TELEMETRY_C))
    for c in sorted(set(told) - set(cmds)):
        errs.append("%s: documents telemetry command `%s`, which %s no longer "
                    "registers" % (DOC, c, TELEMETRY_C))
    for c in sorted(set(cmds) & set(told)):
        for k in sorted(cmds[c] - told[c]):
            errs.append("%s: telemetry key `%s` of `%s` (%s) is not documented "
                        "(%%s stands for a <...> placeholder)" % (DOC, k, c, TELEMETRY_C))
        for k in sorted(told[c] - cmds[c]):
            errs.append("%s: documents telemetry key `%s` of `%s`, which %s no "
                        "longer adds" % (DOC, k, c, TELEMETRY_C))
    return errs


def reader(root, overlay=None):
    def read(rel):
        if overlay and rel in overlay:
            return overlay[rel]
        with open(os.path.join(root, rel), encoding="utf-8") as f:
            return f.read()
    return read


def self_test(root):
    """The check must fail, and name the culprit, on broken copies."""
    read = reader(root)
    doc, code = read(DOC), code_names(read)
    drop, event = code["drop reason"][0], code["event"][-1]

    def without_row(name):
        rows = [l for l in doc.splitlines(True)
                if l.startswith("| `%s`" % name)]
        assert len(rows) == 1, "one row for %s, found %d" % (name, len(rows))
        return doc.replace(rows[0], "")

    def with_row_after(name, new):
        row = next(l for l in doc.splitlines(True) if l.startswith("| `%s`" % name))
        return doc.replace(row, row + "| `%s` | x | y |\n" % new)

    common = read(COMMON_H)
    cases = [
        ("a drop reason missing from the document", {DOC: without_row(drop)}, drop),
        ("an event missing from the document", {DOC: without_row(event)}, event),
        ("a local counter missing", {DOC: without_row("local.resolved_sent")},
         "resolved_sent"),
        ("a session state missing", {DOC: without_row(code["state"][0])},
         code["state"][0]),
        ("a telemetry command missing", {DOC: without_row("/vnetfw/drops")},
         "/vnetfw/drops"),
        ("a documented drop reason the code does not have",
         {DOC: with_row_after(drop, "no_such_reason")}, "no_such_reason"),
        ("a drop reason new in the code",
         {COMMON_H: common.replace('X(ETH_TRUNC, "eth_truncated")',
                                   'X(ETH_TRUNC, "eth_truncated") \\\n'
                                   '\tX(SELFTEST, "selftest_new_reason")')},
         "selftest_new_reason"),
        ("a show stats key new in the code",
         {CONTROL_C: read(CONTROL_C).replace('\\"pool_size\\"',
                                              '\\"selftest_key\\":%u,\\"pool_size\\"')},
         "mbufs.selftest_key"),
    ]
    bad = 0
    for what, overlay, culprit in cases:
        errs = check(reader(root, overlay))
        named = [e for e in errs if "`%s`" % culprit in e or culprit in e]
        if not errs or not named:
            print("self-test FAILED: %s (%s) was not reported; got %s" %
                  (what, culprit, errs or "no error"))
            bad += 1
        else:
            print("self-test ok: %s -> %s" % (what, named[0]))
    return bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=os.path.join(os.path.dirname(
        os.path.abspath(__file__)), "..", ".."))
    ap.add_argument("--self-test", action="store_true")
    a = ap.parse_args()
    root = os.path.abspath(a.root)
    errs = check(reader(root))
    for e in errs:
        print(e)
    if a.self_test and not errs:
        if self_test(root):
            return 1
    if errs:
        print("%d mismatch(es) between the code and %s" % (len(errs), DOC))
        return 1
    code = code_names(reader(root))
    print("%s documents %d drop reasons, %d events, %d show stats keys, "
          "%d session states, %d telemetry commands" %
          (DOC, len(code["drop reason"]), len(code["event"]), len(code["key"]),
           len(code["state"]), len(code["command"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
