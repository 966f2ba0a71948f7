#!/usr/bin/python
# Reads, in one call, what a provisioning run needs from the node: the few
# facts the node roles use (instead of gathering all of them), the stamp each
# role left when it last finished, whether the services a stamp lists still
# run, and whether the files it lists are still as the role left them.
from __future__ import annotations

DOCUMENTATION = r"""
module: pressluft_node_state
short_description: Node facts, role stamps and service states in one call
options:
  dir:
    description: Directory holding one stamp file per role.
    type: path
    required: true
"""

import json
import os
import platform
import socket

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.facts.system.distribution import DistributionFactCollector
from ansible.module_utils.pressluft_services import digests, running, service_mgr


def ipv6_addresses():
    """Configured IPv6 addresses but ::1, like the all_ipv6_addresses fact."""
    addrs = []
    try:
        with open("/proc/net/if_inet6") as f:
            for line in f:
                addr = socket.inet_ntop(socket.AF_INET6, bytes.fromhex(line.split()[0]))
                if addr != "::1":
                    addrs.append(addr)
    except (OSError, ValueError, IndexError):
        pass
    return addrs


def read_stamps(directory):
    """{role: {stamp, services, files}} from the stamp files; unreadable ones are left out."""
    stamps = {}
    if not os.path.isdir(directory):
        return stamps
    for role in sorted(os.listdir(directory)):
        if role.startswith("."):
            continue
        try:
            with open(os.path.join(directory, role)) as f:
                data = json.load(f)
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and isinstance(data.get("stamp"), str):
            services = data.get("services") if isinstance(data.get("services"), list) else []
            files = data.get("files") if isinstance(data.get("files"), dict) else {}
            stamps[role] = {"stamp": data["stamp"], "services": [str(s) for s in services],
                            "files": {str(k): str(v) for k, v in files.items()}}
    return stamps


def main():
    module = AnsibleModule(argument_spec={"dir": {"type": "path", "required": True}}, supports_check_mode=True)
    facts = {"ansible_system": platform.system()}
    for key, value in DistributionFactCollector().collect(module=module, collected_facts=facts).items():
        facts["ansible_" + key] = value
    facts["ansible_service_mgr"] = service_mgr(module)
    facts["ansible_all_ipv6_addresses"] = ipv6_addresses()

    stamps = read_stamps(module.params["dir"])
    for entry in stamps.values():
        up = set(running(module, entry["services"], facts["ansible_service_mgr"]))
        entry["stopped"] = [s for s in entry["services"] if s not in up]
        now = digests(entry["files"])
        entry["drifted"] = sorted(p for p, d in entry.pop("files").items() if now.get(p) != d)
    module.exit_json(changed=False, ansible_facts=facts, roles=stamps)


if __name__ == "__main__":
    main()
