#!/usr/bin/env python3
"""Convert SWAP's own DARTS set (pym1024/SWAP `datasets/DARTS_archs_CIFAR10.csv`: a `Genotype(...)` string and an
accuracy per row) into the columns of the shipped NB301 table, so `--table` can read it (the repository does not ship
the set). The NASLib proxy columns are left NaN.

    /usr/bin/python3 bench/swap-darts-table.py SWAP/datasets/DARTS_archs_CIFAR10.csv > swap-darts.csv
"""
import ast
import csv
import json
import re
import sys

COLUMNS = ("genotype_normal,genotype_reduce,naslib_compact,val_accuracy_nb301,epe_nas,fisher,flops,grad_norm,grasp,"
           "jacov,l2_norm,nwot,params,plain,snip,synflow").split(",")
PATTERN = re.compile(r"Genotype\(normal=(\[.*?\]), normal_concat=\[2, 3, 4, 5\], "
                     r"reduce=(\[.*?\]), reduce_concat=\[2, 3, 4, 5\]\)")


def main(path):
    out = csv.writer(sys.stdout)
    out.writerow(COLUMNS)
    seen = set()
    with open(path, newline="") as f:
        for line, (genotype, accuracy) in enumerate(csv.reader(f), start=1):
            m = PATTERN.fullmatch(genotype)
            if not m:
                sys.exit(f"line {line}: not a DARTS Genotype with concat [2, 3, 4, 5]")
            cells = [json.dumps([list(e) for e in ast.literal_eval(m.group(k))]) for k in (1, 2)]
            if tuple(cells) in seen:
                continue
            seen.add(tuple(cells))
            out.writerow(cells + ["", float(accuracy)] + ["nan"] * 12)
    print(f"{len(seen)} genotypes", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1])
