#!/usr/bin/python
# Records that roles finished: one small JSON file per role with the role's
# stamp, the services it left running and the digests of the files it
# wrote, which a later run checks.
from __future__ import annotations

DOCUMENTATION = r"""
module: pressluft_role_stamp
short_description: Record the stamps of the roles that finished
options:
  dir:
    description: Directory holding one stamp file per role (created 0755 root).
    type: path
    required: true
  roles:
    description: "{role: {stamp: str, services: [name or glob], files: [path]}}; other keys are ignored."
    type: dict
    required: true
"""

import json
import os
import re
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.pressluft_services import digests, resolve, running, service_mgr

ROLE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
STAMP = re.compile(r"^[0-9a-f]{16,128}$")


def main():
    module = AnsibleModule(
        argument_spec={"dir": {"type": "path", "required": True}, "roles": {"type": "dict", "required": True}},
        supports_check_mode=True,
    )
    directory = module.params["dir"]
    mgr = None
    want = {}
    for role, entry in sorted(module.params["roles"].items()):
        if not ROLE.match(role) or not isinstance(entry, dict) or not STAMP.match(str(entry.get("stamp", ""))):
            module.fail_json(msg="invalid stamp for role %r" % role)
        names = resolve([str(p) for p in entry.get("services") or []])
        if names and mgr is None:
            mgr = service_mgr(module)
        # Only what runs now: a role that leaves a service off on purpose
        # (fail2ban without nftables, say) is not restarted on every run.
        record = {"stamp": entry["stamp"], "services": running(module, names, mgr),
                  "files": digests([str(p) for p in entry.get("files") or []])}
        body = json.dumps(record, sort_keys=True) + "\n"
        want[role] = body

    changed = []
    for role, body in want.items():
        path = os.path.join(directory, role)
        try:
            with open(path) as f:
                if f.read() == body:
                    continue
        except OSError:
            pass
        changed.append(role)
        if module.check_mode:
            continue
        os.makedirs(directory, mode=0o755, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".")
        try:
            with os.fdopen(fd, "w") as f:
                f.write(body)
            os.chmod(tmp, 0o644)
            os.rename(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    module.exit_json(changed=bool(changed), recorded=changed)


if __name__ == "__main__":
    main()
