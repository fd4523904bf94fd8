#!/usr/bin/env python3
"""Helper of eval-release-notes.sh.

run   CORPUS OUT BINARY            classify every corpus record into OUT/<n>.json
score CORPUS OUT LABELS... [--details]
                                   compare with the label files (JSON lines,
                                   matched by repo + tag); the first file is
                                   the shared sample, the others extra labels
"""
import json
import os
import subprocess
import sys


def records(corpus):
    with open(corpus) as f:
        return [json.loads(line) for line in f if line.strip()]


def run(corpus, out, binary):
    for i, r in enumerate(records(corpus)):
        release = {
            "tag_name": r["tag"],
            "name": r.get("name"),
            "body": r.get("body") or "",
            "prerelease": bool(r.get("prerelease")),
            "published_at": None,
        }
        p = subprocess.run(
            [binary, "release", "classify", "--repo", r["repo"], "--release", "-"],
            input=json.dumps(release).encode(),
            capture_output=True,
        )
        if p.returncode != 0:
            sys.exit(f"classify failed for {r['repo']} {r['tag']}: {p.stderr.decode()}")
        with open(os.path.join(out, f"{i}.json"), "wb") as f:
            f.write(p.stdout)


class PR:
    def __init__(self):
        self.tp = self.fp = self.fn = self.tn = 0

    def add(self, want, got):
        if want and got:
            self.tp += 1
        elif got:
            self.fp += 1
        elif want:
            self.fn += 1
        else:
            self.tn += 1

    def line(self, name):
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return (f"{name:<26} precision {p:5.3f}  recall {r:5.3f}  F1 {f:5.3f}"
                f"   (tp {self.tp}, fp {self.fp}, fn {self.fn}, tn {self.tn})")


def main_fork(c):
    forks = [f for f in c["forks"] if not f["fork"].upper().startswith("BPO")]
    return forks[0] if forks else (c["forks"][0] if c["forks"] else None)


def score(corpus, out, label_files, details):
    recs = records(corpus)
    got = {}
    for i, r in enumerate(recs):
        with open(os.path.join(out, f"{i}.json")) as f:
            got[(r["repo"], r["tag"])] = json.load(f)
    sets = []
    for path in label_files:
        if not os.path.exists(path):
            continue
        with open(path) as f:
            labels = [json.loads(line) for line in f if line.strip()]
        sets.append((path, labels))
    if not sets:
        sys.exit("no label files")
    groups = [(f"{os.path.basename(p)}", ls) for p, ls in sets]
    if len(sets) > 1:
        groups.append(("all labels", [l for _, ls in sets for l in ls]))
    print(f"classified {len(recs)} releases")
    for name, labels in groups:
        print(f"\n== {name}: {len(labels)} labelled releases")
        hf, mand, brk, sec = PR(), PR(), PR(), PR()
        nets_pairs = PR()
        act_total = act_exact = 0          # label activation given
        act_cmp = act_same = 0             # both have a fork: activation field equal (null too)
        fork_total = fork_same = 0
        nets_total = nets_same = 0
        prio_total = prio_same = 0
        extra_total = extra_same = 0
        problems = []
        for l in labels:
            c = got.get((l["repo"], l["tag"]))
            if c is None:
                problems.append(f"{l['repo']} {l['tag']}: not in the corpus")
                continue
            want_hf = l.get("hard_fork")
            m = main_fork(c)
            hf.add(bool(want_hf), bool(m))
            mand.add(bool(l.get("mandatory")), c["mandatory"])
            brk.add(bool(l.get("breaking")), bool(c["breaking"]) or "breaking-change" in c["codes"])
            sec.add(bool(l.get("security")), c["security"])
            who = f"{l['repo']} {l['tag']}"
            if bool(want_hf) != bool(m):
                problems.append(f"{who}: hard-fork expected {bool(want_hf)}, got {[f['fork'] for f in c['forks']]}")
            if want_hf:
                if want_hf.get("activation"):
                    act_total += 1
                    if m and m.get("activation") == want_hf["activation"]:
                        act_exact += 1
                if m:
                    act_cmp += 1
                    if m.get("activation") == want_hf.get("activation"):
                        act_same += 1
                    else:
                        problems.append(f"{who}: activation expected {want_hf.get('activation')}, got {m.get('activation')}")
                    fork_total += 1
                    if m["fork"].lower() == want_hf["fork"].lower():
                        fork_same += 1
                    else:
                        problems.append(f"{who}: fork expected {want_hf['fork']}, got {m['fork']}")
                    nets_total += 1
                    if m["networks"] == want_hf["networks"]:
                        nets_same += 1
                    else:
                        problems.append(f"{who}: networks expected {want_hf['networks']}, got {m['networks']}")
                    for n in set(want_hf["networks"]) | set(m["networks"]):
                        nets_pairs.add(n in want_hf["networks"], n in m["networks"])
                    for x in want_hf.get("additional_forks", []):
                        extra_total += 1
                        ours = [f for f in c["forks"] if f["fork"].lower() == x["fork"].lower()]
                        if ours and ours[0].get("activation") == x.get("activation"):
                            extra_same += 1
                        else:
                            problems.append(f"{who}: additional fork {x['fork']} {x.get('activation')} not found")
            if l.get("priority"):
                prio_total += 1
                if c["priority"] == l["priority"]:
                    prio_same += 1
                else:
                    problems.append(f"{who}: priority expected {l['priority']}, got {c['priority']}")
            for flag, key, ours in (("mandatory", "mandatory", c["mandatory"]), ("security", "security", c["security"])):
                if bool(l.get(key)) != ours:
                    problems.append(f"{who}: {flag} expected {bool(l.get(key))}, got {ours}")
            ours_b = bool(c["breaking"]) or "breaking-change" in c["codes"]
            if bool(l.get("breaking")) != ours_b:
                problems.append(f"{who}: breaking expected {bool(l.get('breaking'))}, got {c['breaking']}")
        print(hf.line("hard-fork"))
        ratio = lambda a, b: f"{a / b:5.3f} ({a}/{b})" if b else "n/a"
        print(f"{'activation exact':<26} {ratio(act_exact, act_total)}   labelled activations found to the second")
        print(f"{'activation field equal':<26} {ratio(act_same, act_cmp)}   both see a fork: same activation, null included")
        print(f"{'fork name':<26} {ratio(fork_same, fork_total)}")
        print(f"{'networks (exact list)':<26} {ratio(nets_same, nets_total)}")
        print(nets_pairs.line("networks (per network)"))
        print(f"{'additional forks (BPO)':<26} {ratio(extra_same, extra_total)}")
        print(mand.line("mandatory"))
        print(brk.line("breaking"))
        print(sec.line("security"))
        print(f"{'priority (stated)':<26} {ratio(prio_same, prio_total)}   labels with an explicit priority")
        if details and problems:
            print("differences:")
            for p in problems:
                print("  " + p)


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "run" and len(sys.argv) == 5:
        run(*sys.argv[2:5])
    elif cmd == "score" and len(sys.argv) >= 5:
        args = [a for a in sys.argv[4:] if a != "--details"]
        score(sys.argv[2], sys.argv[3], args, "--details" in sys.argv)
    else:
        sys.exit(__doc__)
