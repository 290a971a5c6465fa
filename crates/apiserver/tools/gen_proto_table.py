#!/usr/bin/env python3
"""Generate crates/apiserver/src/protobuf/table.rs: the wire layout of every Kubernetes message.

Run by hand when the supported Kubernetes version moves:

    python3 crates/apiserver/tools/gen_proto_table.py \
        --k8s-pb ~/.cargo/registry/src/*/k8s-pb-0.9.0/src \
        --api <git dir of a github.com/kubernetes/api clone> \
        --apimachinery <git dir of a github.com/kubernetes/apimachinery clone> \
        --k8s-openapi ~/.cargo/registry/src/*/k8s-openapi-0.29.0/src/v1_37 \
        --rev v0.33.13 \
        > crates/apiserver/src/protobuf/table.rs
    (table.rs is #[rustfmt::skip]: one line per field keeps it reviewable)

Sources:
  * k8s-pb (prost structs): message names, field tags, wire kinds and message types;
  * the Go types of kubernetes/api and kubernetes/apimachinery (struct tags): exact JSON names,
    omitempty/omitzero, pointer-ness and inlined embedded structs. Go's encoding/json rules
    decide whether a zero value shows in JSON, so these are needed to reproduce it exactly.
The Go types come from the tag given by --rev (the newest Kubernetes release Skiff serves:
1.33 still writes a zero creationTimestamp as null, later releases omit it). Messages without
Go types (apiextensions, apiregistration, retired versions) take their JSON
names from k8s-openapi's serde names (matched lowercase without punctuation), else the prost
name restored to camelCase; such fields are emitted whenever present on the wire.
"""
import argparse
import glob
import os
import re
import subprocess
import sys

SCALARS = {"string": "Str", "bytes": "Bytes", "bool": "Bool", "int32": "I32", "int64": "I64",
           "double": "F64"}

# k8s-pb module prefix -> (repo key, directory in that repo) for the Go types.
GO_DIRS = [("api/", "api", ""), ("apimachinery/", "apimachinery", "")]


def parse_k8s_pb(root):
    """Returns ({full name: [(tag, rust name, kind, repeated, target)]}, {apiVersion: module})."""
    messages, groups = {}, {}
    for path in sorted(glob.glob(os.path.join(root, "**", "mod.rs"), recursive=True)):
        module = os.path.relpath(os.path.dirname(path), root).replace(os.sep, "/")
        text = open(path, encoding="utf-8").read()
        for m in re.finditer(r'impl crate::Resource for \w+ \{\s*const API_VERSION: &\'static str = "([^"]+)"', text):
            groups[m.group(1)] = module
        cur = None
        lines = text.split("\n")
        i = 0
        while i < len(lines):
            line = lines[i].strip()
            m = re.match(r"pub struct (\w+) \{", line)
            if m:
                cur = module + "/" + m.group(1)
                messages[cur] = []
            elif line == "}":
                cur = None
            elif cur and line.startswith("#[prost("):
                attr = line
                decl = ""
                i += 1
                while not re.search(r",\s*$", decl) or decl.count("<") != decl.count(">"):
                    decl += " " + lines[i].strip()
                    i += 1
                i -= 1
                tag = int(re.search(r'tag = "(\d+)"', attr).group(1))
                name = re.match(r"\s*pub (?:r#)?(\w+):", decl).group(1)
                ty = decl.split(":", 1)[1]
                repeated = ", repeated" in attr
                mm = re.match(r'#\[prost\(btree_map = "(\w+), (\w+)"', attr)
                if mm:
                    key, val = mm.groups()
                    target = None
                    if val == "message":
                        inner = re.search(r"BTreeMap<(.*)>", ty).group(1)
                        target = resolve(module, inner.split(",", 1)[1])
                    kind = ("Map", SCALARS[key], "Msg" if val == "message" else SCALARS[val])
                    messages[cur].append((tag, name, kind, False, target))
                else:
                    wire = re.match(r"#\[prost\((\w+)", attr).group(1)
                    if wire == "message":
                        messages[cur].append((tag, name, "Msg", repeated, resolve(module, ty)))
                    else:
                        messages[cur].append((tag, name, SCALARS[wire], repeated, None))
            i += 1
    return messages, groups


def resolve(module, ty):
    """The full name of the message type named in a Rust field type."""
    inner = ty
    for wrapper in ("::core::option::Option<", "::prost::alloc::vec::Vec<",
                    "::prost::alloc::boxed::Box<"):
        inner = inner.replace(wrapper, "")
    inner = re.sub(r"[<>,\s]", "", inner)
    parts = [p for p in inner.split("::") if p]
    base = module.split("/")
    while parts and parts[0] == "super":
        base = base[:-1]
        parts = parts[1:]
    return "/".join(base + parts)


REV = "HEAD"


def git_files(repo, prefix):
    cmd = ["git", "--git-dir", repo, "ls-tree", "-r", "--name-only", REV]
    out = subprocess.run(cmd + ([prefix] if prefix else []),
                         capture_output=True, text=True, check=True).stdout
    return [f for f in out.split() if f.endswith(".go") and not f.endswith("_test.go")
            and "/testing/" not in f and not os.path.basename(f).startswith("zz_generated")
            and not f.endswith(".pb.go")]


def git_show(repo, path):
    return subprocess.run(["git", "--git-dir", repo, "show", f"{REV}:{path}"],
                          capture_output=True, text=True, check=True).stdout


FIELD = re.compile(r'^\s*([\w.*\[\]]+(?:\s+[\w.*\[\]]+)?)\s+`([^`]*)`')


def parse_go(repo, module_prefix, go_prefix, out):
    """Fills out[(module, struct, tag)] = (json name, pointer, omitempty, omitzero, inline)."""
    files = git_files(repo, go_prefix)
    for f in files:
        text = git_show(repo, f)
        module = module_prefix + os.path.dirname(f)[len(go_prefix):].strip("/")
        for sm in re.finditer(r"^type (\w+) struct \{\n(.*?)^\}", text, re.S | re.M):
            struct = sm.group(1)
            for line in sm.group(2).split("\n"):
                line = line.split("//")[0] if "`" not in line else line
                fm = FIELD.match(line)
                if not fm:
                    continue
                tags = fm.group(2)
                tokens = fm.group(1).split()
                pm = re.search(r'protobuf:"(\w+),(\d+),', tags)
                if not pm:
                    continue
                jm = re.search(r'json:"([^"]*)"', tags)
                jparts = (jm.group(1) if jm else "").split(",")
                embedded = len(tokens) == 1
                gotype = tokens[-1]
                jname = jparts[0]
                inline = "inline" in jparts[1:] or (embedded and jname == "")
                out[(module, struct.lower(), int(pm.group(2)))] = (
                    jname, gotype.startswith("*"), "omitempty" in jparts[1:],
                    "omitzero" in jparts[1:], inline)


def norm(name):
    return re.sub(r"[^a-z0-9]", "", name.lower())


def parse_openapi(root):
    """{(module, struct lowercased): {normalized JSON name: JSON name}} from k8s-openapi."""
    out = {}
    for path in glob.glob(os.path.join(root, "**", "*.rs"), recursive=True):
        text = open(path, encoding="utf-8").read()
        sm = re.search(r"^pub struct (\w+) \{", text, re.M)
        if not sm:
            continue
        module = os.path.relpath(os.path.dirname(path), root).replace(os.sep, "/")
        names = re.findall(r'"([^"]+)" => Field::Key_', text)
        out[(module, sm.group(1).lower())] = {norm(n): n for n in names}
    return out


def camel(name):
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def rust_ident(full):
    return "M_" + re.sub(r"\W", "_", full).upper()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--k8s-pb", required=True)
    ap.add_argument("--api", required=True, help="git dir of kubernetes/api")
    ap.add_argument("--apimachinery", required=True, help="git dir of kubernetes/apimachinery")
    ap.add_argument("--k8s-openapi", required=True, help="k8s-openapi src/<version> directory")
    ap.add_argument("--rev", default="HEAD",
                    help="tag of kubernetes/api and apimachinery whose JSON rules to follow")
    args = ap.parse_args()
    global REV
    REV = args.rev
    messages, groups = parse_k8s_pb(args.k8s_pb)
    openapi = parse_openapi(args.k8s_openapi)
    go = {}
    parse_go(args.api, "api/", "", go)
    parse_go(args.apimachinery, "apimachinery/pkg/", "pkg/", go)
    w = sys.stdout.write
    w("//! Generated by crates/apiserver/tools/gen_proto_table.py from k8s-pb 0.9.0 and the Go\n")
    w(f"//! types of kubernetes/api and kubernetes/apimachinery {REV}: do not edit by hand.\n\n")
    w("use super::walk::{Elem as E, Field, Kind::*, Message};\n\n")
    w("/// Every message, sorted by full name (`<k8s-pb module path>/<Message>`).\n")
    w("pub static MESSAGES: &[Message] = &[\n")
    missing = 0
    for full in sorted(messages):
        module, struct = full.rsplit("/", 1)
        w(f'    Message {{ name: "{full}", fields: &[\n')
        for tag, rname, kind, repeated, target in sorted(messages[full]):
            info = go.get((module, struct.lower(), tag))
            if info is None:
                if module.startswith(("api/", "apimachinery/")):
                    missing += 1
                    print(f"no Go tag: {full} {tag} {rname}", file=sys.stderr)
                known = openapi.get((module, struct.lower()), {})
                info = (known.get(norm(rname), camel(rname)), True, True, False, False)
            jname, pointer, omitempty, omitzero, inline = info
            if isinstance(kind, tuple):
                k = f"Map(E::{kind[1]}, E::{kind[2]})"
            else:
                k = kind
            tgt = f'"{target}"' if target else '""'
            flags = []
            if repeated:
                flags.append("REPEATED")
            if pointer:
                flags.append("POINTER")
            if omitempty:
                flags.append("OMITEMPTY")
            if omitzero:
                flags.append("OMITZERO")
            if inline:
                flags.append("INLINE")
            fl = " | ".join(f"Field::{f}" for f in flags) or "0"
            w(f'        Field {{ tag: {tag}, json: "{jname}", kind: {k}, target: {tgt}, flags: {fl} }},\n')
        w("    ] },\n")
    w("];\n\n")
    w("/// apiVersion -> k8s-pb module path holding that group version's messages.\n")
    w("pub static GROUPS: &[(&str, &str)] = &[\n")
    for gv in sorted(groups):
        w(f'    ("{gv}", "{groups[gv]}"),\n')
    w("];\n")
    print(f"{len(messages)} messages; {missing} fields without Go tags", file=sys.stderr)


if __name__ == "__main__":
    main()
