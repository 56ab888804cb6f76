import json, subprocess, sys
sys.path.insert(0, "/tmp/mdiff")
from cases import CASES
from nodes.core.template import compile_template, render
from runtime import NodeError
js = json.loads(subprocess.run(["node", "/tmp/mdiff/render.js"], input=json.dumps(CASES), capture_output=True, text=True, check=True).stdout)
bad = 0
for case, want in zip(CASES, js):
    try:
        got = {"ok": render(compile_template(case["template"]), case["msg"], None, case["json"])}
    except NodeError as e:
        got = {"error": str(e)}
    if ("ok" in want) != ("ok" in got) or want.get("ok") != got.get("ok"):
        bad += 1
        print(repr(case["template"]), case["json"], "\n   mustache.js:", want, "\n   flowwire:   ", got)
print(f"{len(CASES)} cases, {bad} differ")
