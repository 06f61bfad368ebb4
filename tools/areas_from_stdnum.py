#!/usr/bin/env python3
"""Regenerates data/areas.tsv (GB/T 2260 administrative-division codes with the years each
name was in force) from python-stdnum's stdnum/cn/loc.dat, itself compiled from the
Chinese Wikipedia lists of division codes. Usage: areas_from_stdnum.py loc.dat > data/areas.tsv"""
import re
import sys

print("# GB/T 2260 administrative-division codes with years in force (from..to, inclusive; empty = open).")
print("# Source: python-stdnum 2.2 stdnum/cn/loc.dat, compiled from zh.wikipedia.org 中华人民共和国行政区划代码 (CC BY-SA).")
print("# Regenerate with tools/areas_from_stdnum.py. Columns: code, name, from_year, to_year")
print("# A resident ID number carries the code in force where it was first assigned: at birth registration,")
print("# or, for persons born before numbers were assigned (1984: 居民身份证 first issued under the 1984")
print("# trial and the 1985《中华人民共和国居民身份证条例》), the code in force then. The yearly code lists")
print("# show a change made late in a year only in the next year's list: one year either side is accepted.")
print("@first_assigned\t1984")
print("@year_tolerance\t1")
prov = None
for line in open(sys.argv[1], encoding="utf-8"):
    if line.startswith("#") or not line.strip():
        continue
    if not line.startswith(" "):
        prov = re.match(r'(\d\d) province="(.*)"', line.strip()).group(1)
        continue
    m = re.match(r'\s+(\d{4}) county="(.*)"', line.rstrip("\n"))
    code = prov + m.group(1)
    for part in m.group(2).split(","):
        mm = re.match(r"\[(\d*)-(\d*)\](.*)", part)
        if mm:
            print(f"{code}\t{mm.group(3)}\t{mm.group(1)}\t{mm.group(2)}")
        else:
            print(f"{code}\t{part}\t\t")
