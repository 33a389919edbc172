#!/usr/bin/python3
"""Sums JUnit XML reports; prints 'N passed, N failed, N skipped'.

Exits 1 if any test failed or a suite wrote no report (it crashed).
"""

import sys
import xml.etree.ElementTree as ET

EXPECTED = ("lit.xml", "unit.xml", "python.xml")

# --partial: the given reports only (no suite expected).
args = sys.argv[1:]
if args and args[0] == "--partial":
    args, EXPECTED = args[1:], ()

passed = failed = skipped = 0
seen = set()
for path in args:
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as err:
        print(f"summary: cannot read {path}: {err}")
        failed += 1
        continue
    seen.add(path.rsplit("/", 1)[-1])
    for case in root.iter("testcase"):
        outcome = {child.tag for child in case}
        if outcome & {"failure", "error"}:
            failed += 1
        elif "skipped" in outcome:
            skipped += 1
        else:
            passed += 1
for name in EXPECTED:
    if name not in seen:
        print(f"summary: no report {name}: that suite did not run to the end")
        failed += 1

print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
