# Which services a role left running and which files it wrote, and whether
# they are still so. Shared by the modules that record role stamps and read
# them back.
from __future__ import annotations

import glob
import hashlib
import os

# Where Debian and Ubuntu packages put their init scripts and units.
SERVICE_DIRS = ("/etc/init.d", "/etc/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system")


def resolve(patterns):
    """Installed service names matching the patterns (globs such as php*-fpm)."""
    names = set()
    for pattern in patterns:
        for d in SERVICE_DIRS:
            for path in glob.glob(os.path.join(d, pattern)) + glob.glob(os.path.join(d, pattern + ".service")):
                name = os.path.basename(path)
                if name.endswith(".service"):
                    name = name[: -len(".service")]
                if "@" not in name:
                    names.add(name)
    return sorted(names)


def running(module, names, service_mgr):
    """The subset of names that run now."""
    if not names:
        return []
    if service_mgr == "systemd":
        # One call for all units; it prints one state per unit, in order.
        _rc, out, _err = module.run_command(["systemctl", "is-active", "--"] + list(names))
        states = out.splitlines()
        return [n for n, s in zip(names, states) if s.strip() == "active"]
    up = []
    for name in names:
        script = os.path.join("/etc/init.d", name)
        if os.access(script, os.X_OK):
            rc, _out, _err = module.run_command([script, "status"])
            if rc == 0:
                up.append(name)
    return up


def service_mgr(module):
    """The node's service manager, detected as Ansible's own facts do."""
    import platform

    from ansible.module_utils.facts.system.service_mgr import ServiceMgrFactCollector

    facts = ServiceMgrFactCollector().collect(module=module, collected_facts={"ansible_system": platform.system()})
    return facts.get("service_mgr", "service")


def digests(paths):
    """{path: sha256} of the paths that are regular files (missing ones are left out)."""
    out = {}
    for path in paths:
        try:
            with open(path, "rb") as f:
                out[path] = hashlib.sha256(f.read()).hexdigest()
        except OSError:
            pass
    return out
