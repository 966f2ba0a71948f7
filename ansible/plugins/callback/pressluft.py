# Pressluft's stdout callback: one JSON object per line for every task start,
# task result and the final stats, so that the control plane can turn a run
# into step-level job progress as it happens. Results of tasks marked no_log
# arrive here already censored by Ansible; only the message is forwarded.
from __future__ import annotations

import json
import sys

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: pressluft
    type: stdout
    short_description: JSON lines for the Pressluft control plane
    description: Emits one JSON object per line for task starts, results and stats.
"""

MAX_MSG = 2000


def _msg(result):
    r = result._result
    if r.get("censored"):
        return "(output hidden: the task handles secrets)"
    parts = []
    for key in ("msg", "stderr", "stdout"):
        v = r.get(key)
        if isinstance(v, str) and v.strip():
            parts.append(v.strip())
            if key == "msg":
                break
    if not parts and r.get("results"):
        parts = [str(x.get("msg", "")) for x in r["results"] if isinstance(x, dict) and x.get("msg")]
    text = "\n".join(parts)
    attempts = r.get("attempts")
    if isinstance(attempts, int) and attempts > 1:
        # An until-loop that gave up: its last module message ("OK", say)
        # is not the reason on its own.
        status = " (HTTP %s)" % r["status"] if "status" in r else ""
        text = "gave up after %d attempts; last result%s: %s" % (attempts, status, text or "no message")
    return text[:MAX_MSG]


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "pressluft"

    def _emit(self, **event):
        sys.stdout.write(json.dumps(event, default=str) + "\n")
        sys.stdout.flush()

    def v2_playbook_on_play_start(self, play):
        self._emit(event="play_start", play=play.get_name())

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._emit(event="task_start", task=task.get_name(), role=task._role.get_name() if task._role else "")

    def v2_playbook_on_handler_task_start(self, task):
        self._emit(event="task_start", task=task.get_name(), role=task._role.get_name() if task._role else "", handler=True)

    def _result(self, kind, result, **extra):
        self._emit(event=kind, task=result._task.get_name(), host=result._host.get_name(),
                   changed=bool(result._result.get("changed")), msg=_msg(result) if kind in ("failed", "unreachable") else "", **extra)

    def v2_runner_on_ok(self, result):
        self._result("ok", result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._result("failed", result, ignored=bool(ignore_errors))

    def v2_runner_on_skipped(self, result):
        self._result("skipped", result)

    def v2_runner_on_unreachable(self, result):
        self._result("unreachable", result)

    def v2_runner_retry(self, result):
        self._emit(event="retry", task=result._task.get_name(), attempts=result._result.get("attempts"),
                   retries=result._result.get("retries"))

    def v2_playbook_on_stats(self, stats):
        hosts = {}
        for h in sorted(stats.processed.keys()):
            hosts[h] = stats.summarize(h)
        custom = stats.custom.get("_run", {}) if stats.custom else {}
        self._emit(event="stats", hosts=hosts, custom=custom)
