//! `rdv plan`: reads an instance (native JSON or the benchmark's `.dzn`), solves it with
//! rdv-planner, prints progress to stderr and writes the plan.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use rdv_planner::{parse_dzn, solve, validate, Instance, Rules, SolveOptions};

/// Plan the meetings of an event.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// Instance file: `.dzn` (JAIR benchmark) or native `.json`.
    pub instance: PathBuf,
    /// Stop after this many seconds.
    #[arg(long, default_value_t = 30.0)]
    pub time_limit: f64,
    /// Random seed; with --iterations the plan is reproducible.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Local-search iteration limit.
    #[arg(long)]
    pub iterations: Option<u64>,
    /// Fairness cap on the difference of breaks (default 2 for `.dzn`, none for JSON).
    #[arg(long)]
    pub fairness: Option<u32>,
    /// Write the plan here (JSON); stdout when absent.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run(args: &PlanArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.instance)
        .with_context(|| format!("cannot read {}", args.instance.display()))?;
    let dzn = args.instance.extension().is_some_and(|e| e == "dzn");
    let inst: Instance = if dzn {
        parse_dzn(&text)
    } else {
        Instance::from_json(&text)
    }
    .with_context(|| format!("invalid instance {}", args.instance.display()))?;
    let rules = Rules {
        must_schedule_all: dzn,
        fairness: args.fairness.or(if dzn { Some(2) } else { None }),
        breaks_per_day: !dzn,
    };
    let opts = SolveOptions {
        rules,
        seed: args.seed,
        time_limit: Duration::from_secs_f64(args.time_limit),
        iteration_limit: args.iterations,
        use_mip: true,
    };
    let sol = solve(&inst, &opts, &mut |p| {
        eprintln!(
            "[{:>6.1}s] {:<7} best {} bound {}",
            p.elapsed_s,
            p.phase,
            p.cost,
            p.bound.map_or("-".to_string(), |b| b.to_string())
        )
    })?;
    let check = validate(&inst, &sol.plan, &rules);
    if !check.is_valid() {
        bail!(
            "internal error: the plan fails validation: {}",
            check.violations.join("; ")
        );
    }
    let body = if dzn {
        let assignments: Vec<serde_json::Value> = sol
            .plan
            .slot
            .iter()
            .enumerate()
            .filter_map(|(m, s)| s.map(|s| serde_json::json!({"meeting": m + 1, "slot": s + 1})))
            .collect();
        serde_json::json!({
            "assignments": assignments,
            "breaks": sol.objectives.breaks,
            "bound": sol.bound,
        })
    } else {
        serde_json::to_value(&sol)?
    };
    let out = serde_json::to_string_pretty(&body)?;
    match &args.out {
        Some(path) => {
            std::fs::write(path, out).with_context(|| format!("cannot write {}", path.display()))?
        }
        None => println!("{out}"),
    }
    eprintln!(
        "valid plan: {} of {} requests, weight {}, breaks {}, bound {}, gap {}, {:.1}s, seed {}",
        sol.objectives.scheduled,
        inst.requests.len(),
        sol.objectives.scheduled_weight,
        sol.objectives.breaks,
        sol.bound.map_or("-".to_string(), |b| b.to_string()),
        sol.gap.map_or("-".to_string(), |g| format!("{g:.4}")),
        sol.seconds,
        sol.seed
    );
    Ok(())
}
