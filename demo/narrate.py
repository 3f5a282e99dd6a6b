#!/usr/bin/env python3
"""Tells, as it reaches the aggregator, what Hale did in the demo.

scripts/demo.sh runs it beside the fleet: it polls the JSON API every two
seconds and prints one line per issue opened or closed, remediation outcome,
build diagnosis and failover decision. Usage: narrate.py API_BASE_URL
"""
import json
import os
import sys
import time
import urllib.request

# Outcomes worth a line; Fired and Executed are steps on the way to one of these.
OUTCOMES = {"Healed", "NotHealed", "Failed", "RolledBack", "Skipped", "AwaitingApproval"}


def get(base, path):
    try:
        with urllib.request.urlopen(base + path, timeout=3) as response:
            return json.load(response)
    except (OSError, ValueError):
        return None  # the aggregator is starting or stopping: try again at the next poll


def short(text, width=110):
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


class Narrator:
    def __init__(self, base):
        self.base = base
        # scripts/demo.sh's start, which the fault schedule counts from too.
        self.started = float(os.environ.get("HALE_DEMO_T0", time.time()))
        self.seen = set()
        self.epoch = None

    def say(self, text):
        elapsed = max(0, int(time.time() - self.started))
        print(f"hale  +{elapsed // 60}:{elapsed % 60:02}  {text}", flush=True)

    def once(self, key):
        if key in self.seen:
            return False
        self.seen.add(key)
        return True

    def issues(self):
        body = get(self.base, "/api/v1/issues?state=all&limit=100") or {}
        for i in sorted(body.get("issues", []), key=lambda i: i["updated_at_ms"]):
            where = f"{i['node']} {i['check']}"
            if self.once(("open", i["node"], i["issue_id"])):
                self.say(f"issue opened   {where} ({i['status']}): {short(i['message'], 80)}")
            if i["state"] == "closed" and self.once(("closed", i["node"], i["issue_id"])):
                took = (i["closed_at_ms"] - i["opened_at_ms"]) / 1000
                self.say(f"issue closed   {where} after {took:.1f} s")

    def remediations(self):
        body = get(self.base, "/api/v1/remediations?limit=100") or {}
        for r in sorted(body.get("remediations", []), key=lambda r: r["at_ms"]):
            if r["outcome"] in OUTCOMES and self.once(("rem", r["node"], r["attempt_id"], r["action"], r["outcome"])):
                self.say(f"remediation    {r['node']} {r['check']}: {r['action']} -> {r['outcome']}: "
                         f"{short(r['reason'], 70)}")

    def builds(self):
        body = get(self.base, "/api/v1/builds?limit=50") or {}
        for b in sorted(body.get("recent", []), key=lambda b: b["at_ms"]):
            if self.once(("build", b["node"], b["build_id"], b["attempt"])):
                evidence = short(b["evidence"][0], 60) if b["evidence"] else ""
                self.say(f"build          {b['node']} `{short(b['command'], 40)}` attempt {b['attempt']} exit "
                         f"{b['exit_code']}: {b['category']}, remedy {b['remedy']}; {evidence}")

    def failover(self):
        body = get(self.base, "/api/v1/failover")
        if not body or body.get("epoch") == self.epoch:
            return
        self.epoch = body.get("epoch")
        latest = (body.get("history") or [{}])[0]
        self.say(f"failover       active region {body.get('active')} (epoch {self.epoch}): "
                 f"{short(latest.get('reason', ''), 70)}")

    def run(self):
        while True:
            self.failover()
            self.issues()
            self.remediations()
            self.builds()
            time.sleep(2)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: narrate.py API_BASE_URL")
    try:
        Narrator(sys.argv[1].rstrip("/")).run()
    except KeyboardInterrupt:
        pass
