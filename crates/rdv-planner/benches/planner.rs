//! `make bench-planner`: the JAIR instances against their proven optima, the large synthetic
//! fair against an LP bound, the two baselines, and re-planning. Each measured run is a child
//! process of this one so that its peak memory is its own. Writes `target/bench/planner.json`
//! and prints a markdown table.
//!
//! Arguments: `[--only jair|synthetic|baselines|replan] [--filter NAME] [--time-limit S]`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use rdv_planner::synth::{fair, replan_scenario, FairShape};
use rdv_planner::{parse_dzn, solve, validate, Rules, SolveOptions};
use serde_json::{json, Value};

const SYNTH_SEED: u64 = 2026;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let get = |k: &str| {
        args.iter()
            .position(|a| a == k)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    if let Some(phase) = get("--phase") {
        let v = run_phase(&phase, &args);
        println!("{v}");
        return;
    }
    let only = get("--only");
    let filter = get("--filter");
    let jair_limit: f64 = get("--time-limit")
        .and_then(|s| s.parse().ok())
        .unwrap_or(30.0);
    let want = |k: &str| only.as_deref().is_none_or(|o| o == k);
    // Phases not run this time keep their previous figures.
    let previous = std::fs::read_to_string(target_dir().join("bench/planner.json")).ok();
    let mut out: Value = if only.is_some() || filter.is_some() {
        previous
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_else(|| json!({}))
    } else {
        json!({})
    };
    if want("jair") {
        let dir = jair_dir();
        let optima = read_optima(&dir);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.retain(|f| f.extension().is_some_and(|e| e == "dzn"));
        files.sort();
        let mut rows = Vec::new();
        for f in files {
            let name = instance_name(&f);
            if filter.as_deref().is_some_and(|x| !name.contains(x)) {
                continue;
            }
            let mut v = child(&[
                "--phase",
                "jair",
                "--file",
                &f.to_string_lossy(),
                "--time-limit",
                &jair_limit.to_string(),
            ]);
            v["optimum"] = optima
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, o)| json!(o))
                .unwrap_or(Value::Null);
            eprintln!("{v}");
            rows.push(v);
        }
        out["jair"] = Value::Array(rows);
    }
    if want("synthetic") || want("replan") {
        out["synthetic"] = child(&["--phase", "synthetic"]);
        eprintln!("{}", out["synthetic"]);
    }
    if want("baselines") {
        let g = child(&["--phase", "greedy"]);
        eprintln!("{g}");
        let m = child(&["--phase", "mip"]);
        eprintln!("{m}");
        out["baselines"] = json!([g, m]);
    }
    if want("replan") {
        out["replan"] = child(&["--phase", "replan"]);
        eprintln!("{}", out["replan"]);
    }
    let path = target_dir().join("bench");
    let _ = std::fs::create_dir_all(&path);
    let file = path.join("planner.json");
    let text = serde_json::to_string_pretty(&out).unwrap_or_default();
    if let Err(e) = std::fs::write(&file, &text) {
        eprintln!("cannot write {}: {e}", file.display());
    }
    print!("{}", markdown(&out));
    eprintln!("wrote {}", file.display());
}

fn run_phase(phase: &str, args: &[String]) -> Value {
    let get = |k: &str| {
        args.iter()
            .position(|a| a == k)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    match phase {
        "jair" => {
            let file = get("--file").unwrap_or_default();
            let limit: f64 = get("--time-limit")
                .and_then(|s| s.parse().ok())
                .unwrap_or(30.0);
            jair(Path::new(&file), limit)
        }
        "synthetic" => synthetic(),
        "greedy" => greedy(),
        "mip" => plain_mip(),
        "replan" => replan(),
        other => json!({"error": format!("unknown phase {other}")}),
    }
}

fn jair(file: &Path, limit: f64) -> Value {
    let name = instance_name(file);
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let inst = match parse_dzn(&text) {
        Ok(i) => i,
        Err(e) => return json!({"instance": name, "valid": false, "error": e.to_string()}),
    };
    let rules = Rules {
        must_schedule_all: true,
        fairness: Some(2),
        breaks_per_day: false,
    };
    let opts = SolveOptions {
        rules,
        seed: 1,
        time_limit: Duration::from_secs_f64(limit),
        iteration_limit: None,
        use_mip: true,
    };
    let t = Instant::now();
    match solve(&inst, &opts, &mut |_| {}) {
        Ok(sol) => {
            let val = validate(&inst, &sol.plan, &rules);
            json!({
                "instance": name,
                "valid": val.is_valid(),
                "breaks": val.objectives.breaks,
                "bound": sol.bound,
                "seconds": round(t.elapsed().as_secs_f64()),
            })
        }
        Err(e) => json!({"instance": name, "valid": false, "breaks": null, "bound": null,
            "error": e.to_string(), "seconds": round(t.elapsed().as_secs_f64())}),
    }
}

fn synth_rules() -> Rules {
    Rules {
        must_schedule_all: false,
        fairness: None,
        breaks_per_day: true,
    }
}

/// The weight LP bound, computed once per run (it is not part of the solver's time).
fn lp_bound(inst: &rdv_planner::Instance) -> Option<f64> {
    rdv_planner::weight_upper_bound(inst, &synth_rules(), 120.0)
}

fn synthetic() -> Value {
    let inst = fair(&FairShape::large(), SYNTH_SEED);
    let opts = SolveOptions {
        rules: synth_rules(),
        seed: 1,
        time_limit: Duration::from_secs(55),
        iteration_limit: None,
        use_mip: false,
    };
    let t = Instant::now();
    let res = solve(&inst, &opts, &mut |p| {
        eprintln!("  synthetic {:.0}s cost {}", p.elapsed_s, p.cost)
    });
    let secs = t.elapsed().as_secs_f64();
    let rss = peak_rss_mib();
    let bound = lp_bound(&inst);
    match res {
        Ok(sol) => {
            let val = validate(&inst, &sol.plan, &synth_rules());
            let w = val.objectives.scheduled_weight;
            json!({
                "method": "rdv-planner",
                "valid": val.is_valid(),
                "scheduled_weight": w,
                "scheduled": val.objectives.scheduled,
                "breaks": val.objectives.breaks,
                "lp_bound": bound,
                "ratio": bound.map(|b| round(w as f64 / b)),
                "seconds": round(secs),
                "peak_rss_mib": rss,
            })
        }
        Err(e) => json!({"method": "rdv-planner", "error": e.to_string(), "seconds": round(secs)}),
    }
}

fn greedy() -> Value {
    let inst = fair(&FairShape::large(), SYNTH_SEED);
    let t = Instant::now();
    let plan = rdv_planner::greedy_first_free(&inst);
    let secs = t.elapsed().as_secs_f64();
    let rss = peak_rss_mib();
    let val = validate(&inst, &plan, &synth_rules());
    let bound = lp_bound(&inst);
    let w = val.objectives.scheduled_weight;
    json!({
        "method": "greedy first-free-slot",
        "valid": val.is_valid(),
        "scheduled_weight": w,
        "breaks": val.objectives.breaks,
        "lp_bound": bound,
        "ratio": bound.map(|b| round(w as f64 / b)),
        "seconds": round(secs),
        "peak_rss_mib": rss,
    })
}

fn plain_mip() -> Value {
    let inst = fair(&FairShape::large(), SYNTH_SEED);
    let t = Instant::now();
    let plan = rdv_planner::plain_time_indexed_mip(&inst, 60.0);
    let secs = t.elapsed().as_secs_f64();
    let rss = peak_rss_mib();
    let bound = lp_bound(&inst);
    match plan {
        Some(plan) => {
            let val = validate(&inst, &plan, &synth_rules());
            let w = val.objectives.scheduled_weight;
            json!({
                "method": "time-indexed MIP (HiGHS)",
                "valid": val.is_valid(),
                "scheduled_weight": w,
                "breaks": val.objectives.breaks,
                "lp_bound": bound,
                "ratio": bound.map(|b| round(w as f64 / b)),
                "seconds": round(secs),
                "peak_rss_mib": rss,
            })
        }
        None => json!({
            "method": "time-indexed MIP (HiGHS)",
            "valid": null,
            "scheduled_weight": null,
            "result": "no solution",
            "lp_bound": bound,
            "ratio": null,
            "seconds": round(secs),
            "peak_rss_mib": rss,
        }),
    }
}

fn replan() -> Value {
    let inst = fair(&FairShape::large(), SYNTH_SEED);
    let opts = SolveOptions {
        rules: synth_rules(),
        seed: 1,
        time_limit: Duration::from_secs(55),
        iteration_limit: None,
        use_mip: false,
    };
    let Ok(first) = solve(&inst, &opts, &mut |_| {}) else {
        return json!({"error": "first plan failed"});
    };
    let (next, touched) = replan_scenario(&inst, &first.plan, 0.05, 500, 7);
    let ropts = SolveOptions {
        time_limit: Duration::from_secs(9),
        ..opts
    };
    let t = Instant::now();
    let res = solve(&next, &ropts, &mut |_| {});
    let secs = t.elapsed().as_secs_f64();
    match res {
        Ok(sol) => {
            let val = validate(&next, &sol.plan, &synth_rules());
            let mut untouched = 0usize;
            let mut moved = 0usize;
            for pm in &next.previous {
                let q = &next.requests[pm.request];
                if !touched[q.a] && !touched[q.b] {
                    untouched += 1;
                    if sol.plan.slot[pm.request] != Some(pm.slot) {
                        moved += 1;
                    }
                }
            }
            json!({
                "valid": val.is_valid(),
                "seconds": round(secs),
                "previous_meetings": next.previous.len(),
                "moved": val.objectives.moved,
                "untouched_meetings": untouched,
                "moved_untouched": moved,
                "moved_untouched_fraction": round(moved as f64 / untouched.max(1) as f64),
                "scheduled_weight_before": first.objectives.scheduled_weight,
                "scheduled_weight_after": val.objectives.scheduled_weight,
            })
        }
        Err(e) => json!({"error": e.to_string(), "seconds": round(secs)}),
    }
}

fn child(args: &[&str]) -> Value {
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("planner"));
    match Command::new(exe).args(args).output() {
        Ok(o) => {
            let text = String::from_utf8_lossy(&o.stdout);
            let last = text.lines().last().unwrap_or("");
            serde_json::from_str(last).unwrap_or_else(|_| {
                json!({"error": format!("child failed: {}", String::from_utf8_lossy(&o.stderr))})
            })
        }
        Err(e) => json!({"error": e.to_string()}),
    }
}

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(round(kb / 1024.0))
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn instance_name(f: &Path) -> String {
    let n = f
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    n.trim_end_matches(".dzn")
        .trim_end_matches(".original")
        .to_string()
}

fn jair_dir() -> PathBuf {
    std::env::var_os("RDV_JAIR_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/b2b-jair"))
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"))
}

fn read_optima(dir: &Path) -> Vec<(String, i64)> {
    let text = std::fs::read_to_string(dir.join("optima.csv")).unwrap_or_default();
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Some((f.first()?.to_string(), f.last()?.trim().parse().ok()?))
        })
        .collect()
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => "—".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn markdown(out: &Value) -> String {
    let mut s = String::new();
    if let Some(rows) = out["jair"].as_array() {
        s += "| instance | valid | breaks | optimum | bound | seconds |\n|---|---|---|---|---|---|\n";
        for r in rows {
            s += &format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                cell(&r["instance"]),
                cell(&r["valid"]),
                cell(&r["breaks"]),
                cell(&r["optimum"]),
                cell(&r["bound"]),
                cell(&r["seconds"])
            );
        }
        let at = rows
            .iter()
            .filter(|r| r["valid"] == json!(true) && r["breaks"] == r["optimum"])
            .count();
        let valid = rows.iter().filter(|r| r["valid"] == json!(true)).count();
        s += &format!(
            "\n{valid} of {} valid, {at} at the proven optimum\n\n",
            rows.len()
        );
    }
    let mut synth_rows = Vec::new();
    if !out["synthetic"].is_null() {
        synth_rows.push(out["synthetic"].clone());
    }
    if let Some(b) = out["baselines"].as_array() {
        synth_rows.extend(b.iter().cloned());
    }
    if !synth_rows.is_empty() {
        s += "| method | valid | scheduled_weight | lp_bound | ratio | seconds | peak_rss_mib |\n|---|---|---|---|---|---|---|\n";
        for r in &synth_rows {
            let w = if r["scheduled_weight"].is_null() {
                r["result"].clone()
            } else {
                r["scheduled_weight"].clone()
            };
            s += &format!(
                "| {} | {} | {} | {} | {} | {} | {} |\n",
                cell(&r["method"]),
                cell(&r["valid"]),
                cell(&w),
                cell(&r["lp_bound"]),
                cell(&r["ratio"]),
                cell(&r["seconds"]),
                cell(&r["peak_rss_mib"])
            );
        }
        s += "\n";
    }
    if !out["replan"].is_null() {
        let r = &out["replan"];
        s += &format!(
            "Re-plan (5% cancelled, 500 new requests): {} s, {} of {} untouched meetings moved ({}), valid {}\n",
            cell(&r["seconds"]),
            cell(&r["moved_untouched"]),
            cell(&r["untouched_meetings"]),
            cell(&r["moved_untouched_fraction"]),
            cell(&r["valid"])
        );
    }
    s
}
