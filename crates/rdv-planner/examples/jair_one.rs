//! Solves one `.dzn` file (args: file, seconds, seed) and prints the outcome: a quick check during development.
//! Failing to read the file is a start-up error here, so `expect` is the right tool.
#![allow(clippy::expect_used)]
use std::time::Duration;

use rdv_planner::{parse_dzn, solve, validate, Rules, SolveOptions};

fn main() {
    // `RUST_LOG=rdv_planner=debug` shows every SAT round.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().collect();
    let text = std::fs::read_to_string(&args[1]).expect("readable file");
    let secs: f64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(10.0);
    let seed: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(1);
    let inst = parse_dzn(&text).expect("valid dzn");
    let rules = Rules {
        must_schedule_all: true,
        fairness: Some(2),
        breaks_per_day: false,
    };
    let opts = SolveOptions {
        rules,
        seed,
        time_limit: Duration::from_secs_f64(secs),
        iteration_limit: None,
        use_mip: true,
    };
    match solve(&inst, &opts, &mut |p| eprintln!("{p:?}")) {
        Ok(sol) => {
            let v = validate(&inst, &sol.plan, &rules);
            println!(
                "valid {} breaks {} spread {} bound {:?} secs {:.1} iters {}",
                v.is_valid(),
                v.objectives.breaks,
                v.objectives.break_spread,
                sol.bound,
                sol.seconds,
                sol.iterations
            );
            if std::env::var("SHOW").is_ok() {
                for (p, &b) in v.objectives.breaks_per_participant.iter().enumerate() {
                    if b == 0 {
                        continue;
                    }
                    let row: String = (0..inst.slots.len())
                        .map(|t| {
                            let busy = inst.requests.iter().enumerate().any(|(r, q)| {
                                (q.a == p || q.b == p) && sol.plan.slot[r] == Some(t)
                            });
                            if busy {
                                '#'
                            } else if inst.participants[p].forbidden.contains(&t) {
                                'x'
                            } else {
                                '.'
                            }
                        })
                        .collect();
                    let sess: Vec<String> = inst
                        .requests
                        .iter()
                        .filter(|q| q.a == p || q.b == p)
                        .map(|q| format!("{:?}", q.sessions))
                        .collect();
                    println!("p{p:3} b{b} {row} {}", sess.join(","));
                }
            }
            if !v.is_valid() {
                println!("{:?}", &v.violations[..v.violations.len().min(5)]);
            }
        }
        Err(e) => println!("error {e}"),
    }
}
