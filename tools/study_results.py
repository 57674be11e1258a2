#!/usr/bin/env python3
"""The numbers of docs/results.md from a finished study folder (`mtmap run FILE --out DIR`).

  tools/study_results.py DIR

Per run (study.json's runs, their analysis folders): the tuning medians, the map's smoothness and
pinwheels (metrics.json), and how concentrated the preferred directions are (units.csv): the
fraction of selective units in the most common 45° bin and that bin's centre. Per condition: the
mean and the 95 % interval over seeds (Student's t, as the study report computes it). Plain text,
Markdown tables, so what the doc quotes is what this prints.
"""
import csv
import json
import math
import os
import sys

T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}


def interval(values):
    v = [x for x in values if x is not None and math.isfinite(x)]
    if not v:
        return float("nan"), float("nan")
    m = sum(v) / len(v)
    if len(v) < 2:
        return m, float("nan")
    sd = math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1))
    return m, T975.get(len(v) - 1, 1.96) * sd / math.sqrt(len(v))


def modal_bin(units_csv):
    """Fraction of selective units in the most common 45° bin (centred on 0°, 45°, …) and its centre."""
    counts = [0] * 8
    n = 0
    with open(units_csv) as f:
        for r in csv.DictReader(f):
            if r["selective"] != "1":
                continue
            counts[int(((float(r["preferred_direction_deg"]) + 22.5) % 360) // 45)] += 1
            n += 1
    if n == 0:
        return float("nan"), None
    k = max(range(8), key=lambda i: counts[i])
    return counts[k] / n, 45 * k


def run_rows(study_dir):
    study = json.load(open(os.path.join(study_dir, "study.json")))
    rows = []
    for run in study["runs"]:
        folder = os.path.join(study_dir, "runs", run["label"], "analysis")
        m = json.load(open(os.path.join(folder, "metrics.json")))
        t, mp = m["tuning"], m["map"]
        frac, centre = modal_bin(os.path.join(folder, "units.csv"))
        sm = mp["smoothness"]
        rows.append({
            "label": run["label"], "alpha": run.get("alpha", 0.0), "seed": run["seed"],
            "selective": t["fraction_selective"],
            "dsi": t["selective_medians"]["dsi"], "di": t["selective_medians"].get("di"),
            "cv_dir": t["selective_medians"]["cv_dir"], "fwhm": t["selective_medians"]["fwhm_deg"],
            "modal": frac, "modal_deg": centre,
            "delta": mp["delta_histogram"]["mean_delta_deg"], "delta_shuffled": mp["delta_histogram"]["mean_delta_shuffled_deg"],
            "smooth_ratio_near": sm["ratio"][0] if sm.get("ratio") else float("nan"),
            "pinwheels": mp["pinwheels"]["n_total"], "pw_mm2": mp["pinwheels"]["density_per_mm2"],
            "pw_lambda2": mp["pinwheels"]["density_per_lambda2"], "lambda_mm": mp["column_spacing"]["lambda_mm"],
            # A spectrum peaking at the lowest frequency searched has no column period in the sheet.
            "lambda_at_limit": mp["column_spacing"]["k_peak_cyc_per_mm"]
            <= 1.05 * mp["column_spacing"]["k_min_searched_cyc_per_mm"],
        })
    return rows


COLUMNS = [("selective", "selective", "{:.2f}"), ("dsi", "median DSI", "{:.2f}"), ("cv_dir", "median CV", "{:.2f}"),
           ("fwhm", "median FWHM °", "{:.0f}"), ("modal", "in modal 45° bin", "{:.2f}"),
           ("delta", "Δ to 4 nearest °", "{:.1f}"), ("delta_shuffled", "Δ shuffled °", "{:.1f}"),
           ("pinwheels", "pinwheels", "{:.0f}"), ("pw_mm2", "per mm²", "{:.2f}"), ("pw_lambda2", "per Λ²", "{:.1f}"),
           ("lambda_mm", "Λ mm", "{:.2f}")]


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    rows = run_rows(sys.argv[1])
    print("| run | " + " | ".join(c[1] for c in COLUMNS) + " | modal bin | Λ at the search limit |")
    print("|---" * (len(COLUMNS) + 3) + "|")
    for r in rows:
        print(f"| {r['label']} | " + " | ".join(fmt.format(r[k]) for k, _, fmt in COLUMNS) +
              f" | {r['modal_deg']}° | {'yes' if r['lambda_at_limit'] else 'no'} |")
    print()
    print("| α | n | " + " | ".join(c[1] for c in COLUMNS) + " |")
    print("|---" * (len(COLUMNS) + 2) + "|")
    for alpha in sorted({r["alpha"] for r in rows}):
        rs = [r for r in rows if r["alpha"] == alpha]
        cells = []
        for k, _, fmt in COLUMNS:
            m, h = interval([r[k] for r in rs])
            cells.append(fmt.format(m) + ("" if math.isnan(h) else " ± " + fmt.format(h)))
        print(f"| {alpha:g} | {len(rs)} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
