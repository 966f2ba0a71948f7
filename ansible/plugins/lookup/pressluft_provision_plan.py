# Decides which roles a provisioning run must apply. Each role's stamp is a
# hash of everything that shapes what the role does:
#   - every file of the role (tasks, templates, defaults, handlers, files),
#   - the shared files given in `shared` (the playbooks' group_vars),
#   - the values of variables named after the role or pressluft_*, as the
#     play sees them (inventory, group_vars, play and extra vars: overrides),
#   - the node facts given in `facts` (what the roles derive from the node),
#   - the services and files the role is checked by (so a new check is
#     recorded).
# A role runs when the node has no stamp for it, a different stamp, a
# stopped service among those its stamp lists, or a changed or missing file
# among those it lists.
from __future__ import annotations

DOCUMENTATION = r"""
name: pressluft_provision_plan
short_description: Role stamps and which roles must run
description: "Returns one dict, {role: {stamp, run, reason, services, files}}, in the order of the roles."
options:
  roles_dir:
    description: Directory holding the roles.
    required: true
  roles:
    description: >-
      {role: {services: [name or glob], files: [path]}}, in the order the roles run: the services
      each role leaves running and the files it writes whole, which the node checks on later runs.
    type: dict
    required: true
  follow:
    description: Roles that run whenever another role runs (the package install the others rely on).
    type: list
    default: []
  recorded:
    description: "What the node recorded: {role: {stamp, stopped, drifted}} (see pressluft_node_state)."
    type: dict
    default: {}
  facts:
    description: Node facts the roles depend on.
    type: dict
    default: {}
  shared:
    description: Files whose content is part of every role's stamp.
    type: list
    default: []
"""

import hashlib
import json
import os

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

# Bump to make every node apply every role again.
FORMAT = "1"


def _files(root):
    """Every file below root, as sorted relative paths; caches and dotfiles aside."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "__")))
        for name in filenames:
            if not name.startswith(".") and not name.endswith(".pyc"):
                out.append(os.path.relpath(os.path.join(dirpath, name), root))
    return sorted(out)


def _hash_files(h, root, label):
    for rel in _files(root):
        with open(os.path.join(root, rel), "rb") as f:
            body = f.read()
        h.update(("%s/%s\0%d\0" % (label, rel, len(body))).encode())
        h.update(body)


def _plain(value):
    """A JSON-able copy of a templated value (unsafe strings become str)."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def stamp(roles_dir, role, shared, variables, facts, spec):
    root = os.path.join(roles_dir, role)
    if not os.path.isdir(root):
        raise AnsibleLookupError("no role %r in %s" % (role, roles_dir))
    h = hashlib.sha256()
    h.update(("pressluft-role-stamp %s %s\0" % (FORMAT, role)).encode())
    _hash_files(h, root, "role")
    for path in shared:
        with open(path, "rb") as f:
            body = f.read()
        h.update(("shared/%s\0%d\0" % (os.path.basename(path), len(body))).encode())
        h.update(body)
    h.update(json.dumps({"vars": variables, "facts": facts, "checks": spec}, sort_keys=True).encode())
    return h.hexdigest()


def plan(roles_dir, roles, follow, recorded, variables, facts, shared):
    out = {}
    for role, spec in roles.items():
        spec = {"services": list((spec or {}).get("services") or []), "files": list((spec or {}).get("files") or [])}
        own = {k: v for k, v in variables.items() if k.startswith(role + "_") or k.startswith("pressluft_")}
        want = stamp(roles_dir, role, shared, own, facts, spec)
        node = recorded.get(role) or {}
        if not node:
            reason = "not applied yet"
        elif node.get("stamp") != want:
            reason = "changed since it was applied"
        elif node.get("stopped"):
            reason = "stopped: " + ", ".join(node["stopped"])
        elif node.get("drifted"):
            reason = "changed on the node: " + ", ".join(node["drifted"])
        else:
            reason = ""
        out[role] = dict(spec, stamp=want, run=bool(reason), reason=reason)
    if any(r["run"] for r in out.values()):
        for role in follow:
            if role in out and not out[role]["run"]:
                out[role].update(run=True, reason="another role runs")
    return out


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        variables = variables or {}
        roles = _plain(self.get_option("roles"))
        prefixes = tuple(r + "_" for r in roles) + ("pressluft_",)
        values = {}
        for key in sorted(variables):
            if key.startswith(prefixes):
                values[key] = _plain(self._templar.template(variables[key]))
        return [plan(self.get_option("roles_dir"), roles, self.get_option("follow"), self.get_option("recorded"),
                     values, _plain(self.get_option("facts")), self.get_option("shared"))]
