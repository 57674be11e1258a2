#!/usr/bin/env python3
"""The numbers of docs/results.md from a finished study folder (`mtmap run FILE --out DIR`).

  tools/study_results.py DIR

Per run (study.json's runs, their analysis folders): the tuning medians, the map's smoothness and
pinwheels (metrics.json), and how concentrated the preferred directions are (units.csv): the
fraction of selective units in the most common 45° bin, that bin's centre, and the fraction within
45° of vertical motion. Per condition: the mean and the 95 % interval over seeds (Student's t, as
the study report computes it); then each α's difference from α = 0, paired by seed. Plain text,
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


def direction_bins(units_csv):
    """Of the selective units: the fraction in the most common 45° bin (centred on 0°, 45°, …), that
    bin's centre, and the fraction whose preferred direction lies within 45° of vertical motion
    (90° or 270°; 0° is rightward, ANALYSIS.md §1). Chance for the last is 0.5."""
    counts = [0] * 8
    n = vertical = 0
    with open(units_csv) as f:
        for r in csv.DictReader(f):
            if r["selective"] != "1":
                continue
            deg = float(r["preferred_direction_deg"]) % 360
            counts[int(((deg + 22.5) % 360) // 45)] += 1
            vertical += 45 <= deg < 135 or 225 <= deg < 315
            n += 1
    if n == 0:
        return float("nan"), None, float("nan")
    k = max(range(8), key=lambda i: counts[i])
    return counts[k] / n, 45 * k, vertical / n


def run_rows(study_dir):
    study = json.load(open(os.path.join(study_dir, "study.json")))
    rows = []
    for run in study["runs"]:
        folder = os.path.join(study_dir, "runs", run["label"], "analysis")
        m = json.load(open(os.path.join(folder, "metrics.json")))
        t, mp = m["tuning"], m["map"]
        frac, centre, vertical = direction_bins(os.path.join(folder, "units.csv"))
        sm = mp["smoothness"]
        rows.append({
            "label": run["label"], "alpha": run.get("alpha", 0.0), "seed": run["seed"],
            "selective": t["fraction_selective"],
            "dsi": t["selective_medians"]["dsi"], "di": t["selective_medians"]["di"],
            "cv_dir": t["selective_medians"]["cv_dir"], "cv_ax": t["selective_medians"]["cv_ax"],
            "fwhm": t["selective_medians"]["fwhm_deg"], "cv_bw": t["selective_medians"]["cv_bandwidth_deg"],
            "ptc_fwhm": t["ptc_fwhm_deg"], "ptc_a180": t["ptc_a180"],
            "modal": frac, "modal_deg": centre, "vertical": vertical,
            "delta": mp["delta_histogram"]["mean_delta_deg"], "delta_shuffled": mp["delta_histogram"]["mean_delta_shuffled_deg"],
            "delta_gap": mp["delta_histogram"]["mean_delta_shuffled_deg"] - mp["delta_histogram"]["mean_delta_deg"],
            "smooth_ratio_near": sm["ratio"][0] if sm.get("ratio") else float("nan"),
            "pinwheels": mp["pinwheels"]["n_total"], "pw_pos": mp["pinwheels"]["n_positive"],
            "pw_neg": mp["pinwheels"]["n_negative"], "pw_mm2": mp["pinwheels"]["density_per_mm2"],
            "pw_lambda2": mp["pinwheels"]["density_per_lambda2"], "lambda_mm": mp["column_spacing"]["lambda_mm"],
            # A spectrum peaking at the lowest frequency searched has no column period in the sheet.
            "density_vs_width": {d["width_mm"]: d["density_per_mm2"] for d in mp["density_vs_width"]},
            "smoothness_ratio": mp["smoothness"]["ratio"], "smoothness_mm": mp["smoothness"]["distance_mm"],
            "lambda_at_limit": mp["column_spacing"]["k_peak_cyc_per_mm"]
            <= 1.05 * mp["column_spacing"]["k_min_searched_cyc_per_mm"],
        })
    return rows


TUNING = [("selective", "selective", "{:.2f}"), ("di", "DI", "{:.2f}"), ("dsi", "DSI", "{:.2f}"),
          ("cv_dir", "CV dir", "{:.2f}"), ("cv_ax", "CV ax", "{:.2f}"), ("fwhm", "FWHM °", "{:.0f}"),
          ("cv_bw", "CV bandwidth °", "{:.0f}"), ("ptc_fwhm", "PTC FWHM °", "{:.0f}"), ("ptc_a180", "PTC A180", "{:.2f}"),
          ("modal", "in modal 45° bin", "{:.2f}"), ("vertical", "within 45° of vertical", "{:.2f}")]
MAP = [("delta", "Δ to 4 nearest °", "{:.1f}"), ("delta_shuffled", "Δ shuffled °", "{:.1f}"),
       ("delta_gap", "shuffled − nearest °", "{:.1f}"), ("pinwheels", "pinwheels", "{:.0f}"),
       ("pw_pos", "+1", "{:.0f}"), ("pw_neg", "−1", "{:.0f}"), ("pw_mm2", "per mm²", "{:.2f}"),
       ("pw_lambda2", "per Λ²", "{:.1f}"), ("lambda_mm", "Λ mm", "{:.2f}")]


def table(rows, columns, title):
    """Per run, per α (mean ± 95 % half-width over seeds), and each α minus α = 0 paired by seed."""
    note = " (medians over each run's selective units)" if columns is TUNING else ""
    print(f"### {title}: per run{note}")
    print()
    extra = " modal bin |" if columns is TUNING else " Λ at the search limit |"
    print("| run | " + " | ".join(c[1] for c in columns) + " |" + extra)
    print("|---" * (len(columns) + 2) + "|")
    for r in rows:
        cell = f" {r['modal_deg']}° |" if columns is TUNING else f" {'yes' if r['lambda_at_limit'] else 'no'} |"
        print(f"| {r['label']} | " + " | ".join(fmt.format(r[k]) for k, _, fmt in columns) + " |" + cell)
    print()
    print(f"### {title}: per α, mean ± 95 % half-width over seeds")
    print()
    print("| α | n | " + " | ".join(c[1] for c in columns) + " |")
    print("|---" * (len(columns) + 2) + "|")
    for alpha in sorted({r["alpha"] for r in rows}):
        rs = [r for r in rows if r["alpha"] == alpha]
        cells = []
        for k, _, fmt in columns:
            m, h = interval([r[k] for r in rs])
            cells.append(fmt.format(m) + ("" if math.isnan(h) else " ± " + fmt.format(h)))
        print(f"| {alpha:g} | {len(rs)} | " + " | ".join(cells) + " |")
    print()
    # Paired by seed: each α's run minus the same seed's α = 0 run (they share the pre-training
    # and the swap, so the seed's own variation cancels).
    base = {r["seed"]: r for r in rows if r["alpha"] == 0}
    others = sorted({r["alpha"] for r in rows if r["alpha"] != 0})
    if not base or not others:
        return
    print(f"### {title}: each α minus α = 0, paired by seed, mean ± 95 % half-width")
    print()
    print("| α | n | " + " | ".join(c[1] for c in columns) + " |")
    print("|---" * (len(columns) + 2) + "|")
    for alpha in others:
        rs = [r for r in rows if r["alpha"] == alpha and r["seed"] in base]
        cells = []
        for k, _, fmt in columns:
            m, h = interval([r[k] - base[r["seed"]][k] for r in rs])
            cells.append(("+" if m > 0 else "") + fmt.format(m) + ("" if math.isnan(h) else " ± " + fmt.format(h)))
        print(f"| {alpha:g} | {len(rs)} | " + " | ".join(cells) + " |")
    print()


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    rows = run_rows(sys.argv[1])
    table(rows, TUNING, "Tuning")
    table(rows, MAP, "Map")
    widths = sorted(rows[0]["density_vs_width"])
    series(rows, "Pinwheels per mm² against the map's smoothing width (mm), mean ± 95 % half-width over seeds",
           widths, lambda r, w: r["density_vs_width"].get(w), with_interval=True)
    dists = rows[0]["smoothness_mm"]
    series(rows, "Mean |Δθ| of unit pairs over that of shuffled positions, against their distance (mm), mean over seeds",
           range(len(dists)), lambda r, i: r["smoothness_ratio"][i], with_interval=False, headers=dists)


def series(rows, title, keys, value, with_interval, headers=None):
    """One row per α, one column per key: value(run, key) averaged over the seeds."""
    print(f"### {title}")
    print()
    print("| α | " + " | ".join(f"{h:g}" for h in (headers or keys)) + " |")
    print("|---" * (len(keys) + 1) + "|")
    for alpha in sorted({r["alpha"] for r in rows}):
        rs = [r for r in rows if r["alpha"] == alpha]
        cells = []
        for k in keys:
            m, h = interval([value(r, k) for r in rs])
            cells.append(f"{m:.2f}" + ("" if not with_interval or math.isnan(h) else f" ± {h:.2f}"))
        print(f"| {alpha:g} | " + " | ".join(cells) + " |")
    print()

if __name__ == "__main__":
    main()
